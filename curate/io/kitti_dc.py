"""KITTI depth completion's evaluation set: ``depth_selection/val_selection_cropped/`` (1000 frames).

Per frame, one name pattern across four folders (the devkit readme and the loaders that read the set,
e.g. NLSPN's KITTI DC loader, swap the folder word inside the file name):
``image/DRIVE_image_FRAME_CAM.png``, ``velodyne_raw/DRIVE_velodyne_raw_FRAME_CAM.png``,
``groundtruth_depth/DRIVE_groundtruth_depth_FRAME_CAM.png`` (uint16 PNGs, metres × 256, 0 = invalid) and
``intrinsics/DRIVE_image_FRAME_CAM.txt`` (the 3×3 K of the cropped image, 9 numbers row-major);
DRIVE is like ``2011_09_26_drive_0002_sync``, FRAME ten digits, CAM ``image_02`` or ``image_03``.
Import: depth_raw = velodyne_raw, depth_gt = groundtruth_depth (kind lidar), dataset ``kitti``, split val
(the benchmark's evaluation split; the raw-drive importer, kitti.py, writes train).
"""

from __future__ import annotations

import re
from pathlib import Path

from depthcur.schemas import DepthEncoding, DepthGtKind, SchemaError, Sample, Source, Split, with_stats
from depthcur.schemas.keys import key_from_names

from .files import check_same_size, read_depth_png, read_intrinsic_txt, read_rgb_file
from .kitti import DEPTH_SCALE
from .public_files import require_file

SELECTION = "val_selection_cropped"
#: an image file name: DRIVE_image_FRAME_CAM.png
IMAGE_NAME = re.compile(r"(?P<drive>\d{4}_\d{2}_\d{2}_drive_\d{4}_sync)_image_(?P<frame>\d+)"
                        r"_(?P<camera>image_0[23])")
#: depth folder (its word in the file names too) -> the sample field it fills
DEPTH_FOLDERS = {"velodyne_raw": "depth_raw", "groundtruth_depth": "depth_gt"}

#: what find_items looks for, for the error when it finds nothing
LOOKS_FOR = f"{SELECTION}/image/*.png (KITTI depth completion, depth_selection of data_depth_selection.zip)"


def find_items(root: Path) -> list[Path]:
    """One item per image of every val_selection_cropped/ folder at or under root, relative to root."""
    folders = [root] if root.name == SELECTION else sorted(p for p in root.rglob(SELECTION) if p.is_dir())
    return sorted(p.relative_to(root) for folder in folders for p in (folder / "image").glob("*.png"))


def parse_image_name(path: Path) -> re.Match:
    match = IMAGE_NAME.fullmatch(path.stem)
    if match is None:
        raise SchemaError("image name is not DRIVE_image_FRAME_CAM.png (e.g. "
                          "2011_09_26_drive_0002_sync_image_0000000005_image_02.png)", field="rgb", path=str(path))
    return match


def read_partner_depth(selection: Path, folder: str, name: re.Match, rgb, rgb_path: Path):
    field = DEPTH_FOLDERS[folder]
    path = selection / folder / f"{name['drive']}_{folder}_{name['frame']}_{name['camera']}.png"
    depth = read_depth_png(require_file(path, f"{folder} partner of {rgb_path.name}", field), DEPTH_SCALE,
                           field=field)
    check_same_size(rgb, rgb_path, depth, path, field)
    return depth


def import_item(root: Path, item: Path) -> list[Sample]:
    rgb_path = root / item
    selection = rgb_path.parent.parent
    name = parse_image_name(rgb_path)
    rgb, fmt = read_rgb_file(rgb_path)
    k = read_intrinsic_txt(selection / "intrinsics" / f"{rgb_path.stem}.txt")
    maps = {field: read_partner_depth(selection, folder, name, rgb, rgb_path)
            for folder, field in DEPTH_FOLDERS.items()}
    sample = Sample(
        key=key_from_names("kitti", SELECTION, name["drive"], f"{name['frame']}_{name['camera']}"),
        source=Source.LIDAR, dataset="kitti", rgb=rgb, K_rgb=k, scene_id=name["drive"], scene_category="outdoor",
        device="kitti_" + name["camera"], split=Split.VAL, depth_gt_kind=DepthGtKind.LIDAR,
        depth_encoding={f: DepthEncoding("png16", DEPTH_SCALE) for f in maps}, rgb_format=fmt,
        provenance={"imported_from": "kitti-dc", "selection": SELECTION, "drive": name["drive"],
                    "frame": name["frame"], "camera": name["camera"]}, **maps)
    return [with_stats(sample)]
