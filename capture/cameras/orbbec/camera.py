"""Orbbec driver on ``pyorbbecsdk2`` (import name ``pyorbbecsdk``) for the Gemini 3xx.

Streams: depth (Y16 with a per-frame scale in mm/unit), left and right IR (Y8), colour (RGB),
laser on/off through ``OB_PROP_LASER_BOOL``; baseline from the left→right IR extrinsic. Orbbec
extrinsics carry translations in millimetres; they are stored here in metres.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from depthcur.core.progress import get_logger
from depthcur.schemas import Intrinsics
from depthcur.schemas.codecs import units_to_depth

from ..base import (Camera, CaptureError, DeviceInfo, DeviceNotFoundError, DeviceReadError, EndOfStream, Frame,
                    SdkNotInstalledError, rigid_transform)
from .config import OrbbecConfig

log = get_logger(__name__)

SDK_HINT = ("install the Orbbec SDK binding with `pip install --no-deps pyorbbecsdk2==2.1.2` (--no-deps: its "
            "pins would downgrade numpy and replace opencv), then add the udev rules from the Orbbec SDK "
            "(`scripts/install_udev_rules.sh`)")


def import_pyorbbecsdk():
    try:
        import pyorbbecsdk as ob
    except ImportError as exc:
        raise SdkNotInstalledError(f"orbbec: pyorbbecsdk cannot be imported ({exc}); {SDK_HINT}") from exc
    return ob


def _intrinsics(profile) -> Intrinsics:
    k = profile.as_video_stream_profile().get_intrinsic()
    return Intrinsics(k.fx, k.fy, k.cx, k.cy)


def _transform(source, target) -> np.ndarray:
    ext = source.get_extrinsic_to(target)
    return rigid_transform(np.reshape(ext.rot, (3, 3)), np.asarray(ext.transform, dtype=np.float64) / 1000.0)


class OrbbecCamera(Camera):
    config_class = OrbbecConfig

    def __init__(self, config: OrbbecConfig | None = None):
        self.config = config or OrbbecConfig()
        self._ob = None
        self._pipeline = None
        self._device = None
        self._calibration: dict[str, Any] = {}
        self._laser_on: bool | None = None
        self._info: DeviceInfo | None = None

    @property
    def is_connected(self) -> bool:
        return self._pipeline is not None

    def connect(self) -> None:
        ob = self._ob = import_pyorbbecsdk()
        if self.config.recording:
            path = Path(self.config.recording)
            if not path.is_file():
                raise DeviceNotFoundError(f"orbbec: recording {path} does not exist")
            self._device = ob.PlaybackDevice(str(path))
        else:
            self._device = self._find_device(ob)
        pipeline = ob.Pipeline(self._device)
        config = ob.Config()
        c = self.config
        profiles = {}
        try:
            for name, sensor, width, height, fmt in (
                    ("depth", ob.OBSensorType.DEPTH_SENSOR, c.width, c.height, ob.OBFormat.Y16),
                    ("ir_left", ob.OBSensorType.LEFT_IR_SENSOR, c.width, c.height, ob.OBFormat.Y8),
                    ("ir_right", ob.OBSensorType.RIGHT_IR_SENSOR, c.width, c.height, ob.OBFormat.Y8),
                    ("rgb", ob.OBSensorType.COLOR_SENSOR, c.color_width, c.color_height, ob.OBFormat.RGB)):
                listing = pipeline.get_stream_profile_list(sensor)
                profile = (listing.get_default_video_stream_profile() if self.config.recording
                           else listing.get_video_stream_profile(width, height, fmt, c.fps))
                config.enable_stream(profile)
                profiles[name] = profile
            config.set_frame_aggregate_output_mode(ob.OBFrameAggregateOutputMode.FULL_FRAME_REQUIRE)
            pipeline.enable_frame_sync()
            pipeline.start(config)
        except ob.OBError as exc:
            raise CaptureError(f"orbbec: cannot start depth, left/right IR and colour streams: {exc}") from exc
        self._pipeline = pipeline
        self._calibration = {
            "K_depth": _intrinsics(profiles["depth"]), "K_ir": _intrinsics(profiles["ir_left"]),
            "K_rgb": _intrinsics(profiles["rgb"]),
            "baseline_m": float(np.linalg.norm(_transform(profiles["ir_left"], profiles["ir_right"])[:3, 3])),
            "T_rgb_from_depth": _transform(profiles["depth"], profiles["rgb"]),
            "T_rgb_from_ir": _transform(profiles["ir_left"], profiles["rgb"]),
        }
        if not self.config.recording:
            self.set_emitter(self.config.emitter)
        info = self._device.get_device_info()
        self._info = DeviceInfo(kind=self.kind, serial=info.get_serial_number(), model=info.get_name(),
                                firmware=info.get_firmware_version(),
                                calibration={k: (v.as_list() if isinstance(v, Intrinsics) else
                                                 v.tolist() if isinstance(v, np.ndarray) else v)
                                             for k, v in self._calibration.items()})

    def _find_device(self, ob):
        devices = ob.Context().query_devices()
        count = devices.get_count()
        if count == 0:
            raise DeviceNotFoundError("orbbec: no Orbbec device is connected; plug a Gemini 3xx into a USB 3 "
                                      "port and check the udev rules, or use `--device replay:DIR`")
        serials = [devices.get_device_serial_number_by_index(i) for i in range(count)]
        if self.config.serial is None:
            if count > 1:
                raise DeviceNotFoundError(f"orbbec: {count} devices connected ({', '.join(serials)}); "
                                          f"choose one with `orbbec:SERIAL`")
            return devices.get_device_by_index(0)
        if self.config.serial not in serials:
            raise DeviceNotFoundError(f"orbbec: no device with serial {self.config.serial}; "
                                      f"connected: {', '.join(serials)}")
        return devices.get_device_by_serial_number(self.config.serial)

    def disconnect(self) -> None:
        if self._pipeline is not None:
            self._pipeline.stop()
            self._pipeline = None

    def set_emitter(self, on: bool) -> None:
        ob = self._ob
        prop = ob.OBPropertyID.OB_PROP_LASER_BOOL
        if self.config.recording or not self._device.is_property_supported(prop, ob.OBPermissionType.PERMISSION_WRITE):
            log.warning("orbbec: this %s cannot switch the laser", "recording" if self.config.recording else "device")
            return
        self._device.set_bool_property(prop, bool(on))
        self._laser_on = bool(on)

    def info(self) -> DeviceInfo:
        if self._info is None:
            raise CaptureError("orbbec: info() before connect()")
        return self._info

    def read(self) -> Frame:
        if self._pipeline is None:
            raise CaptureError("orbbec: read() before connect()")
        frames = self._pipeline.wait_for_frames(self.config.timeout_ms)
        if frames is None:
            if self.config.recording:
                raise EndOfStream(f"orbbec: recording {self.config.recording} has no more frames")
            raise DeviceReadError(f"orbbec: no frames within {self.config.timeout_ms} ms")
        depth, color = frames.get_depth_frame(), frames.get_color_frame()
        left, right = frames.get_left_ir_frame(), frames.get_right_ir_frame()
        if not (depth and color and left and right):
            raise DeviceReadError("orbbec: a frameset lacked depth, colour or an IR image")

        def pixels(frame, dtype) -> np.ndarray:
            video = frame.as_video_frame()
            return np.frombuffer(video.get_data(), dtype=dtype).reshape(video.get_height(), video.get_width()).copy()

        depth_scale = float(depth.get_depth_scale()) / 1000.0   # the SDK gives millimetres per unit
        cal = self._calibration
        rgb = np.frombuffer(color.get_data(), np.uint8).reshape(color.get_height(), color.get_width(), 3).copy()
        return Frame(rgb=rgb,
                     # the scale rounded to float32, as this driver always applied it
                     depth_raw=units_to_depth(pixels(depth, np.uint16), float(np.float32(depth_scale))),
                     ir_left=pixels(left, np.uint8), ir_right=pixels(right, np.uint8),
                     K_rgb=cal["K_rgb"], K_depth=cal["K_depth"], K_ir=cal["K_ir"], baseline_m=cal["baseline_m"],
                     T_rgb_from_depth=cal["T_rgb_from_depth"], T_rgb_from_ir=cal["T_rgb_from_ir"],
                     depth_scale=depth_scale,
                     timestamps_ms={"depth": depth.get_timestamp(), "rgb": color.get_timestamp(),
                                    "ir_left": left.get_timestamp(), "ir_right": right.get_timestamp()},
                     frame_number=int(depth.get_index()), serial=self._info.serial, model=self._info.model,
                     emitter_on=self._laser_on, registered_to_rgb=False)
