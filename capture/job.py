"""The typed settings shared by ``depthcur capture record`` and ``depthcur capture app``."""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from depthcur.core.progress import progress_task

from .cameras import CaptureError
from .recorder import DiskGuard, Recorder, SessionSettings, check_session_name, default_session_name
from .rig import Rig, RigConfig, load_rig


@dataclass
class CaptureJob:
    out: Path
    device: str | None = None            # one device SPEC ...
    rig: Path | None = None              # ... or a rig YAML
    session: str | None = None           # default: session-YYYYmmdd-HHMMSS
    operator: str = ""
    category: str = "office"
    location: str = ""
    fps: float | None = None             # replay pacing
    min_free_mb: float = 2048.0

    def rig_config(self) -> RigConfig:
        if (self.device is None) == (self.rig is None):
            raise CaptureError("give exactly one of --device SPEC or --rig FILE")
        if self.rig is not None:
            return load_rig(self.rig)
        options = {"fps": self.fps} if self.device.startswith("replay:") and self.fps else {}
        return RigConfig.single(self.device, **options)

    def session_settings(self) -> SessionSettings:
        return SessionSettings(name=check_session_name(self.session or default_session_name()),
                               operator=self.operator, scene_category=self.category, location_note=self.location)


@contextmanager
def open_recorder(job: CaptureJob) -> Iterator[Recorder]:
    """Connect the rig, open the session; disconnect on exit."""
    settings = job.session_settings()       # a bad session name fails before any device opens
    rig = Rig(job.rig_config())
    rig.connect()
    try:
        recorder = Recorder(job.out, rig, disk_guard=DiskGuard(min_free_bytes=int(job.min_free_mb * 1e6)))
        recorder.open_session(settings)
        yield recorder
    finally:
        rig.disconnect()


def record(job: CaptureJob, frames: int) -> Recorder:
    """Headless: ``frames`` captures in a row, with a progress bar."""
    with open_recorder(job) as recorder:
        with progress_task(f"capture {recorder.session.name}", frames) as advance:
            for _ in range(frames):
                recorder.capture(job.category)
                advance(1)
        return recorder
