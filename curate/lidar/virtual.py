"""A virtual n-line spinning LiDAR sampled from dense depth (MetricAnything-style sparse prompts).

The LiDAR sits at the camera centre with its spin axis along the camera's y axis. A ring at
elevation θ sweeps the cone y = -tan θ · sqrt(x² + z²), which images to the curve
v(u) = cy - fy · tan θ · sqrt(1 + ((u - cx)/fx)²). Azimuth steps pick the columns.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from depthcur.core.validate import Checked

from depthcur.schemas import Intrinsics


@dataclass
class VirtualLidarConfig(Checked):
    #: number of rings
    n_lines: int = field(default=32, metadata={"min": 1})
    #: elevation range of the rings in degrees (up is positive); None = the camera's vertical FOV
    elevation_deg: tuple[float, float] | None = field(default=None, metadata={"min": -90, "max": 90,
                                                                              "ordered": "<="})
    #: azimuth step in degrees
    azimuth_step_deg: float = field(default=0.2, metadata={"above": 0, "max": 360})
    #: fraction of returns dropped
    dropout: float = field(default=0.0, metadata={"min": 0, "below": 1})
    #: farthest return kept (m)
    max_range_m: float = field(default=120.0, metadata={"above": 0})
    seed: int = field(default=0, metadata={"min": 0})


def ring_elevations(config: VirtualLidarConfig, k: Intrinsics, height: int) -> np.ndarray:
    if config.elevation_deg is None:
        top = np.degrees(np.arctan(k.cy / k.fy))
        bottom = -np.degrees(np.arctan((height - 1 - k.cy) / k.fy))
        low, high = bottom, top
    else:
        low, high = config.elevation_deg
    return np.radians(np.linspace(low, high, config.n_lines))


def scan_columns(config: VirtualLidarConfig, k: Intrinsics, width: int) -> np.ndarray:
    left, right = np.arctan((0 - k.cx) / k.fx), np.arctan((width - 1 - k.cx) / k.fx)
    azimuths = np.arange(left, right, np.radians(config.azimuth_step_deg))
    return np.unique(np.rint(k.cx + k.fx * np.tan(azimuths)).astype(np.int64))


def virtual_lidar(depth: np.ndarray, k: Intrinsics, config: VirtualLidarConfig = VirtualLidarConfig()) -> np.ndarray:
    """Sparse depth (0 = no return) holding the dense depth at the pixels an n-line LiDAR would hit."""
    h, w = depth.shape
    columns = scan_columns(config, k, w)
    stretch = np.sqrt(1 + ((columns - k.cx) / k.fx) ** 2)
    sparse = np.zeros_like(depth, dtype=np.float32)
    rng = np.random.default_rng(config.seed)
    for theta in ring_elevations(config, k, h):
        rows = np.rint(k.cy - k.fy * np.tan(theta) * stretch).astype(np.int64)
        inside = (rows >= 0) & (rows < h)
        keep = inside & (rng.random(columns.size) >= config.dropout)
        r, c = rows[keep], columns[keep]
        z = depth[r, c]
        ok = (z > 0) & (z <= config.max_range_m)
        sparse[r[ok], c[ok]] = z[ok]
    return sparse
