"""A tiny TransCG copy in the distributed layout: root ``metadata.json``, ``scene1`` (train, perspective 0
seen by both cameras), ``scene2`` (test, perspective 3 by the D435 only), ``camera_intrinsics/``.

Depth PNGs hold sensor units: D435 ``depth1.png`` = ``D435_UNITS + 10·column`` (÷1000 -> m),
L515 ``depth2.png`` = ``L515_UNITS + 40·column`` (÷4000 -> m); the GT PNGs add ``GT_OFFSET_UNITS``
(same scale). ``depth<c>-gt-mask.png`` is 255 on ``GLASS``.
"""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np

WIDTH, HEIGHT = 16, 12
D435_UNITS, L515_UNITS, GT_OFFSET_UNITS = 1000, 4000, 20
K_D435 = np.array([[9.0, 0, 7.5], [0, 9.5, 5.5], [0, 0, 1]])
K_L515 = np.array([[8.0, 0, 7.0], [0, 8.5, 6.0], [0, 0, 1]])
GLASS = (slice(2, 5), slice(6, 10))
SCENES = {1: ("train", [0], [0]), 2: ("test", [3], [])}   # id: (split, D435 perspectives, L515 perspectives)


def depth_units(base: int, step: int) -> np.ndarray:
    return np.repeat((base + step * np.arange(WIDTH))[None], HEIGHT, axis=0).astype(np.uint16)


def write_view(folder: Path, camera: int, base: int, step: int, seed: int) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    rgb = np.random.default_rng(seed).integers(0, 255, (HEIGHT, WIDTH, 3), dtype=np.uint8)
    cv2.imwrite(str(folder / f"rgb{camera}.png"), rgb)
    cv2.imwrite(str(folder / f"depth{camera}.png"), depth_units(base, step))
    cv2.imwrite(str(folder / f"depth{camera}-gt.png"), depth_units(base + GT_OFFSET_UNITS, step))
    mask = np.zeros((HEIGHT, WIDTH), np.uint8)
    mask[GLASS] = 255
    cv2.imwrite(str(folder / f"depth{camera}-gt-mask.png"), mask)


def build(root: Path) -> Path:
    (root / "camera_intrinsics").mkdir(parents=True, exist_ok=True)
    np.save(root / "camera_intrinsics" / "camIntrinsics-D435.npy", K_D435)
    np.save(root / "camera_intrinsics" / "camIntrinsics-L515.npy", K_L515)
    counts = {"train": 0, "test": 0}
    for scene, (split, d435, l515) in SCENES.items():
        for p in d435:
            write_view(root / f"scene{scene}" / str(p), 1, D435_UNITS, 10, scene)
        for p in l515:
            write_view(root / f"scene{scene}" / str(p), 2, L515_UNITS, 40, scene + 10)
        counts[split] += len(d435) + len(l515)
        (root / f"scene{scene}" / "metadata.json").write_text(json.dumps(
            {"scene_id": scene, "type": "cluttered", "split": split, "D435_valid_perspective_list": d435,
             "L515_valid_perspective_list": l515}))
    (root / "metadata.json").write_text(json.dumps(
        {"total_scenes": len(SCENES), "perspective_num": 240,
         "train": [s for s, v in SCENES.items() if v[0] == "train"],
         "test": [s for s, v in SCENES.items() if v[0] == "test"],
         "train_samples": counts["train"], "test_samples": counts["test"]}))
    return root
