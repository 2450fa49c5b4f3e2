"""The in-memory sample record: decoded arrays plus metadata."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from .fields import DEFAULT_DEPTH_SCALE, DepthGtKind, Source, Split


def is_number(value: Any) -> bool:
    """An int or float (numpy's too), but not a bool: JSON's ``true`` is no depth scale or statistic."""
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)


@dataclass(frozen=True)
class Intrinsics:
    """Pinhole intrinsics in pixels at the resolution the map is stored at."""

    fx: float
    fy: float
    cx: float
    cy: float

    def as_list(self) -> list[float]:
        return [float(self.fx), float(self.fy), float(self.cx), float(self.cy)]

    def matrix(self) -> np.ndarray:
        return np.array([[self.fx, 0, self.cx], [0, self.fy, self.cy], [0, 0, 1]], dtype=np.float64)

    def scaled(self, sx: float, sy: float) -> "Intrinsics":
        """Intrinsics after resizing the image by (sx, sy), pixel-centre convention."""
        return Intrinsics(self.fx * sx, self.fy * sy, (self.cx + 0.5) * sx - 0.5, (self.cy + 0.5) * sy - 0.5)

    @classmethod
    def from_any(cls, value: Any) -> "Intrinsics":
        if isinstance(value, Intrinsics):
            return value
        if isinstance(value, dict):
            return cls(*(float(value[k]) for k in ("fx", "fy", "cx", "cy")))
        arr = np.asarray(value, dtype=np.float64)
        if arr.shape == (3, 3):
            return cls(arr[0, 0], arr[1, 1], arr[0, 2], arr[1, 2])
        if arr.shape == (4,):
            return cls(*arr.tolist())
        raise ValueError(f"cannot read intrinsics from shape {arr.shape}; give fx,fy,cx,cy or a 3x3 K")


@dataclass(frozen=True)
class DepthEncoding:
    """How a depth map is stored: 16-bit PNG units × scale (metres), or float32 ``.npy``."""

    format: str = "png16"            # "png16" or "npy"
    scale: float = DEFAULT_DEPTH_SCALE

    def __post_init__(self):
        if self.format not in ("png16", "npy"):
            raise ValueError(f"depth encoding format must be 'png16' or 'npy', not {self.format!r}")
        if not (is_number(self.scale) and self.scale > 0 and np.isfinite(self.scale)):
            raise ValueError(f"depth_scale must be a positive finite number, not {self.scale!r}")


@dataclass
class Sample:
    """One RGB-D observation (docs/data-format.md). Depth maps are float32 metres, 0 = invalid."""

    key: str
    source: Source | str
    dataset: str
    rgb: np.ndarray
    K_rgb: Intrinsics
    depth_raw: np.ndarray | None = None
    depth_gt: np.ndarray | None = None
    depth_gt_kind: DepthGtKind | str | None = None
    scene_id: str = ""
    scene_category: str = "unknown"
    device: str = ""
    split: Split | str = Split.TRAIN
    ir_left: np.ndarray | None = None
    ir_right: np.ndarray | None = None
    disparity_gt: np.ndarray | None = None
    instance_mask: np.ndarray | None = None
    material_mask: np.ndarray | None = None
    depth_raw_filtered: np.ndarray | None = None
    K_ir: Intrinsics | None = None
    baseline_m: float | None = None
    T_rgb_from_ir: np.ndarray | None = None
    stats: dict[str, float] = field(default_factory=dict)
    provenance: dict[str, Any] = field(default_factory=dict)
    #: per depth field: how it is encoded on disk and in shards
    depth_encoding: dict[str, DepthEncoding] = field(default_factory=dict)
    #: "png" or "jpeg" for the RGB image
    rgb_format: str = "png"

    def encoding_of(self, name: str) -> DepthEncoding:
        return self.depth_encoding.get(name, DepthEncoding())

    def maps(self) -> dict[str, np.ndarray]:
        """The image-like fields that are present, by name."""
        from .fields import MAP_FIELDS

        return {f.name: getattr(self, f.name) for f in MAP_FIELDS if getattr(self, f.name) is not None}

    def replace(self, **changes: Any) -> "Sample":
        return replace(self, **changes)

    @property
    def height(self) -> int:
        return int(self.rgb.shape[0])

    @property
    def width(self) -> int:
        return int(self.rgb.shape[1])
