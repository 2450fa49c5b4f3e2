"""Settings of the Orbbec driver (Gemini 330 series: left/right IR, depth, colour, laser)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class OrbbecConfig:
    serial: str | None = None          # None = the only connected device
    playback: str | None = None        # an Orbbec .bag recording to play back instead of a device
    width: int = 848                   # depth / IR stream size
    height: int = 480
    color_width: int = 1280
    color_height: int = 720
    fps: int = 30
    laser: bool = True                 # IR projector on at start
    timeout_ms: int = 5000
