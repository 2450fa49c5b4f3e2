"""Atomic checkpoints: write to a temporary file in the same folder, fsync, rename.

A checkpoint holds the model, optimiser, scheduler, RNG states, the data position and the
resolved config, so ``--resume`` continues exactly. A crash mid-write leaves only a ``.tmp``
file, which is never picked up as a checkpoint.
"""

from __future__ import annotations

import os
import random
import re
from pathlib import Path
from typing import Any

import numpy as np
import torch

CHECKPOINT_DIR = "checkpoints"
_STEP_FILE = re.compile(r"^step_(\d{8})\.pt$")


def checkpoint_path(run_dir: Path, step: int) -> Path:
    return Path(run_dir) / CHECKPOINT_DIR / f"step_{step:08d}.pt"


def save_atomic(obj: Any, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "wb") as fh:
        torch.save(obj, fh)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def list_checkpoints(run_dir: Path) -> list[tuple[int, Path]]:
    folder = Path(run_dir) / CHECKPOINT_DIR
    if not folder.is_dir():
        return []
    found = [(int(m.group(1)), p) for p in folder.iterdir() if (m := _STEP_FILE.match(p.name))]
    return sorted(found)


def latest_checkpoint(path: Path) -> Path:
    """A checkpoint file, or the newest one in a run folder; a clear error otherwise."""
    path = Path(path)
    if path.is_file():
        return path
    found = list_checkpoints(path)
    if not found:
        raise FileNotFoundError(f"{path}: no checkpoint found (expected {CHECKPOINT_DIR}/step_XXXXXXXX.pt in a "
                                f"run folder made by 'depthcur train', or a .pt file)")
    return found[-1][1]


def prune(run_dir: Path, keep: int) -> None:
    for _, path in list_checkpoints(run_dir)[:-keep]:
        path.unlink(missing_ok=True)


def rng_state() -> dict[str, Any]:
    state = {"torch": torch.get_rng_state(), "numpy": np.random.get_state(), "python": random.getstate()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def restore_rng(state: dict[str, Any]) -> None:
    torch.set_rng_state(state["torch"])
    np.random.set_state(state["numpy"])
    random.setstate(state["python"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def load(path: Path) -> dict[str, Any]:
    try:
        return torch.load(path, map_location="cpu", weights_only=False)
    except Exception as exc:  # a truncated or foreign file
        raise ValueError(f"checkpoint {path} cannot be read ({type(exc).__name__}: {exc})") from exc
