"""``shards verify``: checksums, sizes, decodability and counts against the manifest."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from depthcur.core.progress import progress_task
from depthcur.schemas import SchemaError
from depthcur.schemas.codecs import decode_sample

from .formats import READERS
from .manifest import read_manifest


@dataclass
class VerifyConfig:
    """The options of ``depthcur shards verify``."""

    #: shard folder holding the manifest
    directory: Path = field(metadata={"argument": True})
    #: decode every sample (--no-decode: checksums and sizes only)
    decode: bool = True


@dataclass
class VerifyReport:
    shards_checked: int = 0
    samples_decoded: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def verify_shards(directory: str | Path, *, decode: bool = True) -> VerifyReport:
    directory = Path(directory)
    manifest = read_manifest(directory)
    report = VerifyReport()
    keys_by_format: dict[str, Counter] = {fmt: Counter() for fmt in manifest.formats}
    total = len(manifest.shards) * len(manifest.formats)
    with progress_task("verify shards", total) as advance:
        for shard in manifest.shards:
            for fmt, info in shard.files.items():
                advance(1)
                report.shards_checked += 1
                path = directory / info.path
                problem = info.problem(directory)
                if problem:
                    report.problems.append(problem)
                    continue
                if not decode:
                    continue
                count = 0
                try:
                    for meta, blobs in READERS[fmt](path):
                        decode_sample(meta, blobs, path=str(path))
                        keys_by_format[fmt][meta["key"]] += 1
                        count += 1
                except SchemaError as exc:
                    report.problems.append(str(exc))
                    continue
                report.samples_decoded += count
                if count != shard.count:
                    report.problems.append(f"{path}: holds {count} samples, manifest says {shard.count}")
    if decode:
        expected = manifest.counts.total
        for fmt, keys in keys_by_format.items():
            dupes = [k for k, n in keys.items() if n > 1]
            if dupes:
                report.problems.append(f"{fmt}: {len(dupes)} duplicated keys, e.g. {dupes[:3]}")
            if sum(keys.values()) != expected:
                report.problems.append(f"{fmt}: {sum(keys.values())} samples, manifest total is {expected}")
        formats = list(keys_by_format)
        for fmt in formats[1:]:
            if set(keys_by_format[fmt]) != set(keys_by_format[formats[0]]):
                report.problems.append(f"{fmt} and {formats[0]} hold different sets of keys")
    return report
