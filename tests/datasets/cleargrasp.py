"""A tiny ClearGrasp real test/val copy in the distributed layout (``cleargrasp-dataset-test-val/``).

``real-test/d435`` holds one frame and ``real-val/d435`` another, each folder with its
``camera_intrinsics.yaml`` written for ``CALIB_SIZE`` (twice the images' size, so K must be scaled).
Depth EXRs are three-channel float32 in metres, as ClearGrasp's ``exr_saver`` writes them:
raw = ``RAW_BASE + STEP·column`` with ``NAN_PIXEL`` NaN and ``HOLE_PIXEL`` 0; opaque GT =
``GT_BASE + STEP·column``. ``-mask.png`` is 255 on ``GLASS`` (rows, cols), 0 elsewhere.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from depthcur.curate.io.files import write_exr_depth

WIDTH, HEIGHT = 16, 12
CALIB_SIZE = (32, 24)
FX, FY, CX, CY = 23.0, 23.5, 16.2, 11.8          # at CALIB_SIZE
RAW_BASE, GT_BASE, STEP = 0.5, 0.6, 0.01
NAN_PIXEL = (1, 2)
HOLE_PIXEL = (2, 3)
GLASS = (slice(3, 6), slice(4, 9))
FRAMES = {"real-test/d435": "000000080", "real-val/d435": "000000123"}


def depth_rows(base: float) -> np.ndarray:
    return np.repeat((base + STEP * np.arange(WIDTH, dtype=np.float32))[None], HEIGHT, axis=0).astype(np.float32)


def write_calib(path: Path) -> None:
    path.write_text(f"# Camera Intrinsic Parameters\ncamera_name: 'D435'\nxres: {CALIB_SIZE[0]}\n"
                    f"yres: {CALIB_SIZE[1]}\nfx: {FX}\nfy: {FY}\ncx: {CX}\ncy: {CY}\n")


def build(root: Path) -> Path:
    for index, (folder_name, frame) in enumerate(FRAMES.items()):
        folder = root / "cleargrasp-dataset-test-val" / folder_name
        folder.mkdir(parents=True, exist_ok=True)
        write_calib(folder / "camera_intrinsics.yaml")
        rgb = np.random.default_rng(index).integers(0, 255, (HEIGHT, WIDTH, 3), dtype=np.uint8)
        cv2.imwrite(str(folder / f"{frame}-transparent-rgb-img.jpg"), rgb)
        raw = depth_rows(RAW_BASE)
        raw[NAN_PIXEL] = np.nan
        raw[HOLE_PIXEL] = 0
        write_exr_depth(folder / f"{frame}-transparent-depth-img.exr", raw, channels=3)
        write_exr_depth(folder / f"{frame}-opaque-depth-img.exr", depth_rows(GT_BASE), channels=3)
        mask = np.zeros((HEIGHT, WIDTH), np.uint8)
        mask[GLASS] = 255
        cv2.imwrite(str(folder / f"{frame}-mask.png"), mask)
    return root / "cleargrasp-dataset-test-val"
