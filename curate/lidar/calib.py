"""Camera intrinsics and T_cam←lidar from KITTI calibration files or a JSON file."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from depthcur.schemas import Intrinsics, SchemaError


@dataclass(frozen=True)
class LidarCalib:
    K: Intrinsics
    T_cam_from_lidar: np.ndarray   # 4×4
    width: int | None = None
    height: int | None = None


def parse_kitti_file(path: Path) -> dict[str, np.ndarray]:
    """``KEY: v v v ...`` lines -> {KEY: float array}; non-numeric lines (calib_time) are skipped."""
    values: dict[str, np.ndarray] = {}
    for line in path.read_text().splitlines():
        if ":" not in line:
            continue
        key, _, rest = line.partition(":")
        try:
            values[key.strip()] = np.array([float(x) for x in rest.split()], dtype=np.float64)
        except ValueError:
            continue
    return values


def need(values: dict[str, np.ndarray], path: Path, *names: str, size: int) -> np.ndarray:
    """The first present key of ``names`` with ``size`` numbers, or an error naming file and keys."""
    for name in names:
        if name in values:
            if values[name].size != size:
                raise SchemaError(f"key {name} has {values[name].size} numbers, expected {size}", field=name,
                                  path=str(path))
            return values[name]
    raise SchemaError(f"calibration is missing key {' or '.join(names)}", field=names[0], path=str(path))


def rigid(rotation: np.ndarray, translation: np.ndarray) -> np.ndarray:
    t = np.eye(4)
    t[:3, :3] = rotation.reshape(3, 3)
    t[:3, 3] = translation.reshape(3)
    return t


def read_kitti_calib(path: str | Path, camera: int = 2) -> LidarCalib:
    """KITTI calibration: a raw-data date folder (calib_cam_to_cam.txt + calib_velo_to_cam.txt) or one
    odometry/object ``calib.txt`` (P2, Tr/Tr_velo_to_cam, optional R0_rect)."""
    path = Path(path)
    if path.is_dir():
        cam_file, velo_file = path / "calib_cam_to_cam.txt", path / "calib_velo_to_cam.txt"
        for file in (cam_file, velo_file):
            if not file.is_file():
                raise SchemaError("KITTI calibration folder lacks this file", path=str(file))
        cam, velo = parse_kitti_file(cam_file), parse_kitti_file(velo_file)
        p = need(cam, cam_file, f"P_rect_0{camera}", size=12).reshape(3, 4)
        r_rect = need(cam, cam_file, "R_rect_00", size=9)
        velo_to_cam = rigid(need(velo, velo_file, "R", size=9), need(velo, velo_file, "T", size=3))
        size = cam.get(f"S_rect_0{camera}")
    else:
        if not path.is_file():
            raise SchemaError("calibration file does not exist", path=str(path))
        values = parse_kitti_file(path)
        p = need(values, path, f"P{camera}", f"P_rect_0{camera}", size=12).reshape(3, 4)
        r_rect = values.get("R0_rect", values.get("R_rect_00", np.eye(3).reshape(-1)))
        velo_to_cam = np.eye(4)
        velo_to_cam[:3, :] = need(values, path, "Tr_velo_to_cam", "Tr", size=12).reshape(3, 4)
        size = None
    # Rectified camera i: P_i = K [I | t_i], so x = K (R_rect · T_velo→cam0 · X + t_i) with t_i = K⁻¹ P_i[:, 3].
    rect = rigid(r_rect, np.zeros(3))
    shift = rigid(np.eye(3), np.linalg.solve(p[:, :3], p[:, 3]))
    k = Intrinsics(p[0, 0], p[1, 1], p[0, 2], p[1, 2])
    width, height = (int(size[0]), int(size[1])) if size is not None and size.size == 2 else (None, None)
    return LidarCalib(k, shift @ rect @ velo_to_cam, width, height)


def read_json_calib(path: str | Path) -> LidarCalib:
    """``{"K": [[3×3]] or {"fx","fy","cx","cy"}, "T_cam_from_lidar": [[4×4]], "width": W, "height": H}``."""
    path = Path(path)
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        raise SchemaError("calibration file does not exist", path=str(path)) from None
    except json.JSONDecodeError as exc:
        raise SchemaError(f"calibration is not valid JSON ({exc})", path=str(path)) from None
    for key in ("K", "T_cam_from_lidar"):
        if key not in data:
            raise SchemaError(f"calibration is missing key {key}", field=key, path=str(path))
    try:
        k = Intrinsics.from_any(data["K"])
        t = np.asarray(data["T_cam_from_lidar"], dtype=np.float64)
    except (ValueError, KeyError, TypeError) as exc:
        raise SchemaError(f"unreadable calibration value ({exc})", field="K", path=str(path)) from None
    if t.shape != (4, 4):
        raise SchemaError(f"T_cam_from_lidar must be 4×4, got {t.shape}", field="T_cam_from_lidar", path=str(path))
    return LidarCalib(k, t, data.get("width"), data.get("height"))


def read_calib(path: str | Path, camera: int = 2) -> LidarCalib:
    path = Path(path)
    return read_json_calib(path) if path.suffix.lower() == ".json" else read_kitti_calib(path, camera)
