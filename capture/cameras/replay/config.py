"""Settings of the replay driver: raw sample folders played back as if from a camera."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class ReplayConfig:
    path: str = ""                 # a folder of raw sample folders (depthcur.schemas layout)
    fps: float | None = None       # pace frames at this rate; None = as fast as they are read
    loop: bool = True              # start again after the last sample; False = EndOfStream
    serial: str | None = None      # reported serial; default "replay-<folder name>"
