"""Data loading for training: shard readers, mixing and per-rank sharding."""
