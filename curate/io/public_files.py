"""Readers shared by the public-benchmark importers (NYUv2, iBims-1, DIODE, ETH3D ...).

Every error is a SchemaError naming the file and what is wrong with it; inside ``import_item`` it
fails that item, inside ``find_items`` it stops the import (exit code 2).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from depthcur.schemas import SchemaError
from depthcur.schemas.codecs import decode_png


def require_file(path: Path, what: str, field: str | None = None) -> Path:
    if not path.is_file():
        raise SchemaError(f"{what} does not exist", field=field, path=str(path))
    return path


def read_mask_png(path: Path, shape: tuple[int, int], *, field: str) -> np.ndarray:
    """A single-channel mask PNG as bool (any non-zero value is set), checked against the image size."""
    mask = decode_png(require_file(path, "mask image", field).read_bytes(), field=field, path=str(path))
    if mask.ndim == 3:
        if not np.array_equal(mask.min(axis=2), mask.max(axis=2)):
            raise SchemaError(f"expected a single-channel mask, got {mask.shape[2]} different channels",
                              field=field, path=str(path))
        mask = mask[..., 0]
    check_shape(mask, shape, path, field)
    return mask > 0


def read_npy(path: Path, *, field: str) -> np.ndarray:
    """An ``.npy`` array; a missing, truncated or non-npy file is named with what went wrong."""
    try:
        return np.load(require_file(path, "array file", field), allow_pickle=False)
    except (ValueError, EOFError, OSError) as exc:
        raise SchemaError(f"not a readable .npy array ({exc})", field=field, path=str(path)) from None


def check_shape(array: np.ndarray, shape: tuple[int, int], path: Path, field: str) -> None:
    if array.shape[:2] != tuple(shape):
        raise SchemaError(f"size {array.shape[1] if array.ndim > 1 else '?'}x{array.shape[0]} does not match the "
                          f"RGB image ({shape[1]}x{shape[0]})", field=field, path=str(path))


def metres_or_zero(depth: np.ndarray) -> np.ndarray:
    """float32 metres with every non-finite or non-positive value set to 0 (the record's invalid)."""
    depth = np.asarray(depth, dtype=np.float32)
    return np.where(np.isfinite(depth) & (depth > 0), depth, np.float32(0)).astype(np.float32)
