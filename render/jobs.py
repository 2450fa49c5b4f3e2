"""Turning ``--scenes SPEC`` into scenes and per-sample jobs with their keys and seeds (no bpy)."""

from __future__ import annotations

import glob
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from depthcur.core.exits import UsageError
from depthcur.schemas.keys import build_key, sanitise_key_part

from .config import RenderConfig
from .scenes.files import SCENE_SUFFIXES


class SceneSpecError(UsageError):
    """``--scenes`` names nothing renderable; the message names the folder or pattern."""


@dataclass(frozen=True)
class SceneSpec:
    scene_id: str                 # key-safe: [a-z0-9_-]
    path: str | None = None       # None for a procedural room

    @property
    def procedural(self) -> bool:
        return self.path is None


@dataclass(frozen=True)
class SampleJob:
    scene: SceneSpec
    sample_index: int
    key: str


def _file_scenes(paths: list[Path]) -> list[SceneSpec]:
    specs, used = [], set()
    for path in sorted(paths):
        scene_id = sanitise_key_part(f"{path.stem}_{path.suffix.lstrip('.')}", fallback="scene")
        base, n = scene_id, 1
        while scene_id in used:         # same stem in two folders: keep keys unique and stable
            n += 1
            scene_id = f"{base}_{n}"
        used.add(scene_id)
        specs.append(SceneSpec(scene_id=scene_id, path=str(path)))
    return specs


def expand_scenes(spec: str) -> list[SceneSpec]:
    """``procedural:N``, a folder of scene files, or a glob of scene files."""
    if spec.startswith("procedural"):
        _, _, count = spec.partition(":")
        try:
            n = int(count or 1)
        except ValueError:
            raise SceneSpecError(f"--scenes {spec!r}: write procedural:N with N a whole number") from None
        if n < 1:
            raise SceneSpecError(f"--scenes {spec!r}: N must be at least 1")
        return [SceneSpec(scene_id=f"procedural_{i:04d}") for i in range(n)]
    path = Path(spec)
    if path.is_dir():
        files = [p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in SCENE_SUFFIXES]
        if not files:
            raise SceneSpecError(f"scene folder {path} holds no scene files ({', '.join(SCENE_SUFFIXES)})")
        return _file_scenes(files)
    matches = [Path(p) for p in glob.glob(spec, recursive=True)]
    if not matches:
        raise SceneSpecError(f"--scenes {spec!r}: no such folder or file, and the pattern matches nothing")
    unsupported = [str(p) for p in matches if p.is_file() and p.suffix.lower() not in SCENE_SUFFIXES]
    files = [p for p in matches if p.is_file() and p.suffix.lower() in SCENE_SUFFIXES]
    if not files:
        raise SceneSpecError(f"--scenes {spec!r} matches no scene file ({', '.join(SCENE_SUFFIXES)}); "
                             f"matched: {', '.join(unsupported[:5]) or 'only folders'}")
    return _file_scenes(files)


def make_jobs(config: RenderConfig, scenes: list[SceneSpec]) -> list[SampleJob]:
    return [SampleJob(scene, i, build_key("sim", scene.scene_id, f"{i:04d}"))
            for scene in scenes for i in range(config.samples_per_scene)]


def _stable_id(text: str) -> int:
    return zlib.crc32(text.encode())


def scene_rng(seed: int, scene: SceneSpec) -> np.random.Generator:
    """The scene's generator: the same room for the same (seed, scene) on any worker."""
    return np.random.default_rng(np.random.SeedSequence([seed, _stable_id(scene.scene_id)]))


def sample_seed(seed: int, job: SampleJob) -> int:
    """A 31-bit seed for one sample (rig, pose, projector pattern, Cycles)."""
    sequence = np.random.SeedSequence([seed, _stable_id(job.scene.scene_id), job.sample_index])
    return int(sequence.generate_state(1)[0] & 0x7FFFFFFF)
