"""The bottom layer: progress and logging, config-file loading, the Ray runner and the primitives
that several stages share. It imports no stage."""
