"""The driver interface every camera implements, its settings, and the frame it returns.

Laid out like LeRobot's ``cameras/``: this small abstract base, then one folder per device
holding its ``config.py`` (a :class:`CameraConfig` registered under the device kind) and
``camera.py`` (a :class:`Camera` naming that config). Drivers import their SDK lazily, inside
``connect()``, so the package imports on machines without any camera SDK.
"""

from __future__ import annotations

import abc
import dataclasses
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, ClassVar, Mapping

import numpy as np

from depthcur.schemas import DEFAULT_DEPTH_SCALE, Intrinsics


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
class CameraConfig:
    """Settings every driver shares; a rig YAML's ``options`` are the fields of the device's config.

    Each driver's config subclasses this (overriding defaults, adding its own fields) and registers
    its kind with ``@CameraConfig.register_subclass(KIND)``, as LeRobot's camera configs do.
    """

    serial: str | None = None          # None = the only connected device
    width: int | None = None           # depth / IR stream size; None where the driver has no such setting
    height: int | None = None
    fps: float | None = None
    emitter: bool = True               # IR projector on at start (ignored by devices without one)

    kind: ClassVar[str] = ""
    #: suffixes of the recording files this driver plays back (``KIND:FILE`` sets ``recording``)
    recording_suffixes: ClassVar[tuple[str, ...]] = ()
    #: non-empty: a ``KIND:ARG`` spec must give ARG; says what ARG is
    spec_arg_required: ClassVar[str] = ""
    #: old option names still accepted, with a warning: old name -> field
    renamed_options: ClassVar[dict[str, str]] = {}
    _registry: ClassVar[dict[str, type[CameraConfig]]] = {}

    def __post_init__(self) -> None:
        if self.serial is not None:        # YAML reads an all-digit serial as a number
            self.serial = str(self.serial)

    @classmethod
    def register_subclass(cls, kind: str) -> Callable[[type[CameraConfig]], type[CameraConfig]]:
        """Class decorator: the config of device ``kind`` (the KIND of ``KIND:ARG`` specs)."""

        def register(subclass: type[CameraConfig]) -> type[CameraConfig]:
            if kind in cls._registry:
                raise ValueError(f"camera kind {kind!r} is registered twice")
            subclass.kind = kind
            cls._registry[kind] = subclass
            return subclass

        return register

    @classmethod
    def kinds(cls) -> tuple[str, ...]:
        return tuple(cls._registry)

    @classmethod
    def subclass_for(cls, kind: str) -> type[CameraConfig]:
        try:
            return cls._registry[kind]
        except KeyError:
            raise CaptureError(f"unknown device kind {kind!r}; use one of {', '.join(cls._registry)}") from None

    @classmethod
    def spec_options(cls, arg: str) -> dict[str, Any]:
        """The options the ARG of a ``KIND:ARG`` spec stands for: a recording file or a serial."""
        return {"recording" if Path(arg).suffix.lower() in cls.recording_suffixes else "serial": arg}

    @classmethod
    def current_options(cls, options: Mapping[str, Any], origin: str) -> dict[str, Any]:
        """``options`` under today's names; an old name still works, with a warning naming ``origin``."""
        current = dict(options)
        for old, new in cls.renamed_options.items():
            if old not in current:
                continue
            if new in current:
                raise CaptureError(f"{origin}: give {new!r} only ({old!r} is its old name)")
            warnings.warn(f"{origin}: the {cls.kind} option {old!r} is now called {new!r}; rename it, "
                          f"the old name will stop working", FutureWarning, stacklevel=3)
            current[new] = current.pop(old)
        return current

    @classmethod
    def from_dict(cls, values: Mapping[str, Any], origin: str = "camera config") -> CameraConfig:
        """``{"kind": KIND, **options}`` as that kind's config; every error names ``origin``."""
        options = dict(values)
        try:
            config_cls = cls.subclass_for(str(options.pop("kind", "")))
        except CaptureError as exc:
            raise CaptureError(f"{origin}: {exc}") from None
        options = config_cls.current_options(options, origin)
        known = {f.name for f in dataclasses.fields(config_cls)}
        unknown = sorted(set(options) - known)
        if unknown:
            raise CaptureError(f"{origin}: unknown option(s) {', '.join(unknown)} for {config_cls.__name__}; "
                               f"known: {', '.join(sorted(known))}")
        try:
            return config_cls(**options)
        except ValueError as exc:
            raise CaptureError(f"{origin}: {exc}") from None


def reject_stream_size(config: CameraConfig, how: str) -> None:
    """For drivers without a width/height setting: an error, not a silently ignored size."""
    if config.width is not None or config.height is not None:
        raise ValueError(f"{config.kind} has no width/height option; {how}")


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
    depth_scale: float = DEFAULT_DEPTH_SCALE   # metres per raw depth unit, as the record's depth_scale
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
    """A connected RGB-D device. Use as a context manager or call connect()/disconnect().

    A driver names its settings class in ``config_class``; that registers the driver under the
    config's kind, and :meth:`from_config` finds it there.
    """

    kind: ClassVar[str] = "camera"
    config_class: ClassVar[type[CameraConfig]]
    _by_kind: ClassVar[dict[str, type[Camera]]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "config_class" in cls.__dict__:
            cls.kind = cls.config_class.kind
            Camera._by_kind[cls.kind] = cls

    @staticmethod
    def from_config(config: CameraConfig) -> "Camera":
        """A not-yet-connected driver for ``config``."""
        return Camera._by_kind[config.kind](config)

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
        "baseline_m": frame.baseline_m, "depth_scale": frame.depth_scale,
        "T_rgb_from_depth": np.asarray(frame.T_rgb_from_depth).tolist(),
        "T_rgb_from_ir": np.asarray(frame.T_rgb_from_ir).tolist(),
        "rgb_size": [int(frame.rgb.shape[1]), int(frame.rgb.shape[0])],
        "depth_size": [int(frame.depth_raw.shape[1]), int(frame.depth_raw.shape[0])],
    }
