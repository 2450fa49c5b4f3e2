"""Pictures of the report's cases, in the colours of ``depthcur.core.pictures``: sparse inputs made
visible, the relative error of a prediction, PNG files scaled down for the page."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from depthcur.core.pictures import depth_colormap, error_colormap
from depthcur.schemas import write_bytes_atomic
from depthcur.schemas.codecs import encode_rgb

ERROR_CAP = 0.2            # AbsRel at which the error colormap saturates


def sparse_depth_image(depth: np.ndarray, near: float, far: float) -> np.ndarray:
    """Sparse inputs (points, LiDAR lines) dilated 1 px so single points are visible."""
    if (depth > 0).mean() < 0.05:
        depth = cv2.dilate(depth, np.ones((3, 3), np.uint8))
    return depth_colormap(depth, near, far)


def error_image(pred: np.ndarray, gt: np.ndarray) -> np.ndarray:
    """|pred - gt| / gt, black (0) to yellow (>= ERROR_CAP); grey where GT or prediction is missing."""
    valid = (gt > 0) & (pred > 0)
    rel = np.where(valid, np.abs(pred - gt) / np.where(gt > 0, gt, 1), 0)
    return error_colormap(rel, ERROR_CAP, valid)


def write_png(path: Path, rgb: np.ndarray, max_width: int = 320) -> None:
    """Write an RGB image, downscaled to ``max_width`` so the report stays light."""
    h, w = rgb.shape[:2]
    if w > max_width:
        rgb = cv2.resize(rgb, (max_width, max(1, round(h * max_width / w))), interpolation=cv2.INTER_AREA)
    write_bytes_atomic(path, encode_rgb(rgb))
