"""The shard manifest (``manifest.json``): one typed record, one reader and one writer.

``build-shards`` writes it last, so its presence marks a complete build; ``shards verify`` and the
training readers read it. The JSON keys are those of the dataclass fields (docs/shards.md).
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from depthcur.schemas import SchemaError, write_json_atomic

MANIFEST_NAME = "manifest.json"


@dataclass(frozen=True)
class ShardFile:
    """One shard in one format: its path relative to the shard folder, checksum and size."""

    path: str
    sha256: str
    bytes: int

    def problem(self, directory: str | os.PathLike) -> str | None:
        """Why the file under ``directory`` differs from this record (missing, size, sha256), or None.

        The size is compared first, so a truncated file costs a stat, not a hash."""
        path = Path(directory) / self.path
        if not path.is_file():
            return f"{path}: missing"
        size = path.stat().st_size
        if size != self.bytes:
            return f"{path}: size {size} != manifest {self.bytes}"
        if sha256_of(path) != self.sha256:
            return f"{path}: sha256 does not match the manifest"
        return None


@dataclass(frozen=True)
class ShardEntry:
    index: int
    count: int
    files: dict[str, ShardFile]            # format -> file


@dataclass(frozen=True)
class ManifestCounts:
    total: int
    by_source: dict[str, int]
    by_split: dict[str, int]
    quarantined: int


@dataclass(frozen=True)
class ShardManifest:
    schema_version: str
    formats: list[str]
    samples_per_shard: int
    inputs: list[str]
    counts: ManifestCounts
    shards: list[ShardEntry]
    stats: dict[str, dict[str, float]] = field(default_factory=dict)   # stat -> mean, p05, p50, p95, min, max
    quarantine: str | None = None          # the quarantine file's name, when samples were refused

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: Any, *, path: str | None = None) -> ShardManifest:
        """Parse a manifest's JSON; a :class:`SchemaError` names the file and the missing or bad field."""
        top = _require(data, dict, "manifest", path)
        counts = _require(_field(top, "counts", path), dict, "counts", path)
        shards = []
        for i, raw in enumerate(_require(_field(top, "shards", path), list, "shards", path)):
            where = f"shards[{i}]"
            entry = _require(raw, dict, where, path)
            files = _require(_field(entry, "files", path, where), dict, f"{where}.files", path)
            shards.append(ShardEntry(
                index=_require(_field(entry, "index", path, where), int, f"{where}.index", path),
                count=_require(_field(entry, "count", path, where), int, f"{where}.count", path),
                files={fmt: _shard_file(info, path, f"{where}.files.{fmt}") for fmt, info in files.items()}))
        return cls(
            schema_version=_require(_field(top, "schema_version", path), str, "schema_version", path),
            formats=_require(_field(top, "formats", path), list, "formats", path),
            samples_per_shard=_require(_field(top, "samples_per_shard", path), int, "samples_per_shard", path),
            inputs=_require(_field(top, "inputs", path), list, "inputs", path),
            counts=ManifestCounts(**{name: _field(counts, name, path, "counts")
                                     for name in ("total", "by_source", "by_split", "quarantined")}),
            shards=shards,
            stats=_require(top.get("stats", {}), dict, "stats", path),
            quarantine=top.get("quarantine"))


def _field(data: dict, name: str, path: str | None, where: str = "") -> Any:
    if name not in data:
        raise SchemaError("manifest field is missing", field=f"{where}.{name}" if where else name, path=path)
    return data[name]


def _require(value: Any, kind: type, name: str, path: str | None) -> Any:
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise SchemaError(f"manifest field must be a {kind.__name__}, not {type(value).__name__}", field=name,
                          path=path)
    return value


def _shard_file(info: Any, path: str | None, where: str) -> ShardFile:
    info = _require(info, dict, where, path)
    return ShardFile(path=_require(_field(info, "path", path, where), str, f"{where}.path", path),
                     sha256=_require(_field(info, "sha256", path, where), str, f"{where}.sha256", path),
                     bytes=_require(_field(info, "bytes", path, where), int, f"{where}.bytes", path))


def sha256_of(path: str | os.PathLike) -> str:
    """Hex sha256 of a file, read in 1 MiB chunks (shards can be larger than memory)."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def manifest_path(path_or_dir: str | os.PathLike) -> Path:
    """``manifest.json`` of a shard folder, or the manifest file itself."""
    path = Path(path_or_dir)
    return path if path.is_file() else path / MANIFEST_NAME


def has_manifest(directory: str | os.PathLike) -> bool:
    """Whether ``directory`` is a finished shard folder."""
    return (Path(directory) / MANIFEST_NAME).is_file()


def read_manifest(path_or_dir: str | os.PathLike) -> ShardManifest:
    """The manifest of a shard folder (or a manifest file); errors name the file and the field."""
    path = manifest_path(path_or_dir)
    if not path.is_file():
        raise SchemaError(f"no {MANIFEST_NAME}: the build did not finish (re-run build-shards to complete it)",
                          path=str(path))
    try:
        data = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise SchemaError(f"{MANIFEST_NAME} is not valid JSON ({exc})", path=str(path)) from exc
    return ShardManifest.from_json(data, path=str(path))


def write_manifest(directory: str | os.PathLike, manifest: ShardManifest) -> Path:
    """Write ``manifest`` into the shard folder atomically (temporary file and rename); return its path."""
    path = Path(directory) / MANIFEST_NAME
    write_json_atomic(path, manifest.to_json())
    return path
