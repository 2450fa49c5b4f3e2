"""A tiny ScanNet++ copy: ``data/<SCENE>/iphone/`` with ``rgb/frame_00000{0,1}.jpg`` (``RGB_W``×``RGB_H``),
``depth/`` ARKit PNGs (``DEPTH_W``×``DEPTH_H`` uint16 mm; the same 7.5× ratio as 1920×1440 / 256×192),
``pose_intrinsic_imu.json`` and ``render_depth/frame_000000.png`` (the mesh render, RGB size, uint16 mm)
for frame 0 only; ``splits/nvs_sem_val.txt`` lists the scene.

ARKit depth = ``ARKIT_MM + 100·row + column`` mm; rendered GT = ``RENDER_MM + column`` mm with
``RENDER_HOLE`` 0.
"""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np

SCENE = "0a5c013435"
RGB_W, RGB_H, DEPTH_W, DEPTH_H = 60, 45, 8, 6
K = [[47.0, 0.0, 29.75], [0.0, 47.5, 22.25], [0.0, 0.0, 1.0]]
ARKIT_MM, RENDER_MM = 1500, 1400
RENDER_HOLE = (7, 11)
FRAMES = ("frame_000000", "frame_000001")


def build(root: Path) -> Path:
    iphone = root / "data" / SCENE / "iphone"
    for folder in ("rgb", "depth", "render_depth"):
        (iphone / folder).mkdir(parents=True, exist_ok=True)
    arkit = (ARKIT_MM + 100 * np.arange(DEPTH_H)[:, None] + np.arange(DEPTH_W)[None]).astype(np.uint16)
    for index, frame in enumerate(FRAMES):
        rgb = np.random.default_rng(index).integers(0, 255, (RGB_H, RGB_W, 3), dtype=np.uint8)
        cv2.imwrite(str(iphone / "rgb" / f"{frame}.jpg"), rgb)
        cv2.imwrite(str(iphone / "depth" / f"{frame}.png"), arkit)
    render = np.repeat((RENDER_MM + np.arange(RGB_W))[None], RGB_H, axis=0).astype(np.uint16)
    render[RENDER_HOLE] = 0
    cv2.imwrite(str(iphone / "render_depth" / f"{FRAMES[0]}.png"), render)
    pose = np.eye(4).tolist()
    (iphone / "pose_intrinsic_imu.json").write_text(json.dumps(
        {frame: {"timestamp": i / 60, "pose": pose, "aligned_pose": pose, "intrinsic": K, "imu": {}}
         for i, frame in enumerate(FRAMES)}))
    (root / "splits").mkdir(parents=True, exist_ok=True)
    (root / "splits" / "nvs_sem_val.txt").write_text(f"{SCENE}\n")
    return root
