"""Sessions and captures: every capture becomes one raw sample per rig device.

Layout under the output folder::

    OUT/<session>/session.json            operator, category, location, devices + calibration, versions
    OUT/<session>/captures.json           one entry per capture (category, keys, fill rates)
    OUT/<session>/<device>/<index:06d>/   raw sample folders (depthcur.schemas.write_sample)

A capture first reads every frame of every device (a burst too), then checks the disk, then writes.
A device failing mid-burst therefore writes nothing, and a write that fails is rolled back, so a
capture is whole or absent. Captures are serialised by a thread lock and an ``flock`` on the
session folder, so two clients (or two app processes) never share an index or tear a sample.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import json
import platform
import re
import shutil
import threading
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

import numpy as np

from depthcur.core.outputs import DiskFullError, size_text
from depthcur.core.progress import get_logger
from depthcur.schemas import SCHEMA_VERSION, Sample, Source, sample_dir, with_stats, write_json_atomic, write_sample
from depthcur.schemas.keys import build_key

from .align import is_identity_registration, register_depth_to_rgb
from .cameras import CaptureError, Frame
from .categories import check_category
from .rig import Rig

log = get_logger(__name__)

SESSION_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
SESSION_FILE = "session.json"
CAPTURES_FILE = "captures.json"
LOCK_FILE = ".capture.lock"
MAX_BURST = 30
DATASET = "rig_capture"


class SessionNameError(CaptureError):
    pass


class DiskSpaceError(CaptureError):
    pass


def check_session_name(name: str) -> str:
    """Session names become folder names and key parts: [a-z0-9_-], no dots or slashes."""
    if not isinstance(name, str) or not SESSION_NAME.match(name):
        raise SessionNameError(f"session name {name!r} is not allowed: use 1-64 characters of a-z, 0-9, '_' "
                               f"and '-', starting with a letter or digit (no dots, slashes or spaces)")
    return name


def default_session_name() -> str:
    return dt.datetime.now().strftime("session-%Y%m%d-%H%M%S")


@dataclass
class DiskGuard:
    """Refuses a capture that would leave less than ``min_free_bytes`` on the output disk."""

    min_free_bytes: int = 2 * 1024 ** 3
    free_bytes: Callable[[Path], int] = field(default=lambda path: shutil.disk_usage(path).free)

    def check(self, path: Path, needed_bytes: int = 0) -> int:
        free = int(self.free_bytes(path))
        if free - needed_bytes < self.min_free_bytes:
            raise DiskSpaceError(f"disk nearly full: {size_text(free)} free on {path}, a capture needs about "
                                 f"{size_text(needed_bytes)} and {size_text(self.min_free_bytes)} must stay "
                                 f"free; free space or change --out")
        return free


@dataclass
class SessionSettings:
    name: str
    operator: str = ""
    scene_category: str = "office"
    location_note: str = ""


@dataclass
class CaptureRecord:
    index: int
    category: str
    keys: list[str]
    fill_rates: dict[str, float]
    time: str
    burst_index: int = 0


def software_versions() -> dict[str, str]:
    from importlib import metadata

    versions = {"python": platform.python_version(), "schema": SCHEMA_VERSION}
    for package in ("depthcur", "numpy", "opencv-contrib-python", "pyrealsense2", "pyorbbecsdk2"):
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            pass
    return versions


def device_label(kind: str, serial: str) -> str:
    """``realsense-842412345678``; a serial that already names its kind is kept as is."""
    return serial if serial.startswith(f"{kind}-") else f"{kind}-{serial}"


def capture_key(session: str, device_name: str, index: int) -> str:
    """``<session>/<device>/<index:06d>``: one sample per device and capture."""
    return build_key(session, device_name, f"{index:06d}")


def frame_to_sample(frame: Frame, *, key: str, category: str, session: SessionSettings, device_name: str,
                    capture_index: int, burst_index: int, info: dict[str, Any]) -> Sample:
    """The raw sample of one device frame: camera depth on the RGB grid, IR pair kept, no depth_gt yet."""
    rgb_hw = frame.rgb.shape[:2]
    if frame.registered_to_rgb or is_identity_registration(frame.depth_raw.shape, rgb_hw, frame.K_depth,
                                                           frame.K_rgb, frame.T_rgb_from_depth):
        depth = frame.depth_raw.astype(np.float32, copy=False)
    else:
        depth = register_depth_to_rgb(frame.depth_raw, frame.K_depth, frame.K_rgb, frame.T_rgb_from_depth, rgb_hw)
    sample = Sample(
        key=key, source=Source.REAL, dataset=DATASET, rgb=frame.rgb, K_rgb=frame.K_rgb, depth_raw=depth,
        scene_id=session.name, scene_category=category,
        device=device_label(info["kind"], frame.serial or device_name),
        ir_left=frame.ir_left, ir_right=frame.ir_right, K_ir=frame.K_ir if frame.ir_left is not None else None,
        baseline_m=frame.baseline_m, T_rgb_from_ir=np.asarray(frame.T_rgb_from_ir, dtype=np.float64),
        stats={"fill_rate": frame.fill_rate()},
        provenance={"session": session.name, "operator": session.operator, "location_note": session.location_note,
                    "device_name": device_name, "serial": frame.serial, "model": frame.model,
                    "firmware": info.get("firmware", ""), "capture_index": capture_index,
                    "burst_index": burst_index, "frame_number": frame.frame_number,
                    "timestamps_ms": frame.timestamps_ms, "emitter_on": frame.emitter_on,
                    "depth_scale": frame.depth_scale, "depth_registered_to_rgb": not frame.registered_to_rgb,
                    "K_depth": frame.K_depth.as_list(), "T_rgb_from_depth": np.asarray(frame.T_rgb_from_depth).tolist()})
    # mask_ratio / depth_raw_valid_ratio are measured on the stored (RGB-grid) depth; fill_rate on the sensor grid
    return with_stats(sample)


class Recorder:
    """Writes captures of a connected rig into session folders under ``out``."""

    def __init__(self, out: str | Path, rig: Rig, *, disk_guard: DiskGuard | None = None):
        self.out = Path(out)
        self.out.mkdir(parents=True, exist_ok=True)
        self.rig = rig
        self.disk_guard = disk_guard or DiskGuard()
        self.session: SessionSettings | None = None
        self.captures: list[CaptureRecord] = []
        self._lock = threading.RLock()

    # -------------------------------------------------------------- sessions

    @property
    def session_dir(self) -> Path:
        if self.session is None:
            raise CaptureError("no session is open; start one first")
        return self.out / self.session.name

    def open_session(self, settings: SessionSettings) -> Path:
        """Create (or resume) a session folder and write its session.json."""
        check_session_name(settings.name)
        check_category(settings.scene_category)
        with self._lock:
            self.session = settings
            folder = self.session_dir
            folder.mkdir(parents=True, exist_ok=True)
            self.captures = self._load_captures(folder)
            devices = {}
            for name, camera in self.rig.cameras.items():
                devices[name] = {**asdict(camera.info()), "spec": self.rig.config.devices[name].spec,
                                 "primary": name == self.rig.primary}
            meta = {"session": settings.name, "operator": settings.operator,
                    "scene_category": settings.scene_category, "location_note": settings.location_note,
                    "rig": self.rig.config.name, "devices": devices, "software": software_versions()}
            existing = folder / SESSION_FILE
            meta["created"] = (json.loads(existing.read_text())["created"] if existing.is_file()
                               else dt.datetime.now(dt.timezone.utc).isoformat())
            write_json_atomic(existing, meta)
            return folder

    def _load_captures(self, folder: Path) -> list[CaptureRecord]:
        path = folder / CAPTURES_FILE
        if not path.is_file():
            return []
        return [CaptureRecord(**entry) for entry in json.loads(path.read_text())]

    def _next_index(self) -> int:
        """One past the newest logged capture, skipping indices whose folders exist anyway (a crash
        between writing the samples and the log leaves such folders; they are never overwritten)."""
        index = max((c.index for c in self.captures), default=-1) + 1
        while any(sample_dir(self.out, capture_key(self.session.name, name, index)).exists()
                  for name in self.rig.cameras):
            index += 1
        return index

    @contextmanager
    def _session_lock(self) -> Iterator[None]:
        """Thread lock plus an exclusive flock, so other processes writing the session wait too."""
        with self._lock:
            with open(self.session_dir / LOCK_FILE, "a") as handle:
                fcntl.flock(handle, fcntl.LOCK_EX)
                try:
                    self.captures = self._load_captures(self.session_dir)
                    yield
                finally:
                    fcntl.flock(handle, fcntl.LOCK_UN)

    # -------------------------------------------------------------- capture

    def read_device(self, name: str) -> Frame:
        """One frame of one device, under the lock (preview and capture share the devices)."""
        with self._lock:
            return self.rig.cameras[name].read()

    def set_emitter(self, on: bool) -> None:
        """Switch every device's projector (IR captures want it on; RGB-only shots may want it off)."""
        with self._lock:
            for camera in self.rig.cameras.values():
                camera.set_emitter(on)

    def capture(self, category: str | None = None, burst: int = 1) -> list[CaptureRecord]:
        """Capture ``burst`` consecutive frames of every device; all are written or none."""
        session = self.session
        if session is None:
            raise CaptureError("no session is open; start one first")
        category = check_category(category or session.scene_category)
        if not 1 <= burst <= MAX_BURST:
            raise CaptureError(f"burst must be between 1 and {MAX_BURST}, got {burst}")
        with self._session_lock():
            self.disk_guard.check(self.session_dir)
            bursts = [self.rig.read_all() for _ in range(burst)]        # a device error here writes nothing
            needed = sum(f.nbytes() for frames in bursts for f in frames.values())
            self.disk_guard.check(self.session_dir, needed)
            first_index = self._next_index()
            infos = {name: asdict(camera.info()) for name, camera in self.rig.cameras.items()}
            records, samples = [], []
            for n, frames in enumerate(bursts):
                index = first_index + n
                keys, fills = [], {}
                for name, frame in frames.items():
                    key = capture_key(session.name, name, index)
                    samples.append(frame_to_sample(frame, key=key, category=category, session=session,
                                                   device_name=name, capture_index=index, burst_index=n,
                                                   info=infos[name]))
                    keys.append(key)
                    fills[name] = round(frame.fill_rate(), 6)
                records.append(CaptureRecord(index=index, category=category, keys=keys, fill_rates=fills,
                                             time=dt.datetime.now(dt.timezone.utc).isoformat(), burst_index=n))
            self._write_all(samples, records)
        log.info("captured %d frame(s) x %d device(s) in %s", burst, len(self.rig.cameras), category)
        return records

    def _write_all(self, samples: list[Sample], records: list[CaptureRecord]) -> None:
        """Write the samples and log their captures: all of it or, on any error, none of it."""
        written: list[Path] = []
        try:
            for sample in samples:
                written.append(write_sample(self.out, sample))
            self._save_captures(self.captures + records)
        except BaseException as exc:
            for path in written:
                shutil.rmtree(path, ignore_errors=True)
            if isinstance(exc, DiskFullError):   # the disk filled up under the guard's margin
                raise DiskSpaceError(str(exc)) from exc
            raise
        self.captures.extend(records)

    def _save_captures(self, captures: list[CaptureRecord] | None = None) -> None:
        entries = self.captures if captures is None else captures
        write_json_atomic(self.session_dir / CAPTURES_FILE, [asdict(c) for c in entries])

    def delete_last(self) -> CaptureRecord | None:
        """Remove the newest capture's samples (review → delete)."""
        with self._session_lock():
            if not self.captures:
                return None
            last = self.captures.pop()
            for key in last.keys:
                shutil.rmtree(sample_dir(self.out, key), ignore_errors=True)
            self._save_captures()
            return last

    def counts_by_category(self) -> dict[str, int]:
        """Captures per category over every session in ``out`` (quotas span sessions)."""
        counts: dict[str, int] = {}
        for log_file in self.out.glob(f"*/{CAPTURES_FILE}"):
            try:
                entries = json.loads(log_file.read_text())
            except (OSError, json.JSONDecodeError):
                continue
            for entry in entries:
                counts[entry["category"]] = counts.get(entry["category"], 0) + 1
        return counts
