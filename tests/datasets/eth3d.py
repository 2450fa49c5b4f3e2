"""A tiny ETH3D high-res multi-view scene (DSLR, undistorted) with one 16×12 image.

``courtyard/images/dslr_images_undistorted/DSC_0286.JPG``, the COLMAP text model in
``courtyard/dslr_calibration_undistorted/`` and the raw float32 ground truth
``courtyard/ground_truth_depth/dslr_images/DSC_0286.JPG`` (row-major, +inf = no laser depth).
The image's pose turns the world 90° about z (qw = qz = √½) then shifts it by ``T``; it observes
point ``SEEN_ID`` (and a keypoint with no 3D point, id -1); point ``UNSEEN_ID`` is in points3D.txt
but not observed by this image, so it must not appear in depth_raw.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

SCENE = "courtyard"
IMAGE = "DSC_0286.JPG"
WIDTH, HEIGHT = 16, 12
#: COLMAP PINHOLE parameters (pixel centres at +0.5)
FX, FY, CX, CY = 20.0, 21.0, 8.5, 6.5
QW, QX, QY, QZ = math.sqrt(0.5), 0.0, 0.0, math.sqrt(0.5)
T = (0.1, -0.2, 0.5)
SEEN_ID, SEEN_XYZ = 7, (0.3, -0.4, 2.0)
UNSEEN_ID, UNSEEN_XYZ = 8, (0.0, 0.0, 3.0)
#: ground truth: every pixel GT_DEPTH_M but these
GT_DEPTH_M = 4.5
GT_AT = {(3, 4): 6.25, (0, 0): math.inf, (11, 15): 0.0}


def build(root: Path) -> Path:
    import cv2

    scene = root / SCENE
    images = scene / "images" / "dslr_images_undistorted"
    calib = scene / "dslr_calibration_undistorted"
    gt = scene / "ground_truth_depth" / "dslr_images"
    for folder in (images, calib, gt):
        folder.mkdir(parents=True, exist_ok=True)
    rgb = np.random.default_rng(4).integers(0, 256, (HEIGHT, WIDTH, 3), dtype=np.uint8)
    cv2.imwrite(str(images / IMAGE), rgb[..., ::-1])
    (calib / "cameras.txt").write_text(
        "# Camera list with one line of data per camera:\n"
        "#   CAMERA_ID, MODEL, WIDTH, HEIGHT, PARAMS[]\n# Number of cameras: 1\n"
        f"0 PINHOLE {WIDTH} {HEIGHT} {FX} {FY} {CX} {CY}\n")
    (calib / "images.txt").write_text(
        "# Image list with two lines of data per image:\n"
        "#   IMAGE_ID, QW, QX, QY, QZ, TX, TY, TZ, CAMERA_ID, NAME\n"
        "#   POINTS2D[] as (X, Y, POINT3D_ID)\n# Number of images: 1, mean observations per image: 1\n"
        f"5 {QW!r} {QX} {QY} {QZ!r} {T[0]} {T[1]} {T[2]} 0 dslr_images_undistorted/{IMAGE}\n"
        f"12.1 7.3 {SEEN_ID} 3.2 1.1 -1\n")
    (calib / "points3D.txt").write_text(
        "# 3D point list with one line of data per point:\n"
        "#   POINT3D_ID, X, Y, Z, R, G, B, ERROR, TRACK[] as (IMAGE_ID, POINT2D_IDX)\n"
        f"{SEEN_ID} {SEEN_XYZ[0]} {SEEN_XYZ[1]} {SEEN_XYZ[2]} 120 110 100 0.4 5 0\n"
        f"{UNSEEN_ID} {UNSEEN_XYZ[0]} {UNSEEN_XYZ[1]} {UNSEEN_XYZ[2]} 10 20 30 0.7 9 3\n")
    depth = np.full((HEIGHT, WIDTH), GT_DEPTH_M, "<f4")
    for pixel, value in GT_AT.items():
        depth[pixel] = value
    (gt / IMAGE).write_bytes(depth.tobytes())
    return root
