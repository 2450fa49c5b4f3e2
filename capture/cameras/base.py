"""The driver interface every camera implements, and the frame it returns.

Laid out like LeRobot's ``cameras/``: this small abstract base, then one folder per device
holding its ``config.py`` and ``camera.py``. Drivers import their SDK lazily, inside
``connect()``, so the package imports on machines without any camera SDK.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from depthcur.schemas import Intrinsics


class CaptureError(RuntimeError):
    """Any failure of a capture device; the message is meant for the operator."""


class SdkNotInstalledError(CaptureError):
    """The vendor SDK a driver needs cannot be imported."""


class DeviceNotFoundError(CaptureError):
    """No device (or not the requested serial) is connected."""


class DeviceReadError(CaptureError):
    """A connected device failed to deliver a frame (timeout, unplugged, corrupt)."""


class EndOfStream(CaptureError):
    """A recording or replay folder has no more frames."""


@dataclass
class Frame:
    """One synchronised observation of one device.

    ``depth_raw`` is the camera's own depth in metres (0 = invalid) in the depth stream's frame;
    ``registered_to_rgb`` says whether it already lies on the RGB pixel grid. The IR pair is the
    raw speckle stereo pair (left = the depth reference camera on active-stereo devices).
    """

    rgb: np.ndarray                       # H×W×3 uint8
    depth_raw: np.ndarray                 # h×w float32 metres
    K_rgb: Intrinsics
    K_depth: Intrinsics
    ir_left: np.ndarray | None = None     # h×w uint8/uint16
    ir_right: np.ndarray | None = None
    K_ir: Intrinsics | None = None
    baseline_m: float | None = None       # IR left -> right
    T_rgb_from_depth: np.ndarray = field(default_factory=lambda: np.eye(4))
    T_rgb_from_ir: np.ndarray = field(default_factory=lambda: np.eye(4))
    depth_units: float = 0.001            # metres per raw depth unit
    timestamps_ms: dict[str, float] = field(default_factory=dict)
    frame_number: int = 0
    serial: str = ""
    model: str = ""
    emitter_on: bool | None = None
    registered_to_rgb: bool = False

    def fill_rate(self) -> float:
        """Fraction of depth pixels with a valid measurement."""
        depth = self.depth_raw
        return float(np.count_nonzero(depth > 0)) / depth.size if depth.size else 0.0

    def nbytes(self) -> int:
        arrays = (self.rgb, self.depth_raw, self.ir_left, self.ir_right)
        return int(sum(a.nbytes for a in arrays if a is not None))


@dataclass
class DeviceInfo:
    """What a session file records about a device."""

    kind: str
    serial: str
    model: str
    firmware: str = ""
    calibration: dict[str, Any] = field(default_factory=dict)


class Camera(abc.ABC):
    """A connected RGB-D device. Use as a context manager or call connect()/disconnect()."""

    kind: str = "camera"

    @abc.abstractmethod
    def connect(self) -> None:
        """Open the device (import the SDK, start streams); raise CaptureError with a fix on failure."""

    @abc.abstractmethod
    def read(self) -> Frame:
        """Block until the next synchronised frame; raise DeviceReadError / EndOfStream."""

    @abc.abstractmethod
    def disconnect(self) -> None:
        """Stop streams and release the device; safe to call twice."""

    @abc.abstractmethod
    def set_emitter(self, on: bool) -> None:
        """Switch the IR projector / laser (no-op with a warning where the device has none)."""

    @abc.abstractmethod
    def info(self) -> DeviceInfo:
        """Serial, model, firmware and calibration of the connected device."""

    @property
    @abc.abstractmethod
    def is_connected(self) -> bool: ...

    def __enter__(self) -> "Camera":
        if not self.is_connected:
            self.connect()
        return self

    def __exit__(self, *exc) -> None:
        self.disconnect()


def rigid_transform(rotation: Any, translation: Any) -> np.ndarray:
    """4×4 transform from a row-major 3×3 rotation (9 numbers or 3×3) and a translation in metres."""
    t = np.eye(4)
    t[:3, :3] = np.asarray(rotation, dtype=np.float64).reshape(3, 3)
    t[:3, 3] = np.asarray(translation, dtype=np.float64).reshape(3)
    return t


def calibration_dict(frame: Frame) -> dict[str, Any]:
    """The calibration part of a frame as JSON (for session files and provenance)."""
    return {
        "K_rgb": frame.K_rgb.as_list(), "K_depth": frame.K_depth.as_list(),
        "K_ir": frame.K_ir.as_list() if frame.K_ir else None,
        "baseline_m": frame.baseline_m, "depth_units": frame.depth_units,
        "T_rgb_from_depth": np.asarray(frame.T_rgb_from_depth).tolist(),
        "T_rgb_from_ir": np.asarray(frame.T_rgb_from_ir).tolist(),
        "rgb_size": [int(frame.rgb.shape[1]), int(frame.rgb.shape[0])],
        "depth_size": [int(frame.depth_raw.shape[1]), int(frame.depth_raw.shape[0])],
    }
