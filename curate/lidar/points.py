"""Point-cloud readers: KITTI ``.bin`` (float32 x,y,z,intensity), ``.npy``, ``.pcd``/``.ply`` (open3d)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from depthcur.schemas import SchemaError


def read_kitti_bin(path: Path) -> np.ndarray:
    size = path.stat().st_size
    if size % 16:
        raise SchemaError(f"truncated KITTI point file: {size} bytes is not a multiple of 16 "
                          f"(4 float32 x, y, z, intensity per point)", field="points", path=str(path))
    return np.fromfile(path, dtype=np.float32).reshape(-1, 4)[:, :3]


def read_npy_points(path: Path) -> np.ndarray:
    try:
        points = np.load(path, allow_pickle=False)
    except (ValueError, EOFError, OSError) as exc:
        raise SchemaError(f"unreadable .npy point file ({exc})", field="points", path=str(path)) from exc
    if points.ndim != 2 or points.shape[1] < 3:
        raise SchemaError(f"expected an N×3 (or N×4) array of points, got shape {points.shape}", field="points",
                          path=str(path))
    return points[:, :3].astype(np.float32)


def read_open3d_points(path: Path) -> np.ndarray:
    import open3d as o3d

    cloud = o3d.io.read_point_cloud(str(path))
    points = np.asarray(cloud.points, dtype=np.float32)
    if points.size == 0:
        raise SchemaError("open3d read no points (empty, corrupt or unsupported file)", field="points",
                          path=str(path))
    return points


def read_points(path: str | Path) -> np.ndarray:
    """(N, 3) float32 points in the sensor frame."""
    path = Path(path)
    if not path.is_file():
        raise SchemaError("point file does not exist", field="points", path=str(path))
    readers = {".bin": read_kitti_bin, ".npy": read_npy_points, ".pcd": read_open3d_points,
               ".ply": read_open3d_points}
    reader = readers.get(path.suffix.lower())
    if reader is None:
        raise SchemaError(f"unsupported point-cloud extension {path.suffix!r}; use .bin, .npy, .pcd or .ply",
                          field="points", path=str(path))
    return reader(path)
