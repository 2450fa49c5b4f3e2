"""A tiny KITTI depth-completion evaluation set, ``depth_selection/val_selection_cropped/``, two 16×12 frames.

Files as data_depth_selection.zip holds them: image/, velodyne_raw/, groundtruth_depth/ (uint16 PNG,
metres = value / 256, 0 = invalid) and intrinsics/ (one line, the 3×3 K row-major in %e notation), the
frame name repeated in each with the folder word swapped in.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .ibims1 import write_png
from .middlebury2014 import texture

WIDTH, HEIGHT = 16, 12
#: (drive, frame, camera) of the two frames
FRAMES = [("2011_09_26_drive_0002_sync", "0000000005", "image_02"),
          ("2011_10_03_drive_0047_sync", "0000000761", "image_03")]
#: fx, fy, cx, cy of the cropped images
CALIB = (721.5377, 721.5377, 7.5, 5.5)
#: groundtruth value (uint16) of every pixel but the ones below; 2560 / 256 = 10 m
GT_VALUE = 2560
GT_AT = {(2, 3): 5000, (11, 15): 0, (6, 0): 0}
#: the velodyne_raw scan: zero but these pixels
RAW_AT = {(3, 4): 2600, (8, 10): 1}


def frame_name(drive: str, word: str, frame: str, camera: str) -> str:
    return f"{drive}_{word}_{frame}_{camera}"


def depth_image(base: int, at: dict[tuple[int, int], int]) -> np.ndarray:
    depth = np.full((HEIGHT, WIDTH), base, np.uint16)
    for pixel, value in at.items():
        depth[pixel] = value
    return depth


def intrinsics_text() -> str:
    fx, fy, cx, cy = CALIB
    return " ".join(f"{v:e}" for v in (fx, 0, cx, 0, fy, cy, 0, 0, 1)) + "\n"


def build(root: Path) -> Path:
    selection = root / "depth_selection" / "val_selection_cropped"
    for index, (drive, frame, camera) in enumerate(FRAMES):
        write_png(selection / "image" / f"{frame_name(drive, 'image', frame, camera)}.png",
                  texture(HEIGHT, WIDTH, seed=index))
        write_png(selection / "groundtruth_depth" / f"{frame_name(drive, 'groundtruth_depth', frame, camera)}.png",
                  depth_image(GT_VALUE, GT_AT))
        write_png(selection / "velodyne_raw" / f"{frame_name(drive, 'velodyne_raw', frame, camera)}.png",
                  depth_image(0, RAW_AT))
        (selection / "intrinsics").mkdir(parents=True, exist_ok=True)
        (selection / "intrinsics" / f"{frame_name(drive, 'image', frame, camera)}.txt").write_text(intrinsics_text())
    return root
