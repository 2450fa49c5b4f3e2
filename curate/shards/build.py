"""``build-shards``: raw sample folders -> Parquet + WebDataset shards and a manifest.

The plan (which key goes to which shard) depends only on the sorted set of keys, so
shard assignment is deterministic. Each shard is written by one Ray Data task, through a
temporary file and a rename; a sidecar ``.parts/shard-NNNNN.json`` with its checksums
and counts is renamed into place after them. A re-run after a crash skips the shards whose
sidecar exists and whose files still have the recorded size and sha256, rebuilds the ones
that differ (truncated, altered, deleted) and writes the rest, so no sample is lost or duplicated.
``manifest.json`` appears last and marks a complete build.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from depthcur.core.exits import UsageError
from depthcur.core.outputs import check_out_folder
from depthcur.core.progress import get_logger, progress_task
from depthcur.core.validate import check_fields
from depthcur.schemas import SCHEMA_VERSION, SchemaError, scan_samples, write_json_atomic
from depthcur.schemas.codecs import EncodedSample, decode_sample
from depthcur.schemas.folder import META_NAME, read_encoded, read_meta
from depthcur.schemas.validate import validate_sample

from .formats import FORMATS, WRITERS, shard_name
from .manifest import (MANIFEST_NAME, ManifestCounts, ShardEntry, ShardFile, ShardManifest, sha256_of,
                       write_manifest)

log = get_logger(__name__)
PARTS_DIR = ".parts"
PLAN_NAME = ".plan.json"
QUARANTINE_NAME = "quarantine.jsonl"


@dataclass
class BuildShardsConfig:
    """The options of ``depthcur build-shards``."""

    #: raw sample folder(s)
    inputs: list[Path]
    #: output shard folder
    out: Path
    #: shard formats to write (comma-separated on the command line)
    formats: tuple[str, ...] = field(default=FORMATS, metadata={"choices": FORMATS})
    samples_per_shard: int = field(default=256, metadata={"min": 1})
    #: join a Ray cluster (HOST:PORT or 'auto'); local by default
    ray_address: str | None = None
    #: exit 0 even when samples were quarantined
    allow_bad: bool = False

    def __post_init__(self):
        self.inputs, self.out = [Path(p) for p in self.inputs], Path(self.out)
        check_fields(self)


@dataclass
class BuildResult:
    out: Path
    manifest: ShardManifest
    quarantined: list[dict[str, Any]] = field(default_factory=list)
    shards_written: int = 0
    shards_skipped: int = 0
    #: shards whose sidecar said done but whose files were missing or damaged; rebuilt
    shards_repaired: int = 0


def plan_shards(inputs: Sequence[Path], samples_per_shard: int) -> tuple[list[list[str]], list[dict]]:
    """Sorted, de-duplicated sample folders chunked into shards, and the folders refused up front."""
    by_key: dict[str, str] = {}
    refused: list[dict] = []
    for root in inputs:
        scan = scan_samples(root)
        for leftover in scan.leftovers:
            log.warning("ignoring leftover of an interrupted write: %s", leftover)
        for path in scan.samples:
            try:
                key = read_meta(path).get("key")
                if not key:
                    raise SchemaError("meta.json has no key", field="key", path=str(path))
            except SchemaError as exc:
                refused.append({"path": str(path), "key": None, "field": exc.field, "reason": str(exc)})
                continue
            if key in by_key:
                refused.append({"path": str(path), "key": key, "field": "key",
                                "reason": f"duplicate key, already provided by {by_key[key]}"})
                continue
            by_key[key] = str(path)
    keys = sorted(by_key)
    chunks = [keys[i:i + samples_per_shard] for i in range(0, len(keys), samples_per_shard)]
    return [[by_key[k] for k in chunk] for chunk in chunks], refused


def load_checked(path: str) -> EncodedSample:
    """Read a sample folder, decode it (decodability) and validate it; raise SchemaError if bad."""
    meta, blobs = read_encoded(path)
    sample = decode_sample(meta, blobs, path=path)
    validate_sample(sample)
    encoded_blobs = {name: (meta["maps"][name], data) for name, data in blobs.items()}
    return EncodedSample(meta=meta, blobs=encoded_blobs)


def _stats_of(samples: list[EncodedSample]) -> dict[str, list[float]]:
    wanted = ("mask_ratio", "depth_raw_valid_ratio", "depth_gt_valid_ratio", "depth_gt_min", "depth_gt_median",
              "depth_gt_max")
    return {name: [float(s.meta["stats"][name]) for s in samples if name in (s.meta.get("stats") or {})]
            for name in wanted}


def write_shard(task: dict[str, Any]) -> dict[str, Any]:
    """Ray Data map function: write one shard in every format; returns its sidecar record."""
    out = Path(task["out"])
    index = int(task["index"])
    sidecar = out / PARTS_DIR / f"shard-{index:05d}.json"
    paths = {fmt: out / shard_name(index, fmt) for fmt in task["formats"]}
    done = _done_record(sidecar, task["plan_hash"])
    damage = _damaged_files(out, index, done, task["formats"]) if done else []
    if done and not damage:
        done["skipped"] = True
        return {"record": json.dumps(done)}
    good: list[EncodedSample] = []
    bad: list[dict] = []
    for path in task["paths"]:
        try:
            good.append(load_checked(path))
        except (SchemaError, OSError, ValueError) as exc:
            bad.append({"path": path, "key": getattr(exc, "key", None), "field": getattr(exc, "field", None),
                        "reason": str(exc)})
    record: dict[str, Any] = {"index": index, "plan_hash": task["plan_hash"], "count": len(good),
                              "keys": [s.key for s in good], "quarantined": bad,
                              "by_source": dict(Counter(s.meta["source"] for s in good)),
                              "by_split": dict(Counter(s.meta.get("split") or "train" for s in good)),
                              "stats": _stats_of(good), "files": {}}
    for fmt, path in paths.items():
        WRITERS[fmt](path, good)
        record["files"][fmt] = {"path": shard_name(index, fmt), "sha256": sha256_of(path),
                                "bytes": path.stat().st_size}
    # The sidecar lands after the shard files; a shard counts as done only when both exist and the
    # files still match the sidecar's sizes and checksums.
    write_json_atomic(sidecar, record)
    record["skipped"] = False
    record["repaired"] = damage
    return {"record": json.dumps(record)}


def _done_record(sidecar: Path, plan_hash: str) -> dict[str, Any] | None:
    """The sidecar of a shard finished under this plan, or None (absent, unreadable or another plan)."""
    try:
        record = json.loads(sidecar.read_text())
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) and record.get("plan_hash") == plan_hash else None


def _damaged_files(out: Path, index: int, record: dict[str, Any], formats: Sequence[str]) -> list[str]:
    """What differs between the shard files on disk and their sidecar record (size first, then sha256)."""
    files = record.get("files") or {}
    problems = []
    for fmt in formats:
        try:
            info = ShardFile(path=shard_name(index, fmt), sha256=files[fmt]["sha256"], bytes=files[fmt]["bytes"])
        except (KeyError, TypeError):
            problems.append(f"{out / shard_name(index, fmt)}: not in its sidecar record")
            continue
        problem = info.problem(out)
        if problem:
            problems.append(problem)
    return problems


def _summary(values: list[float]) -> dict[str, float]:
    if not values:
        return {}
    arr = np.asarray(values)
    return {"mean": float(arr.mean()), "p05": float(np.percentile(arr, 5)), "p50": float(np.median(arr)),
            "p95": float(np.percentile(arr, 95)), "min": float(arr.min()), "max": float(arr.max())}


def make_manifest(records: list[dict], formats: Sequence[str], samples_per_shard: int,
                  inputs: Sequence[Path], quarantined: list[dict]) -> ShardManifest:
    records = sorted(records, key=lambda r: r["index"])
    by_source, by_split = Counter(), Counter()
    stats: dict[str, list[float]] = {}
    for r in records:
        by_source.update(r["by_source"])
        by_split.update(r["by_split"])
        for name, values in r["stats"].items():
            stats.setdefault(name, []).extend(values)
    return ShardManifest(
        schema_version=SCHEMA_VERSION,
        formats=list(formats),
        samples_per_shard=samples_per_shard,
        inputs=[str(p) for p in inputs],
        counts=ManifestCounts(total=sum(r["count"] for r in records), by_source=dict(sorted(by_source.items())),
                              by_split=dict(sorted(by_split.items())), quarantined=len(quarantined)),
        shards=[ShardEntry(index=r["index"], count=r["count"],
                           files={fmt: ShardFile(**info) for fmt, info in r["files"].items()}) for r in records],
        stats={name: _summary(values) for name, values in sorted(stats.items())},
        quarantine=QUARANTINE_NAME if quarantined else None,
    )


def build_shards(inputs: Sequence[str | os.PathLike], out: str | os.PathLike, *,
                 formats: Sequence[str] = FORMATS, samples_per_shard: int = 256,
                 ray_address: str | None = None, num_cpus: int | None = None) -> BuildResult:
    """Pack raw sample folders into shards; resumable; returns the manifest and the quarantine."""
    import ray

    from depthcur.core.ray_runner import init_ray

    inputs = [Path(p) for p in inputs]
    out = check_out_folder(out)
    unknown = [f for f in formats if f not in FORMATS]
    if unknown:
        raise ValueError(f"unknown shard format(s) {unknown}; choose from {', '.join(FORMATS)}")
    if samples_per_shard < 1:
        raise ValueError("samples_per_shard must be at least 1")
    chunks, refused = plan_shards(inputs, samples_per_shard)
    if not chunks and not refused:   # the wrong folder, most likely: an empty manifest would hide that
        raise UsageError(f"no sample folder in {', '.join(map(str, inputs))}: build-shards packs folders holding "
                         f"{META_NAME} and the maps it lists", "--in",
                         "point --in at what render, capture or curate wrote")
    plan = {"formats": list(formats), "samples_per_shard": samples_per_shard, "shards": chunks}
    plan_hash = hashlib.sha256(json.dumps(plan, sort_keys=True).encode()).hexdigest()
    out.mkdir(parents=True, exist_ok=True)
    previous = out / PLAN_NAME
    if previous.exists() and json.loads(previous.read_text()).get("plan_hash") != plan_hash:
        log.warning("inputs changed since the last run into %s; shards are rebuilt", out)
    (out / MANIFEST_NAME).unlink(missing_ok=True)
    write_json_atomic(previous, {"plan_hash": plan_hash, "shards": len(chunks)})

    tasks = [{"out": str(out), "index": i, "paths": paths, "formats": list(formats), "plan_hash": plan_hash}
             for i, paths in enumerate(chunks)]
    records: list[dict] = []
    if tasks:
        init_ray(ray_address, num_cpus=num_cpus)
        ctx = ray.data.DataContext.get_current()
        ctx.enable_progress_bars = False  # ours below; Ray Data's would duplicate it
        dataset = ray.data.from_items(tasks, override_num_blocks=len(tasks)).map(
            # Ray Data retries tasks lost with a node; bad samples never raise (they are quarantined)
            write_shard, num_cpus=1)
        with progress_task("build-shards", len(tasks)) as advance:
            for row in dataset.iter_rows():
                records.append(json.loads(row["record"]))
                advance(1)
    quarantined = refused + [q for r in records for q in r["quarantined"]]
    _write_quarantine(out, quarantined)
    _remove_stale_shards(out, formats, len(chunks))
    manifest = make_manifest(records, formats, samples_per_shard, inputs, quarantined)
    write_manifest(out, manifest)
    repaired = [r for r in records if r.get("repaired")]
    for r in repaired:
        log.warning("shard %d was damaged and is rebuilt: %s", r["index"], "; ".join(r["repaired"]))
    skipped = sum(1 for r in records if r.get("skipped"))
    return BuildResult(out=out, manifest=manifest, quarantined=quarantined,
                       shards_written=len(records) - skipped - len(repaired), shards_skipped=skipped,
                       shards_repaired=len(repaired))


def _write_quarantine(out: Path, quarantined: list[dict]) -> None:
    path = out / QUARANTINE_NAME
    if not quarantined:
        path.unlink(missing_ok=True)
        return
    from depthcur.schemas import write_bytes_atomic

    lines = "".join(json.dumps(q, sort_keys=True) + "\n" for q in sorted(quarantined, key=lambda q: q["path"]))
    write_bytes_atomic(path, lines.encode())


def _remove_stale_shards(out: Path, formats: Sequence[str], count: int) -> None:
    """Drop shard files beyond this plan (left by an earlier, larger build) and temp leftovers."""
    for fmt in FORMATS:
        folder = out / fmt
        if not folder.is_dir():
            continue
        for path in folder.iterdir():
            stem = path.name.split(".")[0]
            index = int(stem.split("-")[1]) if stem.startswith("shard-") and stem[6:].isdigit() else None
            if path.name.startswith(".tmp-") or fmt not in formats or index is None or index >= count:
                path.unlink()
    parts = out / PARTS_DIR
    if parts.is_dir():
        for path in parts.iterdir():
            stem = path.stem
            if not (stem.startswith("shard-") and stem[6:].isdigit() and int(stem[6:]) < count):
                path.unlink()
