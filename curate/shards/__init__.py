"""Shard building, verification and the manifest (Parquet + WebDataset)."""
