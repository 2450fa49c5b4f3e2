"""Settings of the ZED driver (Stereolabs ZED / ZED mini / ZED 2i through the ZED SDK)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class ZedConfig:
    serial: int | None = None          # None = the first camera
    svo: str | None = None             # an .svo/.svo2 recording to play back instead of a camera
    resolution: str = "HD720"          # sl.RESOLUTION name
    depth_mode: str = "NEURAL"         # sl.DEPTH_MODE name
    fps: int = 30
