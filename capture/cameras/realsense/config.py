"""Settings of the RealSense driver (D4xx active stereo: IR1/IR2 y8, depth z16, colour rgb8)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class RealSenseConfig:
    serial: str | None = None          # None = the only connected device
    recording: str | None = None       # a .db3 recording to play back instead of a live device
    width: int = 848                   # depth / IR stream size
    height: int = 480
    color_width: int = 1280
    color_height: int = 720
    fps: int = 30
    emitter: bool = True               # IR projector on at start
    timeout_ms: int = 5000             # wait for one frameset
    real_time: bool = False            # pace playback like the original recording
