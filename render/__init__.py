"""render: Blender speckle-stereo rendering and SGM sensor depth."""
