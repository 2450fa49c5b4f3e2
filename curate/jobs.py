"""The curate verbs as Ray jobs: one task per sample (or per dataset unit), resumable, atomic.

Each ``run_*`` function scans its input, skips the outputs that are already complete, runs the rest
through :func:`depthcur.core.ray_runner.run_tasks` (progress bar; a failing item never stops the others)
and returns a :class:`JobSummary`. Task functions are module-level so Ray can ship them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

from depthcur.core.exits import UsageError
from depthcur.core.progress import get_logger
from depthcur.core.ray_runner import init_ray, run_tasks
from depthcur.schemas import (META_NAME, Sample, SchemaError, read_sample, sample_exists, scan_samples,
                              write_bytes_atomic, write_json_atomic, write_sample)
from depthcur.schemas.keys import flatten_key, key_from_names, key_of_folder

log = get_logger(__name__)
DONE_DIR = ".depthcur-done"


@dataclass
class JobSummary:
    verb: str
    done: int = 0
    skipped: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)
    results: list[Any] = field(default_factory=list)

    def line(self) -> str:
        return f"curate {self.verb}: {self.done} done, {self.skipped} already complete, {len(self.failed)} failed"


def input_samples(in_dir: Path) -> list[Path]:
    """The sample folders under ``in_dir``; none at all is a UsageError (the wrong folder, most likely)."""
    scan = scan_samples(in_dir)
    if scan.leftovers:
        log.warning("ignoring %d unfinished temporary entries under %s", len(scan.leftovers), in_dir)
    if not scan.samples:
        raise UsageError(f"no sample folder in {in_dir}: curate reads folders holding {META_NAME} and the "
                         f"maps it lists, as render, capture and 'curate import' write them", "--in",
                         "point --in at such a folder")
    return scan.samples


def done_marker(out: Path, key: str) -> Path:
    return out / DONE_DIR / f"{flatten_key(key)}.done"


def apply_task(job: tuple[Callable[..., Any], Any, dict]) -> Any:
    """Ray runs plain functions only, so each job carries (task function, item, keyword arguments)."""
    fn, item, kwargs = job
    return fn(item, **kwargs)


def run_job(verb: str, fn: Callable[..., Any], items: Sequence[Any], skipped: int, ray_address: str | None,
            num_cpus: float = 1, **kwargs: Any) -> JobSummary:
    """Run ``fn(item, **kwargs)`` for every item as Ray tasks."""
    summary = JobSummary(verb, skipped=skipped)
    if not items:
        return summary
    init_ray(ray_address)
    jobs = [(fn, item, kwargs) for item in items]
    for (_, item, _), result in run_tasks(apply_task, jobs, description=f"curate {verb}", num_cpus=num_cpus):
        if isinstance(result, Exception):
            summary.failed.append((str(item.get("folder", item) if isinstance(item, dict) else item),
                                   f"{type(result).__name__}: {result}"))
        else:
            summary.done += 1
            summary.results.append(result)
    return summary


def pending_samples(in_dir: Path, is_done: Callable[[str], bool]) -> tuple[list[Path], int]:
    folders = input_samples(in_dir)
    todo = [f for f in folders if not is_done(key_of_folder(in_dir, f))]
    return todo, len(folders) - len(todo)


# ---------------------------------------------------------------- stereo


def stereo_task(folder: Path, out: Path, config) -> dict:
    from .stereo import pseudo_label_sample

    sample = pseudo_label_sample(read_sample(folder), config)
    write_sample(out, sample, overwrite=True)
    return {"key": sample.key, **{k: v for k, v in sample.stats.items()
                                  if k.startswith(("lr_", "pseudo_", "stereo_"))}}


def run_stereo(in_dir: Path, out: Path, config, ray_address: str | None = None) -> JobSummary:
    todo, skipped = pending_samples(in_dir, lambda key: sample_exists(out, key))
    return run_job("stereo", stereo_task, todo, skipped, ray_address, out=out, config=config)


# ---------------------------------------------------------------- lidar


def lidar_task(points_path: Path, images: Path, calib_path: Path, out: Path, dataset: str) -> str:
    import numpy as np

    from depthcur.schemas import DEFAULT_DEPTH_SCALE, DepthEncoding, DepthGtKind, SchemaError, Source, with_stats

    from .io.files import read_rgb_file
    from .lidar import project_points, read_calib, read_points

    calib = read_calib(calib_path)
    image = next((images / f"{points_path.stem}{ext}" for ext in (".png", ".jpg")
                  if (images / f"{points_path.stem}{ext}").is_file()), None)
    if image is None:
        raise SchemaError(f"no image {points_path.stem}.png/.jpg in {images} for this scan", path=str(points_path))
    rgb, fmt = read_rgb_file(image)
    depth, _ = project_points(read_points(points_path), calib.K, calib.T_cam_from_lidar, rgb.shape[:2])
    scale = DEFAULT_DEPTH_SCALE if depth.max(initial=0) < 65 else 1 / 256   # mm up to 65 m, KITTI's 1/256 m beyond
    sample = Sample(key=key_from_names(dataset, points_path.stem), source=Source.LIDAR, dataset=dataset,
                    rgb=rgb, K_rgb=calib.K, depth_gt=depth.astype(np.float32), depth_gt_kind=DepthGtKind.LIDAR,
                    rgb_format=fmt, depth_encoding={"depth_gt": DepthEncoding("png16", scale)},
                    provenance={"lidar_points": str(points_path), "calib": str(calib_path),
                                "T_cam_from_lidar": np.asarray(calib.T_cam_from_lidar).tolist()})
    write_sample(out, with_stats(sample), overwrite=True)
    return sample.key


def run_lidar(points_dir: Path, images: Path, calib: Path, out: Path, dataset: str = "lidar",
              ray_address: str | None = None) -> JobSummary:
    scans = sorted(p for p in points_dir.iterdir() if p.suffix.lower() in (".bin", ".npy", ".pcd", ".ply"))
    todo = [p for p in scans if not sample_exists(out, key_from_names(dataset, p.stem))]
    return run_job("lidar", lidar_task, todo, len(scans) - len(todo), ray_address, images=images,
                   calib_path=calib, out=out, dataset=dataset)


def virtual_lidar_task(folder: Path, out: Path, config) -> str:
    from depthcur.schemas import with_stats

    from .lidar import virtual_lidar

    sample = read_sample(folder)
    if sample.depth_gt is None:
        raise ValueError(f"{folder}: virtual LiDAR needs a dense depth_gt")
    sparse = virtual_lidar(sample.depth_gt, sample.K_rgb, config)
    provenance = {**sample.provenance, "virtual_lidar": {k: (list(v) if isinstance(v, tuple) else v)
                                                         for k, v in vars(config).items()}}
    encoding = {**sample.depth_encoding, "depth_raw": sample.encoding_of("depth_gt")}
    write_sample(out, with_stats(sample.replace(depth_raw=sparse, provenance=provenance, depth_encoding=encoding)),
                 overwrite=True)
    return sample.key


def run_virtual_lidar(in_dir: Path, out: Path, config, ray_address: str | None = None) -> JobSummary:
    todo, skipped = pending_samples(in_dir, lambda key: sample_exists(out, key))
    return run_job("lidar --virtual", virtual_lidar_task, todo, skipped, ray_address, out=out, config=config)


# ---------------------------------------------------------------- import / export


def import_task(item: Path, root: Path, layout: str, out: Path) -> int:
    from .io import LAYOUTS

    samples = LAYOUTS[layout].import_item(root, item)
    for sample in samples:
        write_sample(out, sample, overwrite=True)
    write_bytes_atomic(done_marker(out, f"{layout}/{item.as_posix()}"), b"")
    return len(samples)


def run_import(root: Path, layout: str, out: Path, ray_address: str | None = None) -> JobSummary:
    from .io import LAYOUTS

    if not root.is_dir():
        raise SchemaError("dataset root does not exist or is not a folder", path=str(root))
    items = LAYOUTS[layout].find_items(root)
    if not items:
        raise UsageError(f"found nothing to import in {root}: the {layout} layout looks for "
                         f"{LAYOUTS[layout].LOOKS_FOR}", "--in", "point --in at the dataset root, or pick its --format")
    todo = [i for i in items if not done_marker(out, f"{layout}/{i.as_posix()}").exists()]
    return run_job("import", import_task, todo, len(items) - len(todo), ray_address, root=root, layout=layout,
                   out=out)


def export_task(folder: Path, in_dir: Path, layout: str, out: Path) -> str:
    from .io import LAYOUTS

    sample = read_sample(folder)
    LAYOUTS[layout].export_sample(sample, out)
    write_bytes_atomic(done_marker(out, key_of_folder(in_dir, folder)), b"")  # after every file of the sample
    return sample.key


def run_export(in_dir: Path, layout: str, out: Path, ray_address: str | None = None) -> JobSummary:
    from .io import LAYOUTS

    if not hasattr(LAYOUTS[layout], "export_sample"):   # the public benchmarks' layouts are read-only
        writable = ", ".join(name for name, module in LAYOUTS.items() if hasattr(module, "export_sample"))
        raise UsageError(f"the {layout} layout can be imported, not exported", "--format",
                         f"export to one of {writable}")
    todo, skipped = pending_samples(in_dir, lambda key: done_marker(out, key).exists())
    return run_job("export", export_task, todo, skipped, ray_address, in_dir=in_dir, layout=layout, out=out)


# ---------------------------------------------------------------- vqa / fde


def part_path(out: Path, key: str) -> Path:
    return out / "parts" / f"{flatten_key(key)}.jsonl"


def write_jsonl(path: Path, records: list[dict]) -> None:
    write_bytes_atomic(path, "".join(json.dumps(r, sort_keys=True) + "\n" for r in records).encode())


def collect_parts(out: Path) -> list[dict]:
    records = []
    for part in sorted((out / "parts").glob("*.jsonl")):
        records += [json.loads(line) for line in part.read_text().splitlines() if line]
    return records


def vqa_task(folder: Path, in_dir: Path, out: Path, config) -> int:
    from .exports.vqa import vqa_records

    records = vqa_records(read_sample(folder), out, config)
    write_jsonl(part_path(out, key_of_folder(in_dir, folder)), records)  # the part is the completion marker
    return len(records)


def run_vqa(in_dir: Path, out: Path, config, ray_address: str | None = None) -> JobSummary:
    todo, skipped = pending_samples(in_dir, lambda key: part_path(out, key).exists())
    summary = run_job("vqa", vqa_task, todo, skipped, ray_address, in_dir=in_dir, out=out, config=config)
    write_jsonl(out / "vqa.jsonl", collect_parts(out))
    return summary


def fde_task(folder: Path, in_dir: Path, out: Path, config) -> int:
    import numpy as np

    from depthcur.schemas.codecs import encode_depth_png, encode_png, encode_rgb

    from .exports.fde import fde_targets, split_of

    sample = read_sample(folder)
    split = split_of(sample.key, config)
    scale = sample.encoding_of("depth_gt").scale
    records = []
    targets = fde_targets(sample, config)
    if targets:
        base = out / split / "images" / flatten_key(sample.key)
        write_bytes_atomic(base / "image.png", encode_rgb(sample.rgb))
        write_bytes_atomic(base / "depth.png", encode_depth_png(sample.depth_gt, scale, field="depth_gt"))
    for target in targets:
        name = f"target_{target['instance']}"
        write_bytes_atomic(base / f"{name}_mask.png", encode_png(target["mask"].astype(np.uint8) * 255))
        write_bytes_atomic(base / f"{name}_band.png", encode_png(target["band"].astype(np.uint8) * 255))
        rel = base.relative_to(out).as_posix()
        records.append({"id": f"{sample.key}#{target['instance']}", "source_key": sample.key, "split": split,
                        "image": f"{rel}/image.png", "depth": f"{rel}/depth.png", "depth_scale": scale,
                        "target_mask": f"{rel}/{name}_mask.png", "boundary_band": f"{rel}/{name}_band.png",
                        "box_xyxy": target["box"], "text": target["text"], "area_frac": target["area_frac"],
                        "band_radius_px": config.band_radius_px, "K": sample.K_rgb.as_list()})
    write_jsonl(part_path(out, key_of_folder(in_dir, folder)), records)
    return len(records)


def run_fde(in_dir: Path, out: Path, config, ray_address: str | None = None) -> JobSummary:
    todo, skipped = pending_samples(in_dir, lambda key: part_path(out, key).exists())
    summary = run_job("fde", fde_task, todo, skipped, ray_address, in_dir=in_dir, out=out, config=config)
    records = collect_parts(out)
    for split in ("train", "val", "test"):
        write_jsonl(out / f"{split}.jsonl", [r for r in records if r["split"] == split])
    return summary


# ---------------------------------------------------------------- filter


def verdict_task(folder: Path, config) -> dict:
    from .filters import sample_verdict

    return sample_verdict(read_sample(folder), config).as_dict() | {"folder": str(folder)}


def place_task(entry: dict, out: Path) -> str:
    """Copy a sample's bytes unchanged into accepted/ or quarantine/ (with its reasons)."""
    from depthcur.schemas.codecs import EncodedSample
    from depthcur.schemas.folder import read_encoded, write_encoded

    meta, blobs = read_encoded(entry["folder"])
    target = "quarantine" if entry["reasons"] else "accepted"
    meta["provenance"] = {**meta.get("provenance", {}),
                          "filter": {"reasons": entry["reasons"], "review": entry["review"]}}
    encoded = EncodedSample(meta, {name: (meta["maps"][name], data) for name, data in blobs.items()})
    write_encoded(out / target, encoded, overwrite=True)
    return target


def run_filter(in_dir: Path, out: Path, config, ray_address: str | None = None) -> JobSummary:
    from .filters import Verdict, near_duplicates

    folders = input_samples(in_dir)
    verdicts = run_job("filter (judge)", verdict_task, folders, 0, ray_address, config=config)
    entries = {e["key"]: e for e in verdicts.results}
    by_verdict = [Verdict(e["key"], e["reasons"], e["review"], e["phash"], e["group"]) for e in entries.values()]
    for key, original in near_duplicates(by_verdict, config.duplicate_hamming).items():
        entries[key]["reasons"].append(f"near duplicate of {original}")
    placed = [e for e in entries.values()
              if sample_exists(out / ("quarantine" if e["reasons"] else "accepted"), e["key"])]
    todo = [e for e in entries.values() if e not in placed]
    summary = run_job("filter (place)", place_task, todo, len(placed), ray_address, out=out)
    summary.verb, summary.failed = "filter", verdicts.failed + summary.failed
    report = {"accepted": sorted(k for k, e in entries.items() if not e["reasons"]),
              "quarantined": {k: e["reasons"] for k, e in sorted(entries.items()) if e["reasons"]},
              "review": {k: e["review"] for k, e in sorted(entries.items()) if e["review"]},
              "failed": dict(summary.failed)}
    write_json_atomic(out / "filter_report.json", report)
    summary.results = [report]
    return summary


# ---------------------------------------------------------------- report


def summary_task(folder: Path) -> dict:
    from .report import sample_summary

    return sample_summary(read_sample(folder))


def run_report(in_dirs: Sequence[Path], out: Path, gallery_size: int = 12, ray_address: str | None = None) -> JobSummary:
    from .report import write_report

    folders = [f for d in in_dirs for f in input_samples(d)]
    summary = run_job("report", summary_task, folders, 0, ray_address)
    step = max(1, len(folders) // max(gallery_size, 1))
    gallery = [read_sample(f) for f in folders[::step][:gallery_size]]
    page = write_report(sorted(summary.results, key=lambda s: s["key"]), gallery, out)
    summary.results = [str(page)]
    return summary
