"""Write a RealSense ``.db3`` recording from frames, through the SDK's own software device.

``rs.software_device`` gets a stereo sensor (depth z16, IR1/IR2 y8) and an RGB sensor with the
frames' intrinsics, extrinsics and depth units; ``rs.recorder`` writes what they emit. The result
plays back through :class:`RealSenseCamera` exactly like a recording from a real D4xx, which lets
tests and demos exercise the real SDK path without a camera. (The recorder refuses ``.bag``.)
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Sequence

import numpy as np

from depthcur.schemas import Intrinsics, SchemaError
from depthcur.schemas.codecs import depth_to_units

from ..base import CaptureError, Frame
from .camera import import_pyrealsense2

STEREO_SENSOR = "Stereo Module"
COLOR_SENSOR = "RGB Camera"
DELIVERY_TIMEOUT_S = 30.0


def _rs_intrinsics(rs, k: Intrinsics, width: int, height: int):
    out = rs.intrinsics()
    out.width, out.height = width, height
    out.fx, out.fy, out.ppx, out.ppy = k.fx, k.fy, k.cx, k.cy
    out.model = rs.distortion.brown_conrady
    out.coeffs = [0.0] * 5
    return out


def _rs_extrinsics(rs, transform: np.ndarray):
    """T_target_from_source as librealsense extrinsics (column-major rotation)."""
    out = rs.extrinsics()
    out.rotation = np.asarray(transform[:3, :3], dtype=np.float64).T.reshape(-1).tolist()
    out.translation = np.asarray(transform[:3, 3], dtype=np.float64).tolist()
    return out


def _video_stream(rs, kind, index: int, uid: int, fmt, bpp: int, k, width: int, height: int, fps: int):
    stream = rs.video_stream()
    stream.type, stream.index, stream.uid = kind, index, uid
    stream.width, stream.height, stream.fps = width, height, fps
    stream.bpp, stream.fmt = bpp, fmt
    stream.intrinsics = _rs_intrinsics(rs, k, width, height)
    return stream


def _check_frames(frames: Sequence[Frame]) -> None:
    if not frames:
        raise CaptureError("realsense recording: no frames to write")
    first = frames[0]
    for n, f in enumerate(frames):
        if f.ir_left is None or f.ir_right is None or f.K_ir is None or not f.baseline_m:
            raise CaptureError(f"realsense recording: frame {n} lacks the IR pair, K_ir or baseline")
        if f.ir_left.dtype != np.uint8 or f.ir_right.dtype != np.uint8:
            raise CaptureError(f"realsense recording: frame {n}: IR must be uint8 (y8), got {f.ir_left.dtype}")
        if f.depth_raw.shape != f.ir_left.shape:
            raise CaptureError(f"realsense recording: frame {n}: depth {f.depth_raw.shape} and IR "
                               f"{f.ir_left.shape} must share the stereo grid")
        if (f.rgb.shape, f.depth_raw.shape) != (first.rgb.shape, first.depth_raw.shape):
            raise CaptureError(f"realsense recording: frame {n} changes the stream sizes")


def depth_to_z16(depth_m: np.ndarray, depth_scale: float) -> np.ndarray:
    try:
        return depth_to_units(depth_m, depth_scale, field="depth_raw")
    except SchemaError as exc:
        raise CaptureError(f"realsense recording: {exc}") from None


def write_recording(path: str | Path, frames: Sequence[Frame], *, fps: int = 30, serial: str = "000000000000",
                    model: str = "Intel RealSense D435 (software device)") -> Path:
    """Record ``frames`` (IR-grid depth, IR pair, RGB) to a ``.db3`` file and return its path."""
    rs = import_pyrealsense2()
    path = Path(path)
    if path.suffix != ".db3":
        raise CaptureError(f"realsense recording {path}: librealsense 2.59 writes ROS 2 '.db3' files only")
    _check_frames(frames)
    first = frames[0]
    h, w = first.depth_raw.shape
    ch, cw = first.rgb.shape[:2]
    units = float(first.depth_scale)

    device = rs.software_device()
    device.register_info(rs.camera_info.name, model)
    device.register_info(rs.camera_info.serial_number, serial)
    stereo, color = device.add_sensor(STEREO_SENSOR), device.add_sensor(COLOR_SENSOR)
    depth_p = stereo.add_video_stream(_video_stream(rs, rs.stream.depth, 0, 0, rs.format.z16, 2,
                                                    first.K_depth, w, h, fps))
    ir1_p = stereo.add_video_stream(_video_stream(rs, rs.stream.infrared, 1, 1, rs.format.y8, 1,
                                                  first.K_ir, w, h, fps))
    ir2_p = stereo.add_video_stream(_video_stream(rs, rs.stream.infrared, 2, 2, rs.format.y8, 1,
                                                  first.K_ir, w, h, fps))
    color_p = color.add_video_stream(_video_stream(rs, rs.stream.color, 0, 3, rs.format.rgb8, 3,
                                                   first.K_rgb, cw, ch, fps))
    stereo.add_read_only_option(rs.option.depth_units, units)
    # IR2 sits +baseline along x of IR1, so a point's x in the IR2 frame is x - B (D4xx convention)
    ir1_to_ir2 = np.eye(4)
    ir1_to_ir2[0, 3] = -float(first.baseline_m)
    ir1_p.register_extrinsics_to(ir2_p, _rs_extrinsics(rs, ir1_to_ir2))
    depth_p.register_extrinsics_to(ir1_p, _rs_extrinsics(rs, np.eye(4)))
    depth_p.register_extrinsics_to(color_p, _rs_extrinsics(rs, np.asarray(first.T_rgb_from_depth)))
    ir1_p.register_extrinsics_to(color_p, _rs_extrinsics(rs, np.asarray(first.T_rgb_from_ir)))

    path.parent.mkdir(parents=True, exist_ok=True)
    path.unlink(missing_ok=True)
    recorder = rs.recorder(str(path), device)
    sensors = {s.name: s for s in recorder.query_sensors()}
    rec_stereo, rec_color = sensors[STEREO_SENSOR], sensors[COLOR_SENSOR]
    rec_stereo.open([depth_p, ir1_p, ir2_p])
    rec_color.open(color_p)
    delivered = {"count": 0}
    expected = 4 * len(frames)
    all_delivered = threading.Event()

    def on_frame(_frame) -> None:  # frames reach this callback after passing the recorder
        delivered["count"] += 1
        if delivered["count"] >= expected:
            all_delivered.set()

    rec_stereo.start(on_frame)
    rec_color.start(on_frame)
    try:
        for number, frame in enumerate(frames):
            timestamp = 1000.0 + number * 1000.0 / fps
            streams = ((stereo, depth_p, depth_to_z16(frame.depth_raw, units), 2),
                       (stereo, ir1_p, frame.ir_left, 1), (stereo, ir2_p, frame.ir_right, 1),
                       (color, color_p, frame.rgb, 3))
            for sensor, profile, pixels, bpp in streams:
                sw = rs.software_video_frame()
                sw.pixels = np.ascontiguousarray(pixels).tobytes()
                sw.bpp, sw.stride = bpp, pixels.shape[1] * bpp
                sw.timestamp, sw.domain, sw.frame_number = timestamp, rs.timestamp_domain.hardware_clock, number
                sw.profile = profile.as_video_stream_profile()
                if profile is depth_p:
                    sw.depth_units = units
                sensor.on_video_frame(sw)
        if not all_delivered.wait(DELIVERY_TIMEOUT_S):
            raise CaptureError(f"realsense recording {path}: only {delivered['count']} of {expected} frames "
                               f"reached the recorder within {DELIVERY_TIMEOUT_S} s")
    finally:
        rec_stereo.stop(), rec_color.stop()
        rec_stereo.close(), rec_color.close()
        del rec_stereo, rec_color, sensors, recorder
    return path
