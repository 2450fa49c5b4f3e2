"""A tiny Booster scene in the distributed layout: ``train/balanced/<scene>/`` with ``camera_00/``,
``camera_02/`` (frames im0.png, im1.png), ``disp_00.npy``, ``mask_00.png``, ``mask_cat.png`` and
``calib_00-02.xml`` (OpenCV FileStorage: mtxL/mtxR, proj_matL/proj_matR, baselineLR in mm).

The GT disparity is ``DISPARITY[x]`` = 3 + 0.5·x px per column; ``mask_00`` drops ``INVALID_PIXEL``;
``mask_cat`` marks ``GLASS_BOX`` (rows, cols) as category 2 and ``MIRROR_PIXEL`` as category 3.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from . import middlebury2014

SCENE = "Bottle"
FX, FY, CX, CY = 50.0, 50.0, 7.5, 5.5
BASELINE_MM = 80.0
INVALID_PIXEL = (4, 9)
GLASS_BOX = (slice(2, 5), slice(3, 7))
MIRROR_PIXEL = (10, 12)
FRAMES = ("im0.png", "im1.png")


def disparity_row(width: int) -> np.ndarray:
    return (3.0 + 0.5 * np.arange(width)).astype(np.float32)


def write_calib(path: Path) -> None:
    import cv2

    k = np.array([[FX, 0, CX], [0, FY, CY], [0, 0, 1]])
    left = np.hstack([k, np.zeros((3, 1))])
    right = np.hstack([k, np.array([[-FX * BASELINE_MM], [0], [0]])])
    storage = cv2.FileStorage(str(path), cv2.FILE_STORAGE_WRITE)
    for name, value in (("mtxL", k), ("mtxR", k), ("proj_matL", left), ("proj_matR", right)):
        storage.write(name, value)
    storage.write("baselineLR", BASELINE_MM)
    storage.release()


def build(root: Path, *, width: int = 16, height: int = 12) -> Path:
    scene = root / "train" / "balanced" / SCENE
    for index, frame in enumerate(FRAMES):
        left = middlebury2014.texture(height, width, seed=index)
        middlebury2014.write_png(scene / "camera_00" / frame, left)
        middlebury2014.write_png(scene / "camera_02" / frame, np.roll(left, -3, axis=1))
    np.save(scene / "disp_00.npy", np.repeat(disparity_row(width)[None], height, axis=0))
    valid = np.full((height, width), 255, np.uint8)
    valid[INVALID_PIXEL] = 0
    middlebury2014.write_png(scene / "mask_00.png", valid)
    categories = np.zeros((height, width), np.uint8)
    categories[GLASS_BOX] = 2
    categories[MIRROR_PIXEL] = 3
    middlebury2014.write_png(scene / "mask_cat.png", categories)
    write_calib(scene / "calib_00-02.xml")
    return root
