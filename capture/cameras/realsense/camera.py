"""Intel RealSense driver on ``pyrealsense2``: live devices and ``.db3`` recordings.

The IR pair comes from streams ``infrared`` 1 (left, the depth reference) and 2 (right) in
y8; the baseline is the length of the IR1→IR2 extrinsic translation; depth units come from the
depth sensor's ``depth_units`` option.

Live devices stream through ``rs.pipeline`` (hardware-synchronised framesets). Recordings do not:
the pipeline keeps only the newest frames, so a slow consumer loses some. :class:`RecordingReader`
instead streams every sensor of the playback device into one keep-frames queue and groups the
frames itself, so every recorded frame comes out.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np

from depthcur.core.progress import get_logger
from depthcur.schemas import Intrinsics
from depthcur.schemas.codecs import units_to_depth

from ..base import (Camera, CaptureError, DeviceInfo, DeviceNotFoundError, DeviceReadError, EndOfStream, Frame,
                    SdkNotInstalledError, rigid_transform)
from .config import RealSenseConfig

log = get_logger(__name__)

SDK_HINT = ("install the RealSense SDK's Python binding with `pip install pyrealsense2==2.59.1.11053` "
            "(on Linux it also needs `apt-get install libusb-1.0-0`)")
#: framesets whose streams disagree are dropped; give up after this many in a row
MAX_UNSYNCED = 10
PLAYBACK_POLL_MS = 100
QUEUE_CAPACITY = 4096
STREAM_NAMES = ("depth", "ir_left", "ir_right", "rgb")


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


def stream_name(rs, profile) -> str | None:
    kind, index = profile.stream_type(), profile.stream_index()
    if kind == rs.stream.depth:
        return "depth"
    if kind == rs.stream.color:
        return "rgb"
    if kind == rs.stream.infrared:
        return {1: "ir_left", 2: "ir_right"}.get(index)
    return None


class LiveSource:
    """A connected device through ``rs.pipeline``."""

    def __init__(self, rs, serial: str, config: RealSenseConfig):
        self.rs, self.config = rs, config
        rs_config = rs.config()
        rs_config.enable_device(serial)
        c = config
        rs_config.enable_stream(rs.stream.depth, c.width, c.height, rs.format.z16, c.fps)
        rs_config.enable_stream(rs.stream.infrared, 1, c.width, c.height, rs.format.y8, c.fps)
        rs_config.enable_stream(rs.stream.infrared, 2, c.width, c.height, rs.format.y8, c.fps)
        rs_config.enable_stream(rs.stream.color, c.color_width, c.color_height, rs.format.rgb8, c.fps)
        self.pipeline = rs.pipeline()
        try:
            profile = self.pipeline.start(rs_config)
        except RuntimeError as exc:
            raise CaptureError(f"realsense: cannot start the device {serial}: {exc}") from exc
        self.device = profile.get_device()
        self.profiles = {stream_name(rs, p): p for p in profile.get_streams() if stream_name(rs, p)}

    def next_frames(self) -> dict[str, Any]:
        ok, frames = self.pipeline.try_wait_for_frames(self.config.timeout_ms)
        if not ok:
            raise DeviceReadError(f"realsense: no frames within {self.config.timeout_ms} ms (device unplugged "
                                  f"or USB bandwidth too low?)")
        return {"depth": frames.get_depth_frame(), "ir_left": frames.get_infrared_frame(1),
                "ir_right": frames.get_infrared_frame(2), "rgb": frames.get_color_frame()}

    def stop(self) -> None:
        try:
            self.pipeline.stop()
        except RuntimeError:
            pass


class RecordingReader:
    """Every frame of a ``.db3`` recording, grouped into sets (stereo frames by frame number, colour by
    the nearest timestamp within half a frame period)."""

    def __init__(self, rs, path: Path, config: RealSenseConfig):
        self.rs, self.path, self.config = rs, path, config
        try:
            self.device = rs.context().load_device(str(path))
        except RuntimeError as exc:
            raise CaptureError(f"realsense: cannot open recording {path}: {exc}") from exc
        self.playback = self.device.as_playback()
        self.playback.set_real_time(config.real_time)
        self.queue = rs.frame_queue(QUEUE_CAPACITY, keep_frames=True)
        self.sensors = self.device.query_sensors()
        self.profiles: dict[str, Any] = {}
        for sensor in self.sensors:
            profiles = sensor.get_stream_profiles()
            self.profiles.update({stream_name(rs, p): p for p in profiles if stream_name(rs, p)})
            sensor.open(profiles)
        # playback runs from the first sensor's start: a sensor started later would miss the first
        # frames, so every sensor starts while playback is paused
        self.playback.pause()
        for sensor in self.sensors:
            sensor.start(self.queue)
        self.playback.resume()
        self.stereo: dict[int, dict[str, Any]] = {}
        self.colour: list[Any] = []
        self.started = False

    def _half_period_ms(self) -> float:
        return 500.0 / max(self.profiles["depth"].fps(), 1)

    def _complete_set(self) -> dict[str, Any] | None:
        for number in sorted(self.stereo):
            group = self.stereo[number]
            if len(group) < 3:
                continue
            stamp = group["depth"].get_timestamp()
            matches = [c for c in self.colour if abs(c.get_timestamp() - stamp) <= self._half_period_ms()]
            if not matches:
                continue
            for older in [n for n in self.stereo if n <= number]:
                del self.stereo[older]
            chosen = min(matches, key=lambda c: abs(c.get_timestamp() - stamp))
            self.colour = [c for c in self.colour if c.get_timestamp() > chosen.get_timestamp()]
            return {**group, "rgb": chosen}
        return None

    def next_frames(self) -> dict[str, Any]:
        deadline = time.monotonic() + self.config.timeout_ms / 1000.0
        while True:
            found = self._complete_set()
            if found is not None:
                return found
            ok, frame = self.queue.try_wait_for_frame(PLAYBACK_POLL_MS)
            if ok:
                self.started = True
                name = stream_name(self.rs, frame.profile)
                if name == "rgb":
                    self.colour.append(frame)
                elif name is not None:
                    self.stereo.setdefault(frame.get_frame_number(), {})[name] = frame
                continue
            status = self.playback.current_status()
            # right after start a slow machine still reports the initial "stopped" state
            self.started |= status == self.rs.playback_status.playing
            if (self.started and status == self.rs.playback_status.stopped) or time.monotonic() > deadline:
                raise EndOfStream(f"realsense: recording {self.path} has no more frames")

    def stop(self) -> None:
        for sensor in self.sensors:
            try:
                sensor.stop()
                sensor.close()
            except RuntimeError:
                pass


class RealSenseCamera(Camera):
    config_class = RealSenseConfig

    def __init__(self, config: RealSenseConfig | None = None):
        self.config = config or RealSenseConfig()
        self._rs = None
        self._source: LiveSource | RecordingReader | None = None
        self._calibration: dict[str, Any] = {}
        self._emitter_on: bool | None = None
        self._info: DeviceInfo | None = None

    # -------------------------------------------------------------- lifecycle

    @property
    def is_connected(self) -> bool:
        return self._source is not None

    @property
    def is_playback(self) -> bool:
        return self.config.recording is not None

    def connect(self) -> None:
        rs = self._rs = import_pyrealsense2()
        if self.is_playback:
            path = Path(self.config.recording)
            if not path.is_file():
                raise DeviceNotFoundError(f"realsense: recording {path} does not exist")
            self._source = RecordingReader(rs, path, self.config)
        else:
            self._source = LiveSource(rs, self._find_serial(rs), self.config)
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
        if self._source is not None:
            self._source.stop()
            self._source = None

    # -------------------------------------------------------------- calibration

    def _read_calibration(self) -> dict[str, Any]:
        rs, profiles = self._rs, self._source.profiles
        missing = [name for name in STREAM_NAMES if name not in profiles]
        if missing:
            raise CaptureError(f"realsense: the device or recording lacks stream(s) {', '.join(missing)} "
                               f"(needs depth, infrared 1 and 2, and color)")
        depth, ir1, ir2, color = (profiles[name] for name in STREAM_NAMES)
        ir_to_ir2 = transform_between(ir1, ir2)
        return {
            "K_depth": intrinsics_of(depth), "K_ir": intrinsics_of(ir1), "K_rgb": intrinsics_of(color),
            "baseline_m": float(np.linalg.norm(ir_to_ir2[:3, 3])),
            "T_rgb_from_depth": transform_between(depth, color),
            "T_rgb_from_ir": transform_between(ir1, color),
            "depth_scale": float(self._source.device.first_depth_sensor().get_option(rs.option.depth_units)),
            "fps": depth.fps(),
        }

    def _read_info(self) -> DeviceInfo:
        rs, device = self._rs, self._source.device

        def read(field) -> str:
            return device.get_info(field) if device.supports(field) else ""

        calibration = {k: (v.as_list() if isinstance(v, Intrinsics) else
                           v.tolist() if isinstance(v, np.ndarray) else v) for k, v in self._calibration.items()}
        if self.is_playback:
            calibration["recording"] = str(self.config.recording)
        return DeviceInfo(kind=self.kind, serial=read(rs.camera_info.serial_number),
                          model=read(rs.camera_info.name), firmware=read(rs.camera_info.firmware_version),
                          calibration=calibration)

    def info(self) -> DeviceInfo:
        if self._info is None:
            raise CaptureError("realsense: info() before connect()")
        return self._info

    # -------------------------------------------------------------- frames

    def set_emitter(self, on: bool) -> None:
        rs = self._rs
        sensor = self._source.device.first_depth_sensor()
        if self.is_playback or not sensor.supports(rs.option.emitter_enabled):
            log.warning("realsense: this %s cannot switch the emitter", "recording" if self.is_playback else "device")
            return
        sensor.set_option(rs.option.emitter_enabled, 1.0 if on else 0.0)
        self._emitter_on = bool(on)

    def read(self) -> Frame:
        if self._source is None:
            raise CaptureError("realsense: read() before connect()")
        for _ in range(MAX_UNSYNCED):
            frame = self._to_frame(self._source.next_frames())
            if frame is not None:
                return frame
        raise DeviceReadError(f"realsense: {MAX_UNSYNCED} framesets in a row had unsynchronised streams")

    def _to_frame(self, frames: dict[str, Any]) -> Frame | None:
        """A Frame, or None when the set lacks a stream or mixes frames from different instants."""
        depth, ir_left, ir_right, color = (frames.get(name) for name in STREAM_NAMES)
        if not (depth and ir_left and ir_right and color):
            return None
        numbers = {f.get_frame_number() for f in (depth, ir_left, ir_right)}
        half_period_ms = 500.0 / max(self._calibration["fps"], 1)
        if len(numbers) != 1 or abs(color.get_timestamp() - depth.get_timestamp()) > half_period_ms:
            log.debug("realsense: dropping an unsynchronised frameset")
            return None
        cal = self._calibration
        units = float(depth.as_depth_frame().get_units())
        depth_m = units_to_depth(np.asanyarray(depth.get_data()), units)
        return Frame(
            rgb=np.array(np.asanyarray(color.get_data()), copy=True),
            depth_raw=depth_m,
            ir_left=np.array(np.asanyarray(ir_left.get_data()), copy=True),
            ir_right=np.array(np.asanyarray(ir_right.get_data()), copy=True),
            K_rgb=cal["K_rgb"], K_depth=cal["K_depth"], K_ir=cal["K_ir"], baseline_m=cal["baseline_m"],
            T_rgb_from_depth=cal["T_rgb_from_depth"], T_rgb_from_ir=cal["T_rgb_from_ir"], depth_scale=units,
            timestamps_ms={"depth": depth.get_timestamp(), "ir_left": ir_left.get_timestamp(),
                           "ir_right": ir_right.get_timestamp(), "rgb": color.get_timestamp()},
            frame_number=int(depth.get_frame_number()), serial=self._info.serial if self._info else "",
            model=self._info.model if self._info else "", emitter_on=self._emitter_on, registered_to_rgb=False)
