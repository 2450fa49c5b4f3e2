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
    """(flat pixel index, z) of the points in front of the camera that land inside the image."""
    points = np.asarray(points, dtype=np.float64)[:, :3]
    if t_cam_from_points is not None:
        t = np.asarray(t_cam_from_points, dtype=np.float64)
        points = points @ t[:3, :3].T + t[:3, 3]
    z = points[:, 2]
    front = z > min_depth_m  # behind the camera (or on its plane) never projects
    points, z = points[front], z[front]
    u = np.rint(k.fx * points[:, 0] / z + k.cx)
    v = np.rint(k.fy * points[:, 1] / z + k.cy)
    h, w = shape
    inside = (u >= 0) & (u < w) & (v >= 0) & (v < h)
    index = v[inside].astype(np.int64) * w + u[inside].astype(np.int64)
    return index, z[inside].astype(np.float32)


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


def project_points_reference(points: np.ndarray, k: Intrinsics, t_cam_from_points: np.ndarray | None,
                             shape: tuple[int, int], min_depth_m: float = 1e-3) -> tuple[np.ndarray, np.ndarray]:
    """Straightforward z-buffer: sort far-to-near and assign, so nearer points overwrite (bench baseline)."""
    index, z = to_pixels(points, k, t_cam_from_points, shape, min_depth_m)
    order = np.argsort(-z, kind="stable")
    depth = np.zeros(shape[0] * shape[1], np.float32)
    for start in range(0, order.size, 1 << 20):  # numpy's fancy assignment is last-write-wins
        chunk = order[start:start + (1 << 20)]
        depth[index[chunk]] = z[chunk]
    depth = depth.reshape(shape)
    return depth, depth > 0
