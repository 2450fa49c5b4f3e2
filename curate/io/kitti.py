"""KITTI raw + depth-completion layout.

``<date>/calib_cam_to_cam.txt``, ``<date>/calib_velo_to_cam.txt`` and per drive
``<date>/<drive>/image_02/data/<frame>.png``, optional ``velodyne_points/data/<frame>.bin`` and
``proj_depth/{velodyne_raw,groundtruth}/image_02/<frame>.png`` (uint16, metres × 256, 0 = invalid).
Import: depth_gt = the groundtruth PNG, else the projected scan; depth_raw = the velodyne_raw PNG,
else the projected scan. Export writes images, depth PNGs and a calibration for K.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from depthcur.schemas import DepthEncoding, DepthGtKind, Intrinsics, Sample, Source, with_stats
from depthcur.schemas import write_bytes_atomic
from depthcur.schemas.keys import flatten_key, key_from_names, sanitise_key_part

from ..lidar.calib import read_kitti_calib
from ..lidar.points import read_points
from ..lidar.projection import project_points
from .files import check_same_size, read_depth_png, read_rgb_file, write_depth_png, write_rgb

DEPTH_SCALE = 1.0 / 256.0
CAMERA = "image_02"


#: what find_items looks for, for the error when it finds nothing
LOOKS_FOR = f"drive folders DATE/DRIVE/ holding {CAMERA}/data/ (KITTI raw)"


def find_items(root: Path) -> list[Path]:
    """Drive folders (``<date>/<drive>``) relative to root."""
    return sorted(p.parent.parent.relative_to(root) for p in root.glob(f"*/*/{CAMERA}/data") if p.is_dir())


def frame_depth(drive: Path, kind: str, frame: str, rgb: np.ndarray, image_path: Path, calib, field: str):
    png = drive / "proj_depth" / kind / CAMERA / f"{frame}.png"
    if png.is_file():
        depth = read_depth_png(png, DEPTH_SCALE, field=field)
        check_same_size(rgb, image_path, depth, png, field)
        return depth
    scan = drive / "velodyne_points" / "data" / f"{frame}.bin"
    if scan.is_file():
        return project_points(read_points(scan), calib.K, calib.T_cam_from_lidar, rgb.shape[:2])[0]
    return None


def import_frame(root: Path, item: Path, image_path: Path, calib) -> Sample:
    drive = root / item
    rgb, fmt = read_rgb_file(image_path)
    frame = image_path.stem
    maps = {"depth_raw": frame_depth(drive, "velodyne_raw", frame, rgb, image_path, calib, "depth_raw"),
            "depth_gt": frame_depth(drive, "groundtruth", frame, rgb, image_path, calib, "depth_gt")}
    maps = {k: v for k, v in maps.items() if v is not None}
    sample = Sample(key=key_from_names("kitti", *item.parts, frame), source=Source.LIDAR,
                    dataset="kitti", rgb=rgb, K_rgb=calib.K, scene_id=item.parts[-1], scene_category="outdoor",
                    device="kitti_" + CAMERA, depth_gt_kind=DepthGtKind.LIDAR if "depth_gt" in maps else None,
                    depth_encoding={f: DepthEncoding("png16", DEPTH_SCALE) for f in maps}, rgb_format=fmt,
                    provenance={"imported_from": "kitti", "drive": str(item), "frame": frame}, **maps)
    return with_stats(sample)


def import_item(root: Path, item: Path) -> list[Sample]:
    calib = read_kitti_calib((root / item).parent)
    images = sorted((root / item / CAMERA / "data").glob("*.png"))
    return [import_frame(root, item, image, calib) for image in images]


def calib_text(k: Intrinsics, width: int, height: int) -> tuple[str, str]:
    p = [k.fx, 0, k.cx, 0, 0, k.fy, k.cy, 0, 0, 0, 1, 0]
    cam = (f"R_rect_00: {' '.join(['1', '0', '0', '0', '1', '0', '0', '0', '1'])}\n"
           f"P_rect_02: {' '.join(repr(float(v)) for v in p)}\nS_rect_02: {width} {height}\n")
    velo = "R: 1 0 0 0 1 0 0 0 1\nT: 0 0 0\n"
    return cam, velo


def export_sample(sample: Sample, out: Path) -> None:
    drive_id = sample.provenance.get("drive") or f"export/{sanitise_key_part(sample.dataset)}_drive"
    frame = sample.provenance.get("frame") or flatten_key(sample.key, separator="_")
    drive = out / drive_id
    cam, velo = calib_text(sample.K_rgb, sample.width, sample.height)
    write_bytes_atomic(drive.parent / "calib_cam_to_cam.txt", cam.encode())
    write_bytes_atomic(drive.parent / "calib_velo_to_cam.txt", velo.encode())
    write_rgb(drive / CAMERA / "data" / f"{frame}.png", sample.rgb)
    for kind, field in (("velodyne_raw", "depth_raw"), ("groundtruth", "depth_gt")):
        depth = getattr(sample, field)
        if depth is not None:
            write_depth_png(drive / "proj_depth" / kind / CAMERA / f"{frame}.png", depth, DEPTH_SCALE, field=field)
