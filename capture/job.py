"""The typed settings of ``depthcur capture record`` and ``depthcur capture app``."""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

from depthcur.core.progress import progress_task
from depthcur.core.validate import Checked

from .cameras import CaptureError
from .categories import CAPTURE_CATEGORIES
from .recorder import DiskGuard, Recorder, SessionSettings, check_session_name, default_session_name
from .rig import Rig, RigConfig, load_rig

#: the live preview's RGB and depth pictures are at most this wide by default (the page scales them to fit)
PREVIEW_WIDTH = 480


@dataclass
class CaptureJob(Checked):
    #: output folder (sessions are sub-folders)
    out: Path
    #: one device: realsense[:SERIAL|:FILE.db3], orbbec[:SERIAL], zed[:SERIAL|:FILE.svo2], replay:DIR
    device: str | None = None
    #: a rig YAML with several devices, instead of --device (see docs/capture.md)
    rig: Path | None = None
    #: session name [a-z0-9_-]; default session-YYYYmmdd-HHMMSS
    session: str | None = None
    #: who captured (recorded in each sample)
    operator: str = ""
    #: scene category id (LingBot-Depth taxonomy)
    category: str = field(default="office", metadata={"choices": CAPTURE_CATEGORIES})
    #: free-text location note
    location: str = ""
    #: pace a replay device at this rate
    fps: float | None = field(default=None, metadata={"above": 0})
    #: refuse captures below this free space (MB)
    min_free_mb: float = field(default=2048.0, metadata={"min": 0})

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


@dataclass
class RecordJob(CaptureJob):
    """``capture record``: N captures in a row, headless."""

    #: number of captures
    frames: int = field(default=1, metadata={"min": 1})


@dataclass
class AppJob(CaptureJob):
    """``capture app``: the touchscreen web UI."""

    #: address to bind; keep 127.0.0.1 for a kiosk
    host: str = "127.0.0.1"
    port: int = field(default=8080, metadata={"min": 1, "max": 65535})
    #: captures wanted in all; split by the quota shares
    total_target: int | None = field(default=None, metadata={"min": 1})
    #: width in pixels of the live RGB and depth preview pictures (IR: half); smaller costs the kiosk less
    preview_width: int = field(default=PREVIEW_WIDTH, metadata={"min": 64, "max": 3840})


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


def capture_frames(recorder: Recorder, frames: int, category: str) -> None:
    """Headless: ``frames`` captures in a row, with a progress bar."""
    with progress_task(f"capture {recorder.session.name}", frames) as advance:
        for _ in range(frames):
            recorder.capture(category)
            advance(1)
