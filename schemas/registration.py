"""Register depth onto the RGB pixel grid (the sample record keeps depth_raw there).

Shared by capture (a real device's depth stream) and render (a profile's SGM depth, seen from its
offset RGB camera).

Each valid depth pixel is back-projected with K_depth, moved by T_rgb_from_depth, projected with
K_rgb and splatted with a z-buffer (nearest surface wins).
"""

from __future__ import annotations

import numpy as np

from .record import Intrinsics


def _project_corners(rows, cols, z, K_depth: Intrinsics, K_rgb: Intrinsics, transform: np.ndarray, offset: float):
    """RGB pixel coordinates of the depth pixels' corners at (col + offset, row + offset)."""
    x = (cols + offset - K_depth.cx) / K_depth.fx * z
    y = (rows + offset - K_depth.cy) / K_depth.fy * z
    moved = transform[:3, :3] @ np.stack([x, y, z]) + transform[:3, 3:4]
    with np.errstate(divide="ignore", invalid="ignore"):
        u = K_rgb.fx * moved[0] / moved[2] + K_rgb.cx
        v = K_rgb.fy * moved[1] / moved[2] + K_rgb.cy
    return u, v, moved[2]


def register_depth_to_rgb(depth: np.ndarray, K_depth: Intrinsics, K_rgb: Intrinsics,
                          T_rgb_from_depth: np.ndarray, rgb_shape: tuple[int, int]) -> np.ndarray:
    """Depth (metres, 0 = invalid) seen from the RGB camera, shape ``rgb_shape``.

    Like librealsense's align: each depth pixel's two opposite corners are projected into the RGB
    image and the pixels between them (inclusive, rounded) take its depth, nearest surface winning.
    Neighbouring rectangles overlap by one pixel, so a sub-pixel shift or a finer RGB grid leaves
    no false holes."""
    height, width = rgb_shape
    transform = np.asarray(T_rgb_from_depth, dtype=np.float64)
    rows, cols = np.nonzero(depth > 0)
    z = depth[rows, cols].astype(np.float64)
    u0, v0, z0 = _project_corners(rows, cols, z, K_depth, K_rgb, transform, -0.5)
    u1, v1, z1 = _project_corners(rows, cols, z, K_depth, K_rgb, transform, 0.5)
    ahead = (z0 > 1e-6) & (z1 > 1e-6)
    x0, x1 = np.rint(np.minimum(u0, u1)[ahead]), np.rint(np.maximum(u0, u1)[ahead])
    y0, y1 = np.rint(np.minimum(v0, v1)[ahead]), np.rint(np.maximum(v0, v1)[ahead])
    zr = ((z0 + z1) / 2)[ahead]
    zbuffer = np.full(height * width, np.inf)
    if zr.size:
        x0, x1, y0, y1 = (np.clip(a, -1, max(height, width) + 1).astype(np.int64) for a in (x0, x1, y0, y1))
        for dy in range(int((y1 - y0).max()) + 1):
            for dx in range(int((x1 - x0).max()) + 1):
                uu, vv = x0 + dx, y0 + dy
                keep = (uu <= x1) & (vv <= y1) & (uu >= 0) & (uu < width) & (vv >= 0) & (vv < height)
                np.minimum.at(zbuffer, vv[keep] * width + uu[keep], zr[keep])
    zbuffer[~np.isfinite(zbuffer)] = 0.0
    return zbuffer.reshape(height, width).astype(np.float32)


def is_identity_registration(depth_shape, rgb_shape, K_depth: Intrinsics, K_rgb: Intrinsics,
                             T_rgb_from_depth: np.ndarray) -> bool:
    """True when depth already lies on the RGB grid (same size, intrinsics and pose)."""
    return (tuple(depth_shape) == tuple(rgb_shape[:2]) and np.allclose(K_depth.as_list(), K_rgb.as_list())
            and np.allclose(T_rgb_from_depth, np.eye(4)))
