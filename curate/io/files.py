"""File readers shared by the layouts; every error names the file."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from depthcur.schemas import Intrinsics, SchemaError, write_bytes_atomic
from depthcur.schemas.codecs import decode_png, decode_rgb, encode_png, encode_rgb, units_to_depth, depth_to_units


def read_rgb_file(path: Path) -> tuple[np.ndarray, str]:
    """(RGB uint8, "png"|"jpeg") of an image file."""
    data = path.read_bytes()
    return decode_rgb(data, path=str(path)), ("jpeg" if path.suffix.lower() in (".jpg", ".jpeg") else "png")


def read_uint16_png(path: Path, *, field: str) -> np.ndarray:
    """A single-channel 16-bit PNG; an 8-bit or colour PNG is refused (depth would be wrong)."""
    image = decode_png(path.read_bytes(), field=field, path=str(path))
    if image.dtype != np.uint16 or image.ndim != 2:
        raise SchemaError(f"expected a single-channel 16-bit depth PNG, got {image.dtype} with shape "
                          f"{image.shape}; 8-bit depth loses range and precision", field=field, path=str(path))
    return image


def read_depth_png(path: Path, scale: float, *, field: str) -> np.ndarray:
    return units_to_depth(read_uint16_png(path, field=field), scale)


def write_depth_png(path: Path, depth: np.ndarray, scale: float, *, field: str) -> None:
    write_bytes_atomic(path, encode_png(depth_to_units(depth, scale, field=field)))


def write_rgb(path: Path, rgb: np.ndarray) -> None:
    fmt = "jpeg" if path.suffix.lower() in (".jpg", ".jpeg") else "png"
    write_bytes_atomic(path, encode_rgb(rgb, fmt))


def check_same_size(rgb: np.ndarray, rgb_path: Path, depth: np.ndarray, depth_path: Path, field: str) -> None:
    if rgb.shape[:2] != depth.shape[:2]:
        raise SchemaError(f"size {depth.shape[1]}x{depth.shape[0]} does not match the RGB image {rgb_path} "
                          f"({rgb.shape[1]}x{rgb.shape[0]})", field=field, path=str(depth_path))


def read_intrinsic_txt(path: Path) -> Intrinsics:
    """A 3×3 K (three rows of three numbers) or one line ``fx fy cx cy``."""
    try:
        numbers = [float(x) for x in path.read_text().split()]
    except FileNotFoundError:
        raise SchemaError("intrinsics file does not exist", field="K_rgb", path=str(path)) from None
    except ValueError as exc:
        raise SchemaError(f"intrinsics file holds a non-number ({exc})", field="K_rgb", path=str(path)) from None
    if len(numbers) == 9:
        k = np.array(numbers).reshape(3, 3)
        if not np.allclose(k[2], [0, 0, 1]) or k[0, 1] != 0 or k[1, 0] != 0:
            raise SchemaError(f"not a pinhole K (last row {k[2].tolist()}, skew {k[0, 1]})", field="K_rgb",
                              path=str(path))
        return Intrinsics.from_any(k)
    if len(numbers) == 4:
        return Intrinsics(*numbers)
    raise SchemaError(f"expected 9 numbers (3×3 K) or 4 (fx fy cx cy), found {len(numbers)}", field="K_rgb",
                      path=str(path))


def write_intrinsic_txt(path: Path, k: Intrinsics) -> None:
    rows = k.matrix()
    write_bytes_atomic(path, "".join(" ".join(repr(float(v)) for v in row) + "\n" for row in rows).encode())
