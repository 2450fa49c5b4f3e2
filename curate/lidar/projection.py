"""Pinhole projection of 3D points with a z-buffer, and its inverse."""

from __future__ import annotations

import numpy as np

from depthcur.schemas import Intrinsics


def backproject_depth(depth: np.ndarray, k: Intrinsics) -> np.ndarray:
    """(N, 3) camera-frame points of the valid pixels of a planar depth map."""
    v, u = np.nonzero(depth > 0)
    z = depth[v, u].astype(np.float64)
    return np.stack([(u - k.cx) * z / k.fx, (v - k.cy) * z / k.fy, z], axis=1)


def to_pixels(points: np.ndarray, k: Intrinsics, t_cam_from_points: np.ndarray | None, shape: tuple[int, int],
              min_depth_m: float = 1e-3) -> tuple[np.ndarray, np.ndarray]:
    """(flat pixel index, z) of the points in front of the camera that land inside the image.

    Speed without changing a value: the points are three coordinate rows (R @ Pᵀ is the same BLAS
    product as P @ Rᵀ, laid out so each coordinate is contiguous); every point is projected and the
    kept ones are selected once at the end (one index list instead of a boolean copy per step); the
    flat index v·w + u is formed in float64 (exact below 2^53 pixels) and converted once.
    """
    xyz = np.asarray(points)[:, :3].astype(np.float64).T
    if t_cam_from_points is not None:
        t = np.asarray(t_cam_from_points, dtype=np.float64)
        xyz = t[:3, :3] @ xyz
        xyz += t[:3, 3:]
    x, y, z = xyz
    with np.errstate(divide="ignore", invalid="ignore"):   # points behind the camera are projected, then dropped
        u = np.rint(k.fx * x / z + k.cx)
        v = np.rint(k.fy * y / z + k.cy)
    h, w = shape
    # behind the camera (or on its plane) never projects; NaN fails every comparison
    kept = np.flatnonzero((z > min_depth_m) & (u >= 0) & (u < w) & (v >= 0) & (v < h))
    return (v.take(kept) * w + u.take(kept)).astype(np.int64), z.take(kept).astype(np.float32)


def project_points(points: np.ndarray, k: Intrinsics, t_cam_from_points: np.ndarray | None,
                   shape: tuple[int, int], min_depth_m: float = 1e-3) -> tuple[np.ndarray, np.ndarray]:
    """Sparse planar depth (float32 m, 0 = empty) and validity mask; the nearest point wins each pixel.

    The z-buffer is one unbuffered ``np.minimum.at`` scatter (no sort needed).
    """
    index, z = to_pixels(points, k, t_cam_from_points, shape, min_depth_m)
    depth = np.full(shape[0] * shape[1], np.inf, np.float32)
    np.minimum.at(depth, index, z)
    depth[np.isinf(depth)] = 0.0
    depth = depth.reshape(shape)
    return depth, depth > 0
