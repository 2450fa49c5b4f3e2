"""A tiny DIODE depth release: one indoor scan in val/ and one outdoor scan in train/, 8×6 images.

Per image NAME (DIODE's own naming, ``SCENE_SCAN_{indoors,outdoor}_ROW_COL``): ``NAME.png``,
``NAME_depth.npy`` (float32 metres, H×W×1) and ``NAME_depth_mask.npy`` (float32, 1 = valid return).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

WIDTH, HEIGHT = 8, 6
INDOOR = Path("val/indoors/scene_00019/scan_00183")
INDOOR_NAME = "00019_00183_indoors_000_010"
OUTDOOR = Path("train/outdoor/scene_00022/scan_00193")
OUTDOOR_NAME = "00022_00193_outdoor_010_020"
#: depth of every pixel in metres, then per-pixel values
DEPTH_M = 3.25
DEPTH_AT = {(2, 5): 7.5}
#: (row, col) with no laser return (mask 0; their stored depth is not 0, as in some real files)
NO_RETURN = [(0, 1), (3, 3)]


def write_scan(root: Path, scan: Path, name: str, seed: int) -> None:
    import cv2

    folder = root / scan
    folder.mkdir(parents=True, exist_ok=True)
    rgb = np.random.default_rng(seed).integers(0, 256, (HEIGHT, WIDTH, 3), dtype=np.uint8)
    cv2.imwrite(str(folder / f"{name}.png"), rgb[..., ::-1])
    depth = np.full((HEIGHT, WIDTH, 1), DEPTH_M, np.float32)
    mask = np.ones((HEIGHT, WIDTH), np.float32)
    for pixel, value in DEPTH_AT.items():
        depth[pixel] = value
    for pixel in NO_RETURN:
        mask[pixel] = 0
    np.save(folder / f"{name}_depth.npy", depth)
    np.save(folder / f"{name}_depth_mask.npy", mask)


def build(root: Path) -> Path:
    write_scan(root, INDOOR, INDOOR_NAME, 2)
    write_scan(root, OUTDOOR, OUTDOOR_NAME, 3)
    return root
