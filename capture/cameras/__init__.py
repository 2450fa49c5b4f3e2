"""Device drivers behind one interface, and ``make_camera(SPEC)``.

SPEC is ``KIND`` or ``KIND:ARG``: ``realsense``, ``realsense:SERIAL``, ``realsense:FILE.db3``,
``orbbec[:SERIAL|:FILE.bag]``, ``zed[:SERIAL|:FILE.svo2]``, ``replay:DIR`` (raw sample folders)
or ``replay:FILE.db3`` (a RealSense recording).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import orbbec, realsense, replay, zed  # noqa: F401  (each registers its config and driver)
from .base import (Camera, CameraConfig, CaptureError, DeviceInfo, DeviceNotFoundError, DeviceReadError, EndOfStream,
                   Frame, SdkNotInstalledError, calibration_dict)

DEVICE_KINDS = CameraConfig.kinds()


@dataclass(frozen=True)
class DeviceSpec:
    kind: str
    arg: str | None = None

    def __str__(self) -> str:
        return self.kind if self.arg is None else f"{self.kind}:{self.arg}"


def parse_device_spec(spec: str) -> DeviceSpec:
    kind, _, arg = spec.strip().partition(":")
    kind = kind.lower()
    try:
        config_cls = CameraConfig.subclass_for(kind)
    except CaptureError as exc:
        raise CaptureError(f"device spec {spec!r}: {exc} (e.g. realsense, orbbec:SERIAL, replay:DIR)") from None
    if config_cls.spec_arg_required and not arg:
        raise CaptureError(f"device spec {spec!r}: {kind} needs {config_cls.spec_arg_required}")
    return DeviceSpec(kind, arg or None)


def driver_config_class(spec: DeviceSpec) -> type[CameraConfig]:
    """The config class of the driver that plays ``spec``; ``replay:FILE.db3`` is a RealSense recording."""
    if spec.kind == "replay" and Path(spec.arg).suffix.lower() == ".db3":
        return CameraConfig.subclass_for("realsense")
    return CameraConfig.subclass_for(spec.kind)


def make_camera(spec: str | DeviceSpec, options: dict[str, Any] | None = None, *, origin: str = "device") -> Camera:
    """A not-yet-connected driver for ``spec`` with extra config ``options``."""
    spec = parse_device_spec(spec) if isinstance(spec, str) else spec
    config_cls = driver_config_class(spec)
    options = config_cls.current_options(options or {}, origin)   # before the spec's ARG fills in a default
    if config_cls.kind != spec.kind:      # a recording given as replay: its fps is the recording's own
        options.pop("fps", None)
    if spec.arg is not None:
        for name, value in config_cls.spec_options(spec.arg).items():
            options.setdefault(name, value)
    return Camera.from_config(CameraConfig.from_dict({"kind": config_cls.kind, **options}, origin))


__all__ = ["Camera", "CameraConfig", "Frame", "DeviceInfo", "CaptureError", "SdkNotInstalledError",
           "DeviceNotFoundError", "DeviceReadError", "EndOfStream", "DeviceSpec", "DEVICE_KINDS", "parse_device_spec",
           "driver_config_class", "make_camera", "calibration_dict"]
