"""Shard building, verification and the manifest (Parquet + WebDataset)."""

from .build import BuildResult, build_shards
from .manifest import MANIFEST_NAME, ShardManifest, has_manifest, read_manifest, write_manifest
from .verify import VerifyReport, verify_shards

__all__ = ["build_shards", "BuildResult", "verify_shards", "VerifyReport", "MANIFEST_NAME", "ShardManifest",
           "read_manifest", "write_manifest", "has_manifest"]
