"""Settings of the replay driver: raw sample folders played back as if from a camera."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..base import CameraConfig, reject_stream_size


@CameraConfig.register_subclass("replay")
@dataclass
class ReplayConfig(CameraConfig):
    """``fps`` paces frames (None = as fast as they are read); ``serial`` is the reported one
    (default "replay-<folder name>"); ``emitter`` is only the reported state."""

    spec_arg_required = "a folder or recording, e.g. replay:DIR"

    path: str = ""                 # a folder of raw sample folders (depthcur.schemas layout)
    loop: bool = True              # start again after the last sample; False = EndOfStream

    def __post_init__(self) -> None:
        super().__post_init__()
        reject_stream_size(self, "replay plays every sample at its stored size")

    @classmethod
    def spec_options(cls, arg: str) -> dict[str, Any]:
        return {"path": arg}
