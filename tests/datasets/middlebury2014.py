"""A tiny Middlebury 2014 scene in the distributed layout: ``<scene>/im0.png, im1.png, disp0.pfm, calib.txt``.

The right view is the left texture shifted by ``SHIFT_PX`` (right(x) = left(x + d)), so the GT
disparity d = SHIFT_PX holds for every pixel except ``ODD_PIXEL`` (GT ``ODD_DISPARITY``, a value
to check by hand) and row 0 (inf: unknown, as in the real files). calib.txt gives cam1's cx
``DOFFS`` pixels right of cam0's, so Z = BASELINE_MM·F / (d + DOFFS) mm.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

SCENE = "Fixture-perfect"
F, CX, CY = 100.0, 7.5, 5.5
DOFFS = 4.25
BASELINE_MM = 120.0
SHIFT_PX = 6
ODD_PIXEL, ODD_DISPARITY = (3, 2), 7.5


def texture(height: int, width: int, seed: int = 0) -> np.ndarray:
    """Random speckle, smoothed a little so a matcher has gradients to lock onto (uint8 RGB)."""
    import cv2

    noise = np.random.default_rng(seed).integers(0, 256, (height, width), dtype=np.uint8)
    gray = cv2.GaussianBlur(noise, (3, 3), 0.8)
    return np.dstack([gray, gray, (gray // 2 + 64).astype(np.uint8)])


def write_png(path: Path, image: np.ndarray) -> None:
    import cv2

    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), image[..., ::-1] if image.ndim == 3 else image)


def pfm_bytes(image: np.ndarray) -> bytes:
    """Little-endian 'Pf' as Middlebury writes it: scale -1, rows from the bottom up."""
    header = f"Pf\n{image.shape[1]} {image.shape[0]}\n-1\n".encode()
    return header + np.ascontiguousarray(image[::-1], dtype="<f4").tobytes()


def calib_text(width: int, height: int) -> str:
    return (f"cam0=[{F} 0 {CX}; 0 {F} {CY}; 0 0 1]\ncam1=[{F} 0 {CX + DOFFS}; 0 {F} {CY}; 0 0 1]\n"
            f"doffs={DOFFS}\nbaseline={BASELINE_MM}\nwidth={width}\nheight={height}\nndisp=32\nisint=0\n"
            f"vmin=5\nvmax=9\ndyavg=0\ndymax=0\n")


def build(root: Path, *, width: int = 16, height: int = 12) -> Path:
    scene = root / SCENE
    wide = texture(height, width + SHIFT_PX)
    write_png(scene / "im0.png", wide[:, :width])
    write_png(scene / "im1.png", wide[:, SHIFT_PX:SHIFT_PX + width])
    disparity = np.full((height, width), SHIFT_PX, np.float32)
    disparity[ODD_PIXEL] = ODD_DISPARITY
    disparity[0] = np.inf
    (scene / "disp0.pfm").write_bytes(pfm_bytes(disparity))
    (scene / "calib.txt").write_text(calib_text(width, height))
    return root
