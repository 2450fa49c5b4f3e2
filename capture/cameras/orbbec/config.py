"""Settings of the Orbbec driver (Gemini 330 series: left/right IR, depth, colour, laser)."""

from __future__ import annotations

from dataclasses import dataclass

from ..base import CameraConfig


@CameraConfig.register_subclass("orbbec")
@dataclass
class OrbbecConfig(CameraConfig):
    recording_suffixes = (".bag",)
    renamed_options = {"laser": "emitter", "playback": "recording"}

    width: int = 848                   # depth / IR stream size
    height: int = 480
    fps: int = 30
    recording: str | None = None       # an Orbbec .bag recording to play back instead of a device
    color_width: int = 1280
    color_height: int = 720
    timeout_ms: int = 5000
