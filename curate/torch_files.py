"""Reading .pt/.pth files that may come from anyone: weights only, never code.

``torch.load(..., weights_only=True)`` unpickles tensors, dicts, lists, tuples, numbers and strings
and refuses any other class, so a checkpoint from the internet cannot run code when it is read.
numpy arrays, scalars and numeric dtypes are allowed as well: they are data, and published
checkpoints (and depthcur's own before it stored its numpy RNG state as a tensor) contain them.
torch comes with the train extra; in curate only the FoundationStereo matcher reads such files.
"""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

import numpy as np


class UnsafeWeightsError(ValueError):
    """The file holds a pickled object that a weights-only load refuses."""


def numpy_data_globals() -> list:
    """What unpickling numpy arrays, scalars and their (non-object) dtypes needs."""
    numeric = "?" + np.typecodes["AllInteger"] + np.typecodes["AllFloat"]
    return [np.zeros(1).__reduce__()[0], np.float64(0).__reduce__()[0], np.ndarray, np.dtype,
            *{type(np.dtype(code)) for code in numeric}]


def load_weights_only(path: str | Path, what: str) -> Any:
    """The contents of a torch file, loaded on the CPU; ``what`` names the file's role in errors."""
    import torch

    try:
        with torch.serialization.safe_globals(numpy_data_globals()):
            return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        raise UnsafeWeightsError(f"{what} {path}: refused by the weights-only loader, which reads only tensors, "
                                 f"containers, numbers, strings and numpy data (any other pickled object could "
                                 f"run code): {refusal_reason(exc)}") from None
    except (FileNotFoundError, IsADirectoryError, PermissionError):
        raise
    except Exception as exc:  # noqa: BLE001 - truncated, or not a torch file at all: torch raises anything
        raise ValueError(f"{what} {path}: not a readable PyTorch file ({type(exc).__name__}: {exc}); "
                         f"pass a .pt/.pth file written by torch.save") from None


# torch's refusal message wraps the one line that matters in advice about weights_only=False
_TORCH_BOILERPLATE = ("Weights only load failed", "In PyTorch", "Please file an issue", "Check the documentation",
                      "(1)", "(2)")


def refusal_reason(exc: Exception) -> str:
    lines = [line.strip() for line in str(exc).splitlines()]
    detail = [line.split(" Please use")[0] for line in lines if line and not line.startswith(_TORCH_BOILERPLATE)]
    return "; ".join(detail) or "refused by the weights-only unpickler"
