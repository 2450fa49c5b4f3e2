"""A generic RGB-D folder: ``rgb/<name>.png|jpg``, ``depth/<name>.png|npy`` (sensor depth),
optional ``gt/<name>.png|npy`` (target depth), ``intrinsic.txt`` and optional ``info.json``
(``{"depth_scale": 0.001, "dataset": "...", "source": "real", "gt_kind": "sensor"}``)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from depthcur.schemas import DepthEncoding, DepthGtKind, Sample, SchemaError, Source, with_stats
from depthcur.schemas import DEFAULT_DEPTH_SCALE, write_bytes_atomic, write_json_atomic
from depthcur.schemas.codecs import decode_npy, encode_npy
from depthcur.schemas.keys import flatten_key, key_from_names, sanitise_key_part

from .files import (check_same_size, read_depth_png, read_intrinsic_txt, read_rgb_file, write_depth_png,
                    write_intrinsic_txt, write_rgb)

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")
FOLDERS = (("depth", "depth_raw"), ("gt", "depth_gt"))


#: what find_items looks for, for the error when it finds nothing
LOOKS_FOR = "folders holding rgb/ and intrinsic.txt (with optional depth/ and gt/)"


def find_items(root: Path) -> list[Path]:
    """Dataset folders (those with rgb/ and intrinsic.txt), relative to root."""
    return sorted(p.parent.relative_to(root) for p in root.rglob("intrinsic.txt") if (p.parent / "rgb").is_dir())


def read_info(folder: Path) -> dict:
    path = folder / "info.json"
    if not path.is_file():
        return {}
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise SchemaError(f"not valid JSON ({exc})", path=str(path)) from None


def read_depth_any(folder: Path, stem: str, scale: float, field: str) -> tuple[np.ndarray | None, Path | None]:
    png, npy = folder / f"{stem}.png", folder / f"{stem}.npy"
    if png.is_file():
        return read_depth_png(png, scale, field=field), png
    if npy.is_file():
        return decode_npy(npy.read_bytes(), field=field, path=str(npy)).astype(np.float32), npy
    return None, None


def import_item(root: Path, item: Path) -> list[Sample]:
    folder = root / item
    info = read_info(folder)
    scale = float(info.get("depth_scale", DEFAULT_DEPTH_SCALE))
    k = read_intrinsic_txt(folder / "intrinsic.txt")
    dataset = info.get("dataset") or sanitise_key_part(folder.name)
    samples = []
    for image in sorted(p for p in (folder / "rgb").iterdir() if p.suffix.lower() in IMAGE_SUFFIXES):
        rgb, fmt = read_rgb_file(image)
        maps, encodings = {}, {}
        for sub, field in FOLDERS:
            depth, path = read_depth_any(folder / sub, image.stem, scale, field)
            if depth is not None:
                check_same_size(rgb, image, depth, path, field)
                maps[field] = depth
                encodings[field] = DepthEncoding("npy" if path.suffix == ".npy" else "png16", scale)
        sample = Sample(key=key_from_names(dataset, *item.parts[:-1], image.stem),
                        source=Source(info.get("source", "real")), dataset=dataset, rgb=rgb, K_rgb=k,
                        depth_gt_kind=DepthGtKind(info.get("gt_kind", "sensor")) if "depth_gt" in maps else None,
                        depth_encoding=encodings, rgb_format=fmt,
                        provenance={"imported_from": "generic", "name": image.stem}, **maps)
        samples.append(with_stats(sample))
    return samples


def export_sample(sample: Sample, out: Path) -> None:
    folder = out / sanitise_key_part(sample.dataset)
    name = sample.provenance.get("name") or flatten_key(sample.key, separator="_")
    write_intrinsic_txt(folder / "intrinsic.txt", sample.K_rgb)
    gt_kind = getattr(sample.depth_gt_kind, "value", sample.depth_gt_kind) or "sensor"
    write_json_atomic(folder / "info.json", {"dataset": sample.dataset, "depth_scale": DEFAULT_DEPTH_SCALE,
                                              "source": getattr(sample.source, "value", sample.source),
                                              "gt_kind": gt_kind})
    write_rgb(folder / "rgb" / f"{name}.{'jpg' if sample.rgb_format == 'jpeg' else 'png'}", sample.rgb)
    for sub, field in FOLDERS:
        depth = getattr(sample, field)
        if depth is None:
            continue
        if sample.encoding_of(field).format == "npy":
            write_bytes_atomic(folder / sub / f"{name}.npy", encode_npy(depth.astype(np.float32)))
        else:
            write_depth_png(folder / sub / f"{name}.png", depth, DEFAULT_DEPTH_SCALE, field=field)
