"""ZED driver on ``pyzed.sl``, the Python API that ships with the ZED SDK installer.

PyPI's ``pyzed`` is an unrelated package and is never a dependency. The SDK is imported lazily in
``connect()``; without it the operator gets the steps to install it. The ZED has no projector, so
its "IR pair" is the grey left/right colour pair (passive stereo), still usable for pseudo-labels.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from depthcur.core.progress import get_logger
from depthcur.schemas import DEFAULT_DEPTH_SCALE, Intrinsics

from ..base import (Camera, CaptureError, DeviceInfo, DeviceNotFoundError, DeviceReadError, EndOfStream, Frame,
                    SdkNotInstalledError)
from .config import ZedConfig

log = get_logger(__name__)

SDK_HINT = ("pyzed.sl comes with the ZED SDK, not from PyPI: install the ZED SDK (it needs CUDA) from "
            "https://www.stereolabs.com/developers/release, then run `python get_python_api.py` from the "
            "SDK folder (/usr/local/zed) inside this environment. PyPI's `pyzed` is an unrelated package; "
            "`pip uninstall pyzed` if it is installed")


def import_pyzed():
    try:
        import pyzed.sl as sl
    except ImportError as exc:
        raise SdkNotInstalledError(f"zed: the ZED SDK Python API (pyzed.sl) cannot be imported ({exc}); "
                                   f"{SDK_HINT}") from exc
    return sl


class ZedCamera(Camera):
    config_class = ZedConfig

    def __init__(self, config: ZedConfig | None = None):
        self.config = config or ZedConfig()
        self._sl = None
        self._zed = None
        self._info: DeviceInfo | None = None
        self._K: Intrinsics | None = None
        self._baseline_m = 0.0

    @property
    def is_connected(self) -> bool:
        return self._zed is not None

    def connect(self) -> None:
        sl = self._sl = import_pyzed()
        init = sl.InitParameters()
        init.camera_resolution = getattr(sl.RESOLUTION, self.config.resolution)
        init.depth_mode = getattr(sl.DEPTH_MODE, self.config.depth_mode)
        init.coordinate_units = sl.UNIT.METER
        init.camera_fps = self.config.fps
        if self.config.recording:
            if not Path(self.config.recording).is_file():
                raise DeviceNotFoundError(f"zed: SVO recording {self.config.recording} does not exist")
            init.set_from_svo_file(str(self.config.recording))
        elif self.config.serial is not None:
            init.set_from_serial_number(int(self.config.serial))
        zed = sl.Camera()
        status = zed.open(init)
        if status != sl.ERROR_CODE.SUCCESS:
            raise DeviceNotFoundError(f"zed: cannot open the camera ({status}); check the USB 3 cable and "
                                      f"`ZED_Explorer`, or use `--device replay:DIR`")
        self._zed = zed
        info = zed.get_camera_information()
        calib = info.camera_configuration.calibration_parameters
        left = calib.left_cam
        self._K = Intrinsics(left.fx, left.fy, left.cx, left.cy)
        self._baseline_m = float(calib.get_camera_baseline())  # coordinate_units = metres
        self._info = DeviceInfo(kind=self.kind, serial=str(info.serial_number), model=str(info.camera_model),
                                firmware=str(info.camera_configuration.firmware_version),
                                calibration={"K_left": self._K.as_list(), "baseline_m": self._baseline_m,
                                             "svo": self.config.recording})

    def disconnect(self) -> None:
        if self._zed is not None:
            self._zed.close()
            self._zed = None

    def set_emitter(self, on: bool) -> None:
        log.warning("zed: passive stereo camera, it has no emitter to switch %s", "on" if on else "off")

    def info(self) -> DeviceInfo:
        if self._info is None:
            raise CaptureError("zed: info() before connect()")
        return self._info

    def read(self) -> Frame:
        sl = self._sl
        if self._zed is None:
            raise CaptureError("zed: read() before connect()")
        status = self._zed.grab(sl.RuntimeParameters())
        if status == sl.ERROR_CODE.END_OF_SVOFILE_REACHED:
            raise EndOfStream(f"zed: SVO {self.config.recording} has no more frames")
        if status != sl.ERROR_CODE.SUCCESS:
            raise DeviceReadError(f"zed: grab failed ({status})")
        left, right, depth = sl.Mat(), sl.Mat(), sl.Mat()
        self._zed.retrieve_image(left, sl.VIEW.LEFT)
        self._zed.retrieve_image(right, sl.VIEW.RIGHT)
        self._zed.retrieve_measure(depth, sl.MEASURE.DEPTH)
        rgb = np.ascontiguousarray(left.get_data()[:, :, 2::-1])     # BGRA -> RGB
        right_rgb = right.get_data()[:, :, 2::-1]
        depth_m = np.nan_to_num(depth.get_data().astype(np.float32), nan=0.0, posinf=0.0, neginf=0.0)
        grey = np.array([0.299, 0.587, 0.114], dtype=np.float32)
        stamp = self._zed.get_timestamp(sl.TIME_REFERENCE.IMAGE).get_milliseconds()
        return Frame(rgb=rgb, depth_raw=np.maximum(depth_m, 0), K_rgb=self._K, K_depth=self._K,
                     ir_left=(rgb @ grey).astype(np.uint8), ir_right=(right_rgb @ grey).astype(np.uint8),
                     K_ir=self._K, baseline_m=self._baseline_m, depth_scale=DEFAULT_DEPTH_SCALE,
                     timestamps_ms={"rgb": float(stamp), "depth": float(stamp)},
                     frame_number=int(self._zed.get_svo_position()) if self.config.recording else 0,
                     serial=self._info.serial, model=self._info.model, emitter_on=None, registered_to_rgb=True)
