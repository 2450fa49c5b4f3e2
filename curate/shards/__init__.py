"""Shard building, verification and the manifest (Parquet + WebDataset)."""

from .build import BuildResult, build_shards
from .verify import VerifyReport, load_manifest, verify_shards

__all__ = ["build_shards", "BuildResult", "verify_shards", "VerifyReport", "load_manifest"]
