"""A tiny iBims-1 PNG release (``ibims1_core_raw``) with one 8×6 image, ``corridor_01``.

Files as the release readme lists them: rgb/, depth/ (uint16, metres = value × 50 / 65535), calib/
(one line ``fx,fy,cx,cy``), 1-bit masks mask_invalid (1 = valid), mask_transp (1 = not transparent),
mask_wall/mask_table/mask_floor, and imagelist.txt beside the release folder.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

NAME = "corridor_01"
WIDTH, HEIGHT = 8, 6
CALIB = (554.25, 553.5, 3.75, 2.5)
#: the uint16 value of every depth pixel but the ones below
DEPTH_VALUE = 6554
#: (row, col) -> uint16 value
DEPTH_AT = {(1, 2): 13107, (4, 6): 123}
#: (row, col) pixels marked invalid (mask_invalid = 0)
INVALID = [(0, 0), (5, 7)]
#: (row, col) pixels on a transparent object (mask_transp = 0)
TRANSPARENT = [(2, 3), (2, 4)]


def write_png(path: Path, image: np.ndarray, *, bilevel: bool = False) -> None:
    import cv2

    path.parent.mkdir(parents=True, exist_ok=True)
    flags = [cv2.IMWRITE_PNG_BILEVEL, 1] if bilevel else []
    cv2.imwrite(str(path), image[..., ::-1] if image.ndim == 3 else image, flags)


def mask_with_zeros(zeros: list[tuple[int, int]]) -> np.ndarray:
    mask = np.ones((HEIGHT, WIDTH), np.uint8)
    for pixel in zeros:
        mask[pixel] = 0
    return mask


def build(root: Path) -> Path:
    base = root / "ibims1_core_raw"
    rgb = np.random.default_rng(1).integers(0, 256, (HEIGHT, WIDTH, 3), dtype=np.uint8)
    write_png(base / "rgb" / f"{NAME}.png", rgb)
    depth = np.full((HEIGHT, WIDTH), DEPTH_VALUE, np.uint16)
    for pixel, value in DEPTH_AT.items():
        depth[pixel] = value
    write_png(base / "depth" / f"{NAME}.png", depth)
    (base / "calib").mkdir(parents=True, exist_ok=True)
    (base / "calib" / f"{NAME}.txt").write_text(",".join(repr(v) for v in CALIB) + "\n")
    write_png(base / "mask_invalid" / f"{NAME}.png", mask_with_zeros(INVALID), bilevel=True)
    write_png(base / "mask_transp" / f"{NAME}.png", mask_with_zeros(TRANSPARENT), bilevel=True)
    for plane in ("mask_wall", "mask_table", "mask_floor"):
        write_png(base / plane / f"{NAME}.png", np.zeros((HEIGHT, WIDTH), np.uint8), bilevel=True)
    (root / "imagelist.txt").write_text(f"{NAME}\n")
    return root
