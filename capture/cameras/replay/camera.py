"""Replay driver: plays raw sample folders at a chosen fps so everything runs without hardware.

Each sample becomes one frame: its ``depth_raw`` (already on the RGB grid), RGB, IR pair and
calibration. ``.db3`` recordings are played by the RealSense driver (``make_camera`` routes
``replay:FILE.db3`` there).
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from depthcur.core.progress import get_logger
from depthcur.schemas import Sample, SchemaError, read_sample, scan_samples

from ..base import Camera, CaptureError, DeviceInfo, DeviceNotFoundError, EndOfStream, Frame, calibration_dict
from .config import ReplayConfig

log = get_logger(__name__)


def frame_from_sample(sample: Sample, *, frame_number: int, serial: str, model: str = "replay") -> Frame:
    depth = sample.depth_raw
    if depth is None:
        raise CaptureError(f"replay: sample {sample.key} has no depth_raw to replay as camera depth")
    return Frame(rgb=sample.rgb, depth_raw=depth, K_rgb=sample.K_rgb, K_depth=sample.K_rgb,
                 ir_left=sample.ir_left, ir_right=sample.ir_right, K_ir=sample.K_ir, baseline_m=sample.baseline_m,
                 T_rgb_from_ir=np.asarray(sample.T_rgb_from_ir if sample.T_rgb_from_ir is not None else np.eye(4)),
                 depth_scale=sample.encoding_of("depth_raw").scale,
                 timestamps_ms={"rgb": time.time() * 1000.0}, frame_number=frame_number, serial=serial,
                 model=model, registered_to_rgb=True)


class ReplayCamera(Camera):
    config_class = ReplayConfig

    def __init__(self, config: ReplayConfig):
        self.config = config
        self._paths: list[Path] = []
        self._cache: dict[Path, Sample] = {}
        self._next = 0
        self._frame_number = 0
        self._due = 0.0
        self._connected = False
        self._emitter_on = config.emitter

    @property
    def is_connected(self) -> bool:
        return self._connected

    @property
    def serial(self) -> str:
        return self.config.serial or f"replay-{Path(self.config.path).name}"

    def connect(self) -> None:
        root = Path(self.config.path)
        try:
            scan = scan_samples(root)
        except SchemaError as exc:
            raise DeviceNotFoundError(f"replay: {exc}") from exc
        if not scan.samples:
            raise DeviceNotFoundError(f"replay: {root} holds no raw sample folders (folders with meta.json)")
        self._paths = scan.samples
        self._next, self._frame_number = 0, 0
        self._due = time.monotonic()
        self._connected = True

    def disconnect(self) -> None:
        self._connected = False

    def set_emitter(self, on: bool) -> None:
        log.debug("replay: emitter %s requested; replayed IR is what was recorded", "on" if on else "off")
        self._emitter_on = bool(on)

    def _sample(self, path: Path) -> Sample:
        if path not in self._cache:
            try:
                self._cache[path] = read_sample(path)
            except SchemaError as exc:
                raise CaptureError(f"replay: cannot read {path}: {exc}") from exc
        return self._cache[path]

    def _pace(self) -> None:
        if not self.config.fps:
            return
        now = time.monotonic()
        if self._due > now:
            time.sleep(self._due - now)
        self._due = max(self._due, now) + 1.0 / self.config.fps

    def read(self) -> Frame:
        if not self._connected:
            raise CaptureError("replay: read() before connect()")
        if self._next >= len(self._paths):
            if not self.config.loop:
                raise EndOfStream(f"replay: all {len(self._paths)} samples of {self.config.path} were played")
            self._next = 0
        path = self._paths[self._next]
        self._next += 1
        self._pace()
        frame = frame_from_sample(self._sample(path), frame_number=self._frame_number, serial=self.serial)
        frame.emitter_on = self._emitter_on
        self._frame_number += 1
        return frame

    def info(self) -> DeviceInfo:
        if not self._connected:
            raise CaptureError("replay: info() before connect()")
        first = frame_from_sample(self._sample(self._paths[0]), frame_number=0, serial=self.serial)
        return DeviceInfo(kind=self.kind, serial=self.serial, model="replay",
                          calibration={**calibration_dict(first), "path": str(self.config.path),
                                       "samples": len(self._paths)})
