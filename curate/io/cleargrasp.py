"""ClearGrasp real test/val (Sajjan et al., ICRA 2020), as ``cleargrasp-dataset-test-val.tar`` unpacks.

``{real-test,real-val}/{d415,d435}/`` camera folders, each with ``camera_intrinsics.yaml``
(``camera_name, xres, yres, fx, fy, cx, cy`` in pixels at ``xres``×``yres``) and per frame N:

- ``N-transparent-rgb-img.jpg``: the scene with the transparent objects;
- ``N-transparent-depth-img.exr``: the RealSense's own depth of that view (float metres) -> depth_raw;
- ``N-opaque-depth-img.exr``: the same view with each object swapped for a painted opaque copy,
  seen by the same sensor -> depth_gt (kind ``sensor``);
- ``N-mask.png``: non-zero on the transparent objects -> material_mask 2 (transparent); the mask
  covers every transparent object in view, so every other pixel is 1 (opaque).

The official loaders (ClearGrasp's ``exr_loader``, TransCG's ``ClearGraspRealWorld``) read the EXR's R
channel in metres. K is scaled when the images are not ``xres``×``yres``. real-test is split test,
real-val is split val. NaN, inf and non-positive depths become 0 (invalid).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import yaml

from depthcur.schemas import (DepthEncoding, DepthGtKind, Intrinsics, MaterialClass, Sample, SchemaError, Source,
                              Split, with_stats)
from depthcur.schemas.keys import key_from_names

from .files import check_same_size, read_exr_depth, read_rgb_file
from .public_files import metres_or_zero, read_mask_png, require_file

RGB_SUFFIX = "-transparent-rgb-img.jpg"
RAW_SUFFIX = "-transparent-depth-img.exr"
GT_SUFFIX = "-opaque-depth-img.exr"
MASK_SUFFIX = "-mask.png"
CALIB_NAME = "camera_intrinsics.yaml"
CALIB_KEYS = ("xres", "yres", "fx", "fy", "cx", "cy")
SPLITS = {"real-test": Split.TEST, "real-val": Split.VAL}

#: what find_items looks for, for the error when it finds nothing
LOOKS_FOR = f"camera folders (real-test/d415, real-test/d435, real-val/d435) holding N{RGB_SUFFIX}"


def find_items(root: Path) -> list[Path]:
    """Camera folders holding at least one transparent RGB image, relative to root."""
    return sorted({p.parent.relative_to(root) for p in root.rglob(f"*{RGB_SUFFIX}")})


def read_calib(path: Path) -> tuple[Intrinsics, tuple[int, int]]:
    """(K, (width, height) K refers to) from ``camera_intrinsics.yaml``."""
    try:
        calib = yaml.safe_load(require_file(path, "camera intrinsics file", "K_rgb").read_text())
    except yaml.YAMLError as exc:
        raise SchemaError(f"not readable YAML ({exc})", field="K_rgb", path=str(path)) from None
    missing = [k for k in CALIB_KEYS if not isinstance(calib, dict) or k not in calib]
    if missing:
        raise SchemaError(f"camera intrinsics lack {', '.join(missing)} (expected {', '.join(CALIB_KEYS)})",
                          field="K_rgb", path=str(path))
    try:
        values = {k: float(calib[k]) for k in CALIB_KEYS}
    except (TypeError, ValueError):
        raise SchemaError(f"camera intrinsics hold a non-number: {[calib[k] for k in CALIB_KEYS]}", field="K_rgb",
                          path=str(path)) from None
    if min(values.values()) <= 0:
        raise SchemaError(f"camera intrinsics must be positive, got {values}", field="K_rgb", path=str(path))
    k = Intrinsics(values["fx"], values["fy"], values["cx"], values["cy"])
    return k, (int(values["xres"]), int(values["yres"]))


def split_of(item: Path) -> Split:
    return next((SPLITS[part] for part in item.parts if part in SPLITS), Split.TEST)


def import_frame(root: Path, item: Path, rgb_path: Path, k: Intrinsics, calib_size: tuple[int, int]) -> Sample:
    folder = rgb_path.parent
    frame = rgb_path.name[: -len(RGB_SUFFIX)]
    rgb, fmt = read_rgb_file(rgb_path)
    maps = {}
    for field, suffix in (("depth_raw", RAW_SUFFIX), ("depth_gt", GT_SUFFIX)):
        path = folder / f"{frame}{suffix}"
        maps[field] = metres_or_zero(read_exr_depth(path, field=field))
        check_same_size(rgb, rgb_path, maps[field], path, field)
    transparent = read_mask_png(folder / f"{frame}{MASK_SUFFIX}", rgb.shape[:2], field="material_mask")
    material = np.where(transparent, MaterialClass.TRANSPARENT, MaterialClass.OPAQUE).astype(np.uint8)
    height, width = rgb.shape[:2]
    if (width, height) != calib_size:   # the yaml gives K at xres×yres
        k = k.scaled(width / calib_size[0], height / calib_size[1])
    camera = folder.name.lower()
    sample = Sample(key=key_from_names("cleargrasp", *item.parts, frame), source=Source.PUBLIC, dataset="cleargrasp",
                    rgb=rgb, K_rgb=k, scene_id=f"{'_'.join(item.parts)}", device=camera, split=split_of(item),
                    depth_gt_kind=DepthGtKind.SENSOR, material_mask=material,
                    depth_encoding={f: DepthEncoding("npy") for f in maps}, rgb_format=fmt,
                    provenance={"imported_from": "cleargrasp", "folder": item.as_posix(), "frame": frame,
                                "files": {"rgb": rgb_path.name, "depth_raw": f"{frame}{RAW_SUFFIX}",
                                          "depth_gt": f"{frame}{GT_SUFFIX}", "material_mask": f"{frame}{MASK_SUFFIX}",
                                          "K_rgb": CALIB_NAME},
                                "units": "EXR R channel in metres, as stored; NaN/inf/<=0 -> 0",
                                "K_scaled_from": list(calib_size)},
                    **maps)
    return with_stats(sample)


def import_item(root: Path, item: Path) -> list[Sample]:
    folder = root / item
    k, calib_size = read_calib(folder / CALIB_NAME)
    return [import_frame(root, item, p, k, calib_size) for p in sorted(folder.glob(f"*{RGB_SUFFIX}"))]
