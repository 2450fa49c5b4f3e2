"""Settings of the ZED driver (Stereolabs ZED / ZED mini / ZED 2i through the ZED SDK)."""

from __future__ import annotations

from dataclasses import dataclass

from ..base import CameraConfig, reject_stream_size


@CameraConfig.register_subclass("zed")
@dataclass
class ZedConfig(CameraConfig):
    """``serial`` None = the first camera; the image size is ``resolution``; no emitter (passive stereo)."""

    recording_suffixes = (".svo", ".svo2")
    renamed_options = {"svo": "recording"}

    fps: int = 30
    recording: str | None = None       # an .svo/.svo2 recording to play back instead of a camera
    resolution: str = "HD720"          # sl.RESOLUTION name
    depth_mode: str = "NEURAL"         # sl.DEPTH_MODE name

    def __post_init__(self) -> None:
        super().__post_init__()
        reject_stream_size(self, "set the ZED's image size with resolution (HD720, HD1080, HD2K, ...)")
