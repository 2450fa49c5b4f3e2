"""DIODE (Dense Indoor and Outdoor DEpth), depth part, as its authors distribute it.

``{train,val}/{indoors,outdoor}/scene_*/scan_*/NAME.png`` (1024×768 RGB), ``NAME_depth.npy`` (float32
metres, H×W×1) and ``NAME_depth_mask.npy`` (1 = valid laser return, 0 = none), per the diode-devkit
README. Every image was taken by the FARO Focus S350 scanner's camera with the same pinhole intrinsics,
``intrinsics.txt`` of the devkit: fx 886.81, fy 927.06, cx 512, cy 384 at 1024×768 (a resized copy gets
them scaled to its size, pixel-centre convention). Split: the folder it is in (the test set is not
released; benchmarks evaluate on val). depth_gt = the depth where the mask is set, lidar kind.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from depthcur.schemas import DepthEncoding, DepthGtKind, Intrinsics, SchemaError, Sample, Source, Split
from depthcur.schemas import with_stats
from depthcur.schemas.keys import key_from_names

from .files import read_rgb_file
from .public_files import check_shape, metres_or_zero, read_npy

#: the devkit's intrinsics.txt, at the released image size
DIODE_K = Intrinsics(886.81, 927.06, 512.0, 384.0)
DIODE_SIZE = (1024, 768)
SPLITS = {"train": Split.TRAIN, "val": Split.VAL}

#: what find_items looks for, for the error when it finds nothing
LOOKS_FOR = "scan folders holding NAME.png with NAME_depth.npy and NAME_depth_mask.npy (DIODE depth)"


def find_items(root: Path) -> list[Path]:
    """Scan folders (those holding a *_depth.npy), relative to root."""
    return sorted({p.parent.relative_to(root) for p in root.rglob("*_depth.npy")})


def intrinsics_for(width: int, height: int) -> Intrinsics:
    if (width, height) == DIODE_SIZE:
        return DIODE_K
    return DIODE_K.scaled(width / DIODE_SIZE[0], height / DIODE_SIZE[1])


def read_depth(path: Path, shape: tuple[int, int]) -> np.ndarray:
    depth = read_npy(path, field="depth_gt")
    if depth.ndim == 3 and depth.shape[2] == 1:
        depth = depth[..., 0]
    if depth.ndim != 2 or not np.issubdtype(depth.dtype, np.floating):
        raise SchemaError(f"expected an H×W×1 float array of metres, got {depth.dtype} with shape {depth.shape}",
                          field="depth_gt", path=str(path))
    check_shape(depth, shape, path, "depth_gt")
    return depth


def import_image(root: Path, scan: Path, image: Path) -> Sample:
    rgb, fmt = read_rgb_file(image)
    shape = rgb.shape[:2]
    depth_path, mask_path = image.with_name(f"{image.stem}_depth.npy"), image.with_name(f"{image.stem}_depth_mask.npy")
    depth = read_depth(depth_path, shape)
    mask = read_npy(mask_path, field="depth_gt")
    check_shape(mask, shape, mask_path, "depth_gt")
    parts = scan.parts
    split = next((SPLITS[p] for p in parts if p in SPLITS), Split.VAL)
    outdoor = "outdoor" in parts
    sample = Sample(
        key=key_from_names("diode", *parts, image.stem), source=Source.PUBLIC, dataset="diode", rgb=rgb,
        K_rgb=intrinsics_for(shape[1], shape[0]), depth_gt=metres_or_zero(np.where(mask > 0, depth, 0)),
        depth_gt_kind=DepthGtKind.LIDAR, scene_id=next((p for p in parts if p.startswith("scene_")), parts[-1]),
        scene_category="outdoor" if outdoor else "unknown", device="faro_focus_s350", split=split,
        depth_encoding={"depth_gt": DepthEncoding("npy")}, rgb_format=fmt,
        provenance={"imported_from": "diode", "scan": scan.as_posix(), "frame": image.stem,
                    "files": [str(p.relative_to(root)) for p in (image, depth_path, mask_path)],
                    "depth_units": "metres (float32 .npy)", "valid_mask": "_depth_mask.npy > 0",
                    "intrinsics": "diode-devkit intrinsics.txt, 1024x768"
                                  + ("" if shape[::-1] == DIODE_SIZE else f", scaled to {shape[1]}x{shape[0]}")})
    return with_stats(sample)


def import_item(root: Path, item: Path) -> list[Sample]:
    scan = root / item
    images = sorted(scan.glob("*.png"))
    if not images:
        raise SchemaError("scan folder holds depth arrays but no .png image", path=str(scan))
    return [import_image(root, item, image) for image in images]
