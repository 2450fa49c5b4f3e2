"""ScanNet++ iPhone streams (Yeshwanth et al., ICCV 2023) with the laser-scan mesh's rendered depth as GT.

``<root>/data/<scene>/iphone/`` as the toolkit's ``iphone/prepare_iphone_data.py`` leaves it:
``rgb/frame_NNNNNN.jpg`` (1920×1440), ``depth/frame_NNNNNN.png`` (ARKit LiDAR depth, 256×192 uint16
millimetres) and ``pose_intrinsic_imu.json`` (per frame ``intrinsic``: the 3×3 K of the RGB image).
GT is ``render_depth/frame_NNNNNN.png`` beside them, written by the toolkit's ``common/render.py`` from the
laser-scan mesh with the iPhone's COLMAP camera at the RGB resolution: uint16 millimetres, 0 = invalid
(render with ``output_dir`` = the data folder so it lands in ``<scene>/iphone/``). Frames without a
rendered depth (not in the COLMAP subset) come without depth_gt.

depth_raw is the ARKit map resized to the RGB grid by nearest neighbour with pixel-centre alignment
(each 256×192 pixel becomes a 7.5×7.5 block; no depth is interpolated across edges), so a metric
on depth_raw weighs each ARKit pixel by the area it covers. Split: ``<root>/splits/nvs_sem_train.txt``,
``nvs_sem_val.txt``, ``nvs_test.txt`` / ``sem_test.txt``; a scene none lists is test.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from depthcur.schemas import DEFAULT_DEPTH_SCALE, DepthEncoding, DepthGtKind, Intrinsics, Sample, SchemaError, Source
from depthcur.schemas import Split, with_stats
from depthcur.schemas.keys import key_from_names

from ..stereo.pseudo_label import nearest_resize
from .files import check_same_size, read_depth_png, read_rgb_file
from .public_files import require_file

SPLIT_FILES = {"nvs_sem_train": Split.TRAIN, "nvs_sem_val": Split.VAL, "nvs_test": Split.TEST, "sem_test": Split.TEST}
POSE_FILE = "pose_intrinsic_imu.json"

#: what find_items looks for, for the error when it finds nothing
LOOKS_FOR = "scene folders SCENE/iphone/ holding rgb/frame_NNNNNN.jpg (ScanNet++ data/ folder)"


def find_items(root: Path) -> list[Path]:
    """Scene folders (the parent of iphone/) holding iphone/rgb/, relative to root."""
    return sorted(p.parent.parent.relative_to(root) for p in root.rglob("iphone/rgb") if p.is_dir())


def split_of(root: Path, item: Path) -> tuple[Split, str]:
    """The scene's split and the file that says so, from splits/ at root or above the data/ folder."""
    for folder in (root / "splits", root.parent / "splits"):
        for name, split in SPLIT_FILES.items():
            path = folder / f"{name}.txt"
            if path.is_file() and item.name in path.read_text().split():
                return split, f"splits/{name}.txt"
    return Split.TEST, "none (no splits/*.txt lists the scene)"


def read_frame_intrinsics(path: Path) -> dict[str, Intrinsics]:
    try:
        frames = json.loads(require_file(path, "iPhone pose/intrinsics file", "K_rgb").read_text())
    except json.JSONDecodeError as exc:
        raise SchemaError(f"not valid JSON ({exc})", field="K_rgb", path=str(path)) from None
    intrinsics = {}
    for frame, record in frames.items() if isinstance(frames, dict) else ():
        try:
            k = np.asarray(record.get("intrinsic") if isinstance(record, dict) else None, dtype=np.float64)
        except (TypeError, ValueError):
            k = np.empty(0)
        if k.shape != (3, 3):
            raise SchemaError(f"{frame}: 'intrinsic' is not a 3×3 matrix of numbers", field="K_rgb", path=str(path))
        intrinsics[frame] = Intrinsics.from_any(k)
    if not intrinsics:
        raise SchemaError("expected an object of frame_NNNNNN -> {intrinsic, pose, ...}", field="K_rgb",
                          path=str(path))
    return intrinsics


def arkit_depth_on_rgb_grid(path: Path, rgb_shape: tuple[int, int]) -> np.ndarray:
    depth = read_depth_png(path, DEFAULT_DEPTH_SCALE, field="depth_raw")
    if depth.shape[0] * rgb_shape[1] != depth.shape[1] * rgb_shape[0]:
        raise SchemaError(f"aspect {depth.shape[1]}x{depth.shape[0]} differs from the RGB image's "
                          f"{rgb_shape[1]}x{rgb_shape[0]}", field="depth_raw", path=str(path))
    return nearest_resize(depth, rgb_shape)


def import_frame(item: Path, iphone: Path, rgb_path: Path, k: Intrinsics, split: Split, split_source: str) -> Sample:
    frame = rgb_path.stem
    rgb, fmt = read_rgb_file(rgb_path)
    raw_path = require_file(iphone / "depth" / f"{frame}.png", "ARKit depth image", "depth_raw")
    maps = {"depth_raw": arkit_depth_on_rgb_grid(raw_path, rgb.shape[:2])}
    gt_path = iphone / "render_depth" / f"{frame}.png"
    if gt_path.is_file():
        maps["depth_gt"] = read_depth_png(gt_path, DEFAULT_DEPTH_SCALE, field="depth_gt")
        check_same_size(rgb, rgb_path, maps["depth_gt"], gt_path, "depth_gt")
    sample = Sample(key=key_from_names("scannetpp", item.name, frame), source=Source.PUBLIC, dataset="scannetpp",
                    rgb=rgb, K_rgb=k, scene_id=item.name, device="iphone_arkit", split=split,
                    depth_gt_kind=DepthGtKind.LIDAR if "depth_gt" in maps else None,
                    depth_encoding={f: DepthEncoding("png16", DEFAULT_DEPTH_SCALE) for f in maps}, rgb_format=fmt,
                    provenance={"imported_from": "scannetpp", "scene": item.name, "frame": frame,
                                "split_from": split_source,
                                "files": {"rgb": f"iphone/rgb/{rgb_path.name}",
                                          "depth_raw": f"iphone/depth/{frame}.png",
                                          "depth_gt": f"iphone/render_depth/{frame}.png" if "depth_gt" in maps
                                          else None,
                                          "K_rgb": f"iphone/{POSE_FILE}"},
                                "units": "uint16 millimetres / 1000 = metres",
                                "depth_raw_resized": "nearest, pixel centres, from the ARKit grid to the RGB grid"},
                    **maps)
    return with_stats(sample)


def import_item(root: Path, item: Path) -> list[Sample]:
    iphone = root / item / "iphone"
    intrinsics = read_frame_intrinsics(iphone / POSE_FILE)
    split, split_source = split_of(root, item)
    samples = []
    for rgb_path in sorted((iphone / "rgb").glob("frame_*.jpg")):
        if rgb_path.stem not in intrinsics:
            raise SchemaError(f"{rgb_path.name} has no entry in {POSE_FILE}", field="K_rgb",
                              path=str(iphone / POSE_FILE))
        samples.append(import_frame(item, iphone, rgb_path, intrinsics[rgb_path.stem], split, split_source))
    return samples
