"""A tiny HAMMER processed-release copy: ``scene12_traj1_1`` (a test scene, frame 000000 with all three
sensors' depth) and ``scene3_traj2_1`` (a train scene, D435 depth only), each ``polarization/`` with
``rgb/``, ``_gt/``, ``depth_<sensor>/`` (uint16 mm) and ``intrinsics.txt`` (3×3 K, rows of numbers).

GT = ``GT_MM + column`` mm; sensor s = ``SENSOR_MM[s] + column`` mm with ``HOLE_PIXEL`` 0.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

WIDTH, HEIGHT = 16, 12
K = np.array([[20.5, 0, 7.25], [0, 21.0, 5.75], [0, 0, 1]])
GT_MM = 800
SENSOR_MM = {"d435": 830, "l515": 790, "tof": 900}
HOLE_PIXEL = (3, 4)
SEQUENCES = {"scene12_traj1_1": ("d435", "l515", "tof"), "scene3_traj2_1": ("d435",)}


def millimetres(base: int) -> np.ndarray:
    return np.repeat((base + np.arange(WIDTH))[None], HEIGHT, axis=0).astype(np.uint16)


def build(root: Path) -> Path:
    for index, (sequence, sensors) in enumerate(SEQUENCES.items()):
        view = root / sequence / "polarization"
        for folder in ("rgb", "_gt", *(f"depth_{s}" for s in sensors)):
            (view / folder).mkdir(parents=True, exist_ok=True)
        (view / "intrinsics.txt").write_text("".join(" ".join(f"{v:.6f}" for v in row) + "\n" for row in K))
        rgb = np.random.default_rng(index).integers(0, 255, (HEIGHT, WIDTH, 3), dtype=np.uint8)
        cv2.imwrite(str(view / "rgb" / "000000.png"), rgb)
        cv2.imwrite(str(view / "_gt" / "000000.png"), millimetres(GT_MM))
        for sensor in sensors:
            depth = millimetres(SENSOR_MM[sensor])
            depth[HOLE_PIXEL] = 0
            cv2.imwrite(str(view / f"depth_{sensor}" / "000000.png"), depth)
    return root
