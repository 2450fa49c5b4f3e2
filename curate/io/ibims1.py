"""iBims-1 (independent Benchmark images and matched scans), the PNG release ``ibims1_core_raw``.

The release (readme of the TUM download, and the authors' evaluation scripts) holds, per image NAME:
``rgb/NAME.png`` (Nikon D5500, 640×480), ``depth/NAME.png`` (uint16; metres = value × 50 / 65535,
from the Leica HDS7000 laser scan), ``calib/NAME.txt`` (one line ``fx,fy,cx,cy``), and 1-bit masks
``mask_invalid/NAME.png`` (non-zero = valid depth), ``mask_transp/NAME.png`` (non-zero = NOT a
transparent object), ``mask_wall``/``mask_table``/``mask_floor`` (planes, used by the planarity metrics
only). The ``ibims1_core_mat`` release (one ``.mat`` per image) holds the same arrays; only the PNG
release is read here. iBims-1 is an evaluation set: every sample is split ``test``.

Import: depth_gt = depth × 50/65535 with the invalid pixels set to 0; material_mask = 2 (transparent)
where mask_transp is 0, else 0 (unlabelled: iBims-1 labels transparency only). The authors' evaluation
also leaves out the transparent pixels; the benchmark does so through material_mask.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from depthcur.schemas import DepthEncoding, DepthGtKind, Intrinsics, MaterialClass, SchemaError, Sample, Source
from depthcur.schemas import Split, with_stats
from depthcur.schemas.keys import key_from_names

from .files import check_same_size, read_depth_png, read_rgb_file
from .public_files import read_mask_png, require_file

#: metres per unit of the depth PNGs (the release readme: depth = value / 65535 × 50 m)
DEPTH_SCALE = 50.0 / 65535.0
RELEASE = "ibims1_core_raw"

#: what find_items looks for, for the error when it finds nothing
LOOKS_FOR = f"rgb/NAME.png with depth/ and calib/ beside it ({RELEASE}, the iBims-1 PNG release)"


def release_root(root: Path) -> Path:
    """The folder holding rgb/, depth/ ...: the root itself or its ibims1_core_raw/ folder."""
    return root / RELEASE if not (root / "rgb").is_dir() and (root / RELEASE / "rgb").is_dir() else root


def find_items(root: Path) -> list[Path]:
    """One item per RGB image, relative to root."""
    base = release_root(root)
    return sorted(p.relative_to(root) for p in (base / "rgb").glob("*.png"))


def read_calib(path: Path) -> Intrinsics:
    """``calib/NAME.txt``: one line ``fx,fy,cx,cy`` in pixels."""
    text = require_file(path, "calibration file", "K_rgb").read_text()
    try:
        numbers = [float(x) for x in text.replace(",", " ").split()]
    except ValueError as exc:
        raise SchemaError(f"calibration holds a non-number ({exc})", field="K_rgb", path=str(path)) from None
    if len(numbers) != 4:
        raise SchemaError(f"expected 4 numbers fx,fy,cx,cy, found {len(numbers)}", field="K_rgb", path=str(path))
    return Intrinsics(*numbers)


def import_item(root: Path, item: Path) -> list[Sample]:
    rgb_path = root / item
    base, name = rgb_path.parent.parent, rgb_path.stem
    rgb, fmt = read_rgb_file(rgb_path)
    k = read_calib(base / "calib" / f"{name}.txt")
    depth_path = require_file(base / "depth" / f"{name}.png", "depth image", "depth_gt")
    depth = read_depth_png(depth_path, DEPTH_SCALE, field="depth_gt")
    check_same_size(rgb, rgb_path, depth, depth_path, "depth_gt")
    valid = read_mask_png(base / "mask_invalid" / f"{name}.png", rgb.shape[:2], field="depth_gt")
    not_transparent = read_mask_png(base / "mask_transp" / f"{name}.png", rgb.shape[:2], field="material_mask")
    material = np.where(not_transparent, MaterialClass.UNLABELLED, MaterialClass.TRANSPARENT).astype(np.uint8)
    sample = Sample(
        key=key_from_names("ibims1", name), source=Source.PUBLIC, dataset="ibims1", rgb=rgb, K_rgb=k,
        depth_gt=np.where(valid, depth, np.float32(0)).astype(np.float32), depth_gt_kind=DepthGtKind.LIDAR,
        material_mask=material, scene_id=name.rsplit("_", 1)[0], device="leica_hds7000", split=Split.TEST,
        depth_encoding={"depth_gt": DepthEncoding("png16", DEPTH_SCALE)}, rgb_format=fmt,
        provenance={"imported_from": "ibims1", "release": RELEASE, "frame": name, "camera": "nikon_d5500",
                    "files": [str(p.relative_to(root)) for p in (rgb_path, depth_path)],
                    "depth_units": "metres = uint16 value * 50 / 65535",
                    "valid_mask": "mask_invalid non-zero", "transparent_mask": "mask_transp zero"})
    return [with_stats(sample)]
