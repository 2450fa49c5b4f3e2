"""Settings of the RealSense driver (D4xx active stereo: IR1/IR2 y8, depth z16, colour rgb8)."""

from __future__ import annotations

from dataclasses import dataclass

from ..base import CameraConfig


@CameraConfig.register_subclass("realsense")
@dataclass
class RealSenseConfig(CameraConfig):
    recording_suffixes = (".db3",)

    width: int = 848                   # depth / IR stream size
    height: int = 480
    fps: int = 30
    recording: str | None = None       # a .db3 recording to play back instead of a live device
    color_width: int = 1280
    color_height: int = 720
    timeout_ms: int = 5000             # wait for one frameset
    real_time: bool = False            # pace playback like the original recording
