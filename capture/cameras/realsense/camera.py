"""Intel RealSense driver on ``pyrealsense2``: live devices and ``.db3`` recordings.

The IR pair comes from streams ``infrared`` 1 (left, the depth reference) and 2 (right) in
y8; the baseline is the length of the IR1→IR2 extrinsic translation; depth units come from the
depth sensor's ``depth_units`` option.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np

from depthcur.progress import get_logger
from depthcur.schemas import Intrinsics

from ..base import (Camera, CaptureError, DeviceInfo, DeviceNotFoundError, DeviceReadError, EndOfStream, Frame,
                    SdkNotInstalledError, rigid_transform)
from .config import RealSenseConfig

log = get_logger(__name__)

SDK_HINT = ("install the RealSense SDK's Python binding with `pip install pyrealsense2==2.59.1.11053` "
            "(on Linux it also needs `apt-get install libusb-1.0-0`)")
#: framesets whose streams disagree are dropped; give up after this many in a row
MAX_UNSYNCED = 10
PLAYBACK_POLL_MS = 100


def import_pyrealsense2():
    try:
        import pyrealsense2 as rs
    except ImportError as exc:
        raise SdkNotInstalledError(f"realsense: pyrealsense2 cannot be imported ({exc}); {SDK_HINT}") from exc
    return rs


def intrinsics_of(profile) -> Intrinsics:
    k = profile.as_video_stream_profile().get_intrinsics()
    return Intrinsics(k.fx, k.fy, k.ppx, k.ppy)


def transform_between(source_profile, target_profile) -> np.ndarray:
    """4×4 T_target_from_source; librealsense stores the rotation column-major."""
    ext = source_profile.get_extrinsics_to(target_profile)
    return rigid_transform(np.reshape(ext.rotation, (3, 3)).T, ext.translation)


class RealSenseCamera(Camera):
    kind = "realsense"

    def __init__(self, config: RealSenseConfig | None = None):
        self.config = config or RealSenseConfig()
        self._rs = None
        self._pipeline = None
        self._profile = None
        self._calibration: dict[str, Any] = {}
        self._emitter_on: bool | None = None
        self._info: DeviceInfo | None = None

    # -------------------------------------------------------------- lifecycle

    @property
    def is_connected(self) -> bool:
        return self._pipeline is not None

    @property
    def is_playback(self) -> bool:
        return self.config.recording is not None

    def connect(self) -> None:
        rs = self._rs = import_pyrealsense2()
        rs_config = rs.config()
        if self.is_playback:
            path = Path(self.config.recording)
            if not path.is_file():
                raise DeviceNotFoundError(f"realsense: recording {path} does not exist")
            rs_config.enable_device_from_file(str(path), repeat_playback=False)
        else:
            rs_config.enable_device(self._find_serial(rs))
            c = self.config
            rs_config.enable_stream(rs.stream.depth, c.width, c.height, rs.format.z16, c.fps)
            rs_config.enable_stream(rs.stream.infrared, 1, c.width, c.height, rs.format.y8, c.fps)
            rs_config.enable_stream(rs.stream.infrared, 2, c.width, c.height, rs.format.y8, c.fps)
            rs_config.enable_stream(rs.stream.color, c.color_width, c.color_height, rs.format.rgb8, c.fps)
        pipeline = rs.pipeline()
        try:
            self._profile = pipeline.start(rs_config)
        except RuntimeError as exc:
            source = f"recording {self.config.recording}" if self.is_playback else "device"
            raise CaptureError(f"realsense: cannot start the {source}: {exc}") from exc
        self._pipeline = pipeline
        device = self._profile.get_device()
        if self.is_playback:
            device.as_playback().set_real_time(self.config.real_time)
        else:
            self.set_emitter(self.config.emitter)
        self._calibration = self._read_calibration()
        self._info = self._read_info()

    def _find_serial(self, rs) -> str:
        serials = [d.get_info(rs.camera_info.serial_number) for d in rs.context().query_devices()]
        if not serials:
            raise DeviceNotFoundError("realsense: no RealSense device is connected; plug one into a USB 3 port "
                                      "(check with `rs-enumerate-devices`), or use `--device replay:DIR`")
        if self.config.serial is None:
            if len(serials) > 1:
                raise DeviceNotFoundError(f"realsense: {len(serials)} devices connected ({', '.join(serials)}); "
                                          f"choose one with `realsense:SERIAL`")
            return serials[0]
        if self.config.serial not in serials:
            raise DeviceNotFoundError(f"realsense: no device with serial {self.config.serial}; "
                                      f"connected: {', '.join(serials)}")
        return self.config.serial

    def disconnect(self) -> None:
        if self._pipeline is not None:
            try:
                self._pipeline.stop()
            except RuntimeError:
                pass  # already stopped (e.g. playback ended)
            self._pipeline = None

    # -------------------------------------------------------------- calibration

    def _stream(self, stream, index: int = -1):
        return self._profile.get_stream(stream, index)

    def _read_calibration(self) -> dict[str, Any]:
        rs = self._rs
        try:
            depth = self._stream(rs.stream.depth)
            ir1 = self._stream(rs.stream.infrared, 1)
            ir2 = self._stream(rs.stream.infrared, 2)
            color = self._stream(rs.stream.color)
        except RuntimeError as exc:
            raise CaptureError(f"realsense: the device or recording lacks a needed stream (depth, infrared 1 "
                               f"and 2, color): {exc}") from exc
        ir_to_ir2 = transform_between(ir1, ir2)
        return {
            "K_depth": intrinsics_of(depth), "K_ir": intrinsics_of(ir1), "K_rgb": intrinsics_of(color),
            "baseline_m": float(np.linalg.norm(ir_to_ir2[:3, 3])),
            "T_rgb_from_depth": transform_between(depth, color),
            "T_rgb_from_ir": transform_between(ir1, color),
            "depth_units": float(self._profile.get_device().first_depth_sensor().get_option(rs.option.depth_units)),
            "fps": depth.fps(),
        }

    def info(self) -> DeviceInfo:
        if self._info is None:
            raise CaptureError("realsense: info() before connect()")
        return self._info

    def _read_info(self) -> DeviceInfo:
        rs = self._rs
        device = self._profile.get_device()

        def read(field) -> str:
            return device.get_info(field) if device.supports(field) else ""

        calibration = {k: (v.as_list() if isinstance(v, Intrinsics) else
                           v.tolist() if isinstance(v, np.ndarray) else v) for k, v in self._calibration.items()}
        if self.is_playback:
            calibration["recording"] = str(self.config.recording)
        return DeviceInfo(kind=self.kind, serial=read(rs.camera_info.serial_number),
                          model=read(rs.camera_info.name), firmware=read(rs.camera_info.firmware_version),
                          calibration=calibration)

    # -------------------------------------------------------------- frames

    def set_emitter(self, on: bool) -> None:
        rs = self._rs
        sensor = self._profile.get_device().first_depth_sensor()
        if self.is_playback or not sensor.supports(rs.option.emitter_enabled):
            log.warning("realsense: this %s cannot switch the emitter", "recording" if self.is_playback else "device")
            return
        sensor.set_option(rs.option.emitter_enabled, 1.0 if on else 0.0)
        self._emitter_on = bool(on)

    def read(self) -> Frame:
        if self._pipeline is None:
            raise CaptureError("realsense: read() before connect()")
        for _ in range(MAX_UNSYNCED):
            frames = self._wait()
            frame = self._to_frame(frames)
            if frame is not None:
                return frame
        raise DeviceReadError(f"realsense: {MAX_UNSYNCED} framesets in a row had unsynchronised streams")

    def _wait(self):
        if self.is_playback:
            return self._wait_playback()
        ok, frames = self._pipeline.try_wait_for_frames(self.config.timeout_ms)
        if ok:
            return frames
        raise DeviceReadError(f"realsense: no frames within {self.config.timeout_ms} ms (device unplugged or "
                              f"USB bandwidth too low?)")

    def _wait_playback(self):
        """Short waits, so the end of a recording is noticed at once instead of after a full timeout."""
        playback = self._profile.get_device().as_playback()
        deadline = time.monotonic() + self.config.timeout_ms / 1000.0
        while time.monotonic() < deadline:
            ok, frames = self._pipeline.try_wait_for_frames(PLAYBACK_POLL_MS)
            if ok:
                return frames
            if playback.current_status() == self._rs.playback_status.stopped:
                break
        raise EndOfStream(f"realsense: recording {self.config.recording} has no more frames")

    def _to_frame(self, frames) -> Frame | None:
        """A Frame, or None when the set mixes frames from different instants."""
        depth = frames.get_depth_frame()
        ir_left, ir_right = frames.get_infrared_frame(1), frames.get_infrared_frame(2)
        color = frames.get_color_frame()
        if not (depth and ir_left and ir_right and color):
            return None
        numbers = {f.get_frame_number() for f in (depth, ir_left, ir_right)}
        half_period_ms = 500.0 / max(self._calibration["fps"], 1)
        if len(numbers) != 1 or abs(color.get_timestamp() - depth.get_timestamp()) > half_period_ms:
            log.debug("realsense: dropping an unsynchronised frameset")
            return None
        cal = self._calibration
        units = float(depth.get_units())
        depth_m = (np.asanyarray(depth.get_data()).astype(np.float32) * np.float32(units))
        info = self.info()
        return Frame(
            rgb=np.array(np.asanyarray(color.get_data()), copy=True),
            depth_raw=depth_m,
            ir_left=np.array(np.asanyarray(ir_left.get_data()), copy=True),
            ir_right=np.array(np.asanyarray(ir_right.get_data()), copy=True),
            K_rgb=cal["K_rgb"], K_depth=cal["K_depth"], K_ir=cal["K_ir"], baseline_m=cal["baseline_m"],
            T_rgb_from_depth=cal["T_rgb_from_depth"], T_rgb_from_ir=cal["T_rgb_from_ir"], depth_units=units,
            timestamps_ms={"depth": depth.get_timestamp(), "ir_left": ir_left.get_timestamp(),
                           "ir_right": ir_right.get_timestamp(), "rgb": color.get_timestamp()},
            frame_number=int(depth.get_frame_number()), serial=info.serial, model=info.model,
            emitter_on=self._emitter_on, registered_to_rgb=False)


