"""Device drivers behind one interface, and ``make_camera(SPEC)``.

SPEC is ``KIND`` or ``KIND:ARG``: ``realsense``, ``realsense:SERIAL``, ``realsense:FILE.db3``,
``orbbec[:SERIAL|:FILE.bag]``, ``zed[:SERIAL|:FILE.svo2]``, ``replay:DIR`` (raw sample folders)
or ``replay:FILE.db3`` (a RealSense recording).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .base import (Camera, CaptureError, DeviceInfo, DeviceNotFoundError, DeviceReadError, EndOfStream, Frame,
                   SdkNotInstalledError, calibration_dict)

DEVICE_KINDS = ("realsense", "orbbec", "zed", "replay")
RECORDING_SUFFIXES = {"realsense": (".db3",), "orbbec": (".bag",), "zed": (".svo", ".svo2")}


@dataclass(frozen=True)
class DeviceSpec:
    kind: str
    arg: str | None = None

    def __str__(self) -> str:
        return self.kind if self.arg is None else f"{self.kind}:{self.arg}"


def parse_device_spec(spec: str) -> DeviceSpec:
    kind, _, arg = spec.strip().partition(":")
    kind = kind.lower()
    if kind not in DEVICE_KINDS:
        raise CaptureError(f"device spec {spec!r}: unknown device kind {kind!r}; use one of "
                           f"{', '.join(DEVICE_KINDS)} (e.g. realsense, orbbec:SERIAL, replay:DIR)")
    if kind == "replay" and not arg:
        raise CaptureError(f"device spec {spec!r}: replay needs a folder or recording, e.g. replay:DIR")
    return DeviceSpec(kind, arg or None)


def _config(config_cls, values: dict[str, Any], origin: str):
    known = {f.name for f in dataclasses.fields(config_cls)}
    unknown = sorted(set(values) - known)
    if unknown:
        raise CaptureError(f"{origin}: unknown option(s) {', '.join(unknown)} for {config_cls.__name__}; "
                           f"known: {', '.join(sorted(known))}")
    return config_cls(**values)


def make_camera(spec: str | DeviceSpec, options: dict[str, Any] | None = None, *, origin: str = "device") -> Camera:
    """A not-yet-connected driver for ``spec`` with extra config ``options``."""
    spec = parse_device_spec(spec) if isinstance(spec, str) else spec
    options = dict(options or {})
    arg = spec.arg
    is_recording = arg is not None and Path(arg).suffix.lower() in RECORDING_SUFFIXES.get(spec.kind, ())
    if spec.kind == "replay" and Path(arg).suffix.lower() == ".db3":
        spec, is_recording = DeviceSpec("realsense", arg), True
        options.pop("fps", None)
    if spec.kind == "realsense":
        from .realsense import RealSenseCamera, RealSenseConfig

        options.setdefault("recording" if is_recording else "serial", arg)
        return RealSenseCamera(_config(RealSenseConfig, options, origin))
    if spec.kind == "orbbec":
        from .orbbec import OrbbecCamera, OrbbecConfig

        options.setdefault("playback" if is_recording else "serial", arg)
        return OrbbecCamera(_config(OrbbecConfig, options, origin))
    if spec.kind == "zed":
        from .zed import ZedCamera, ZedConfig

        if is_recording:
            options.setdefault("svo", arg)
        elif arg is not None:
            options.setdefault("serial", int(arg) if arg.isdigit() else arg)
        return ZedCamera(_config(ZedConfig, options, origin))
    from .replay import ReplayCamera, ReplayConfig

    options.setdefault("path", arg)
    return ReplayCamera(_config(ReplayConfig, options, origin))


__all__ = ["Camera", "Frame", "DeviceInfo", "CaptureError", "SdkNotInstalledError", "DeviceNotFoundError",
           "DeviceReadError", "EndOfStream", "DeviceSpec", "DEVICE_KINDS", "parse_device_spec", "make_camera",
           "calibration_dict"]
