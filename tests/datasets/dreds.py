"""A tiny DREDS + STD copy in SwinDRNet's layout.

``DREDS-CatKnown/test/00000/0000_*`` (simulated: ``_simDepthImage.exr``, ``_depth_120.exr``,
``_mask.exr`` holding instance/255) and ``STD-CatKnown/test_0/0000_*`` (real: ``_depth_415.exr``,
``_gt_depth.exr``, ``_mask.png`` holding the instance index). The depth grid is ``DEPTH_W``×``DEPTH_H``
(16:9 like the real 640×360), the colour image twice that (like 1280×720). Depth = base + STEP·column m.
Instances: ``GLASS`` (index 1, material 2), ``METAL`` (index 2, material 3), ``BOX`` (index 3,
material 0); the rest is 255, listed in no meta line. DREDS meta lines have 13 words (index label
folder name scale material quaternion translation), STD lines 3 (index label material).
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from depthcur.curate.io.files import write_exr_depth

DEPTH_W, DEPTH_H = 32, 18
RAW_BASE, GT_BASE, STEP = 0.4, 0.45, 0.005
GLASS, METAL, BOX = (slice(2, 6), slice(3, 9)), (slice(8, 12), slice(12, 20)), (slice(13, 16), slice(24, 30))
INSTANCES = ((1, GLASS, 2), (2, METAL, 3), (3, BOX, 0))     # (index, region, material code)


def depth_rows(base: float) -> np.ndarray:
    return np.repeat((base + STEP * np.arange(DEPTH_W, dtype=np.float32))[None], DEPTH_H, axis=0).astype(np.float32)


def instance_index() -> np.ndarray:
    index = np.full((DEPTH_H, DEPTH_W), 255, np.uint8)
    for value, region, _ in INSTANCES:
        index[region] = value
    return index


def write_frame(folder: Path, raw_suffix: str, gt_suffix: str, real: bool, seed: int) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    rgb = np.random.default_rng(seed).integers(0, 255, (2 * DEPTH_H, 2 * DEPTH_W, 3), dtype=np.uint8)
    cv2.imwrite(str(folder / "0000_color.png"), rgb)
    write_exr_depth(folder / f"0000{raw_suffix}", depth_rows(RAW_BASE), channels=3)
    write_exr_depth(folder / f"0000{gt_suffix}", depth_rows(GT_BASE), channels=3)
    if real:
        cv2.imwrite(str(folder / "0000_mask.png"), instance_index())
        lines = [f"{value} {value + 4} {material}" for value, _, material in INSTANCES]
    else:
        write_exr_depth(folder / "0000_mask.exr", instance_index().astype(np.float32) / 255, channels=3)
        lines = [f"{value} {value + 4} 02876657 obj_{value} 0.12 {material} 1 0 0 0 0.1 0.2 0.3"
                 for value, _, material in INSTANCES]
    (folder / "0000_meta.txt").write_text("\n".join(lines) + "\n")


def build(root: Path) -> Path:
    write_frame(root / "DREDS-CatKnown" / "test" / "00000", "_simDepthImage.exr", "_depth_120.exr", False, 0)
    write_frame(root / "STD-CatKnown" / "test_0", "_depth_415.exr", "_gt_depth.exr", True, 1)
    return root
