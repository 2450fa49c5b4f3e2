"""Atomic checkpoints: write to a temporary file in the same folder, fsync, rename.

A checkpoint holds the model, optimiser, scheduler, RNG states, the data position and the
resolved config, so ``--resume`` continues exactly. A crash mid-write leaves only a ``.tmp``
file, which is never picked up as a checkpoint.

Everything in it is a tensor, dict, list, tuple, number, string or None (numpy's RNG state is
stored as a tensor), so it loads with ``torch.load(weights_only=True)``: reading a checkpoint
someone else made cannot run code. ``save_atomic`` refuses anything else, naming the field.
"""

from __future__ import annotations

import os
import random
import re
from collections import OrderedDict
from pathlib import Path
from typing import Any

import numpy as np
import torch

from depthcur.core.outputs import full_disk_named
from depthcur.curate.torch_files import load_weights_only

CHECKPOINT_DIR = "checkpoints"
_STEP_FILE = re.compile(r"^step_(\d{8})\.pt$")


def checkpoint_path(run_dir: Path, step: int) -> Path:
    return Path(run_dir) / CHECKPOINT_DIR / f"step_{step:08d}.pt"


#: the leaf types a weights-only load rebuilds (besides tensors); exact types, so numpy scalars are not taken
_PLAIN = (str, bytes, int, float, bool, type(None), torch.dtype, torch.device)


def check_weights_only(obj: Any, where: str) -> None:
    """Raise TypeError naming the first field of ``obj`` that ``torch.load(weights_only=True)`` refuses."""
    if type(obj) in (dict, OrderedDict):
        for key, value in obj.items():
            if type(key) not in (str, int):
                raise TypeError(f"{where}: key {key!r} is a {type(key).__name__}, not a string or number")
            check_weights_only(value, f"{where}.{key}")
    elif type(obj) in (list, tuple, torch.Size):
        for i, value in enumerate(obj):
            check_weights_only(value, f"{where}[{i}]")
    elif type(obj) not in _PLAIN and not isinstance(obj, torch.Tensor):
        raise TypeError(f"{where} is a {type(obj).__module__}.{type(obj).__qualname__}; a checkpoint holds only "
                        f"tensors, dicts, lists, tuples, numbers, strings and None (convert it before saving)")


class _KeepsWriteError:
    """The file ``torch.save`` writes into, keeping the OSError of a failed write: torch's zip writer
    swallows it and raises ``RuntimeError: ... unexpected pos``, which would hide a full disk."""

    def __init__(self, fh: Any):
        self.fh, self.error = fh, None

    def write(self, data: Any) -> int:
        try:
            return self.fh.write(data)
        except OSError as exc:
            self.error = exc
            raise

    def flush(self) -> None:
        self.fh.flush()


def save_atomic(obj: Any, path: Path) -> None:
    check_weights_only(obj, f"checkpoint {path}")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with full_disk_named(path):
        try:
            with open(tmp, "wb") as fh:
                writer = _KeepsWriteError(fh)
                try:
                    torch.save(obj, writer)
                except RuntimeError:
                    if writer.error is not None:
                        raise writer.error from None    # the disk's own error: full_disk_named names it
                    raise
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, path)
        except BaseException:
            tmp.unlink(missing_ok=True)   # a full disk or a kill leaves no half checkpoint behind
            raise


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
    numpy_state = np.random.get_state(legacy=False)
    numpy_state["state"]["key"] = torch.from_numpy(numpy_state["state"]["key"].astype(np.int64))
    state = {"torch": torch.get_rng_state(), "numpy": numpy_state, "python": random.getstate()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def restore_rng(state: dict[str, Any]) -> None:
    torch.set_rng_state(state["torch"])
    numpy_state = state["numpy"]
    if isinstance(numpy_state, dict):  # checkpoints before this change hold get_state()'s tuple with an array
        key = numpy_state["state"]["key"].numpy().astype(np.uint32)
        numpy_state = {**numpy_state, "state": {**numpy_state["state"], "key": key}}
    np.random.set_state(numpy_state)
    random.setstate(state["python"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def load(path: Path) -> dict[str, Any]:
    """A checkpoint's contents; a ValueError naming ``path`` when it is unreadable or not a checkpoint."""
    state = load_weights_only(path, "checkpoint")
    if not isinstance(state, dict):
        raise ValueError(f"checkpoint {path}: holds a {type(state).__name__}, not a depthcur training checkpoint")
    return state
