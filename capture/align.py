"""Register camera depth onto the RGB pixel grid (the sample record keeps depth_raw there).

Each valid depth pixel is back-projected with K_depth, moved by T_rgb_from_depth, projected with
K_rgb and splatted with a z-buffer (nearest surface wins). When the RGB grid is finer than the
depth grid each point covers a footprint of ceil(scale) pixels so no false holes appear.
"""

from __future__ import annotations

import math

import numpy as np

from depthcur.schemas import Intrinsics


def register_depth_to_rgb(depth: np.ndarray, K_depth: Intrinsics, K_rgb: Intrinsics,
                          T_rgb_from_depth: np.ndarray, rgb_shape: tuple[int, int]) -> np.ndarray:
    """Depth (metres, 0 = invalid) seen from the RGB camera, shape ``rgb_shape``."""
    height, width = rgb_shape
    rows, cols = np.nonzero(depth > 0)
    z = depth[rows, cols].astype(np.float64)
    points = np.stack([(cols - K_depth.cx) / K_depth.fx * z, (rows - K_depth.cy) / K_depth.fy * z, z])
    transform = np.asarray(T_rgb_from_depth, dtype=np.float64)
    moved = transform[:3, :3] @ points + transform[:3, 3:4]
    zr = moved[2]
    ahead = zr > 1e-6
    u = K_rgb.fx * moved[0, ahead] / zr[ahead] + K_rgb.cx
    v = K_rgb.fy * moved[1, ahead] / zr[ahead] + K_rgb.cy
    zr = zr[ahead]
    footprint = max(1, math.ceil(max(K_rgb.fx / K_depth.fx, K_rgb.fy / K_depth.fy) - 1e-6))
    zbuffer = np.full(height * width, np.inf)
    base_u, base_v = np.floor(u - (footprint - 1) / 2 + 0.5).astype(np.int64), \
        np.floor(v - (footprint - 1) / 2 + 0.5).astype(np.int64)
    for dv in range(footprint):
        for du in range(footprint):
            uu, vv = base_u + du, base_v + dv
            inside = (uu >= 0) & (uu < width) & (vv >= 0) & (vv < height)
            np.minimum.at(zbuffer, vv[inside] * width + uu[inside], zr[inside])
    zbuffer[~np.isfinite(zbuffer)] = 0.0
    return zbuffer.reshape(height, width).astype(np.float32)


def is_identity_registration(depth_shape, rgb_shape, K_depth: Intrinsics, K_rgb: Intrinsics,
                             T_rgb_from_depth: np.ndarray) -> bool:
    """True when depth already lies on the RGB grid (same size, intrinsics and pose)."""
    return (tuple(depth_shape) == tuple(rgb_shape[:2]) and np.allclose(K_depth.as_list(), K_rgb.as_list())
            and np.allclose(T_rgb_from_depth, np.eye(4)))
