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


def header_tokens(data: bytes, count: int, *, comments: bool = False) -> tuple[list[bytes], int]:
    """The first ``count`` whitespace-separated tokens of a Netpbm-style header (PGM, PPM, PFM) and the
    offset of the data: the one whitespace byte after the last token belongs to the header.

    Fewer tokens come back when the file ends first. ``comments``: ``#`` starts a comment that runs to
    the end of its line (Netpbm allows them; PFM has none).
    """
    tokens: list[bytes] = []
    offset = 0
    while len(tokens) < count:
        while offset < len(data) and data[offset:offset + 1].isspace():
            offset += 1
        if comments and data[offset:offset + 1] == b"#":
            offset = data.find(b"\n", offset) + 1 or len(data)
            continue
        end = offset
        while end < len(data) and not data[end:end + 1].isspace():
            end += 1
        if end == offset:
            break
        tokens.append(data[offset:end])
        offset = min(end + 1, len(data))
    return tokens, offset


def read_pfm(path: Path, *, field: str) -> np.ndarray:
    """A PFM image as float32 (H×W, or H×W×3 for ``PF``), top row first; inf stays inf.

    The header is ``Pf``/``PF``, ``width height`` and a scale whose sign gives the byte order
    (negative: little-endian); the rows are stored bottom to top.
    """
    data = path.read_bytes()
    header, offset = header_tokens(data, 4)       # magic, width, height, scale
    if len(header) < 4:
        raise SchemaError(f"PFM header ends after {len(header)} of 4 tokens (magic, width, height, scale)",
                          field=field, path=str(path))
    magic, width, height, scale = header
    if magic not in (b"Pf", b"PF"):
        raise SchemaError(f"not a PFM file: magic {magic[:8]!r}, expected b'Pf' or b'PF'", field=field,
                          path=str(path))
    try:
        w, h, s = int(width), int(height), float(scale)
    except ValueError:
        raise SchemaError(f"PFM header has a non-number size or scale ({width!r} {height!r} {scale!r})",
                          field=field, path=str(path)) from None
    if w <= 0 or h <= 0 or s == 0:
        raise SchemaError(f"PFM header gives size {w}x{h} and scale {s}; both sides and the scale must be "
                          f"non-zero", field=field, path=str(path))
    channels = 3 if magic == b"PF" else 1
    expected = w * h * channels * 4
    if len(data) - offset < expected:
        raise SchemaError(f"truncated PFM: {w}x{h}x{channels} float32 needs {expected} bytes after the header, "
                          f"found {len(data) - offset}", field=field, path=str(path))
    values = np.frombuffer(data, dtype="<f4" if s < 0 else ">f4", count=w * h * channels, offset=offset)
    image = values.reshape((h, w, channels) if channels == 3 else (h, w))[::-1]
    return image.astype(np.float32)   # native byte order, top row first, writable



#: the four bytes every OpenEXR file starts with
EXR_MAGIC = b"\x76\x2f\x31\x01"


def exr_codec():
    """cv2 with its OpenEXR codec on: OpenCV reads OPENCV_IO_ENABLE_OPENEXR once, at its first EXR call,
    so setting it here (before any EXR is touched) works whether or not cv2 is already imported."""
    import os

    os.environ["OPENCV_IO_ENABLE_OPENEXR"] = "1"
    import cv2

    return cv2


def read_exr_depth(path: Path, *, field: str) -> np.ndarray:
    """A float OpenEXR depth map as float32 H×W, values as stored (NaN/inf untouched).

    A one-channel file gives that channel; an RGB(A) file gives R, the channel the datasets' own
    loaders read (ClearGrasp, TransCG and DREDS write depth into R, G and B alike).
    """
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise SchemaError("EXR depth file does not exist", field=field, path=str(path)) from None
    if data[:4] != EXR_MAGIC:
        raise SchemaError(f"not an OpenEXR file (starts with {data[:4]!r})", field=field, path=str(path))
    cv2 = exr_codec()
    try:
        image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    except cv2.error as exc:
        raise SchemaError(f"OpenCV could not read the EXR ({str(exc).strip().splitlines()[-1]})", field=field,
                          path=str(path)) from None
    if image is None:
        raise SchemaError(f"truncated or damaged OpenEXR file ({len(data)} bytes): OpenCV could not decode it",
                          field=field, path=str(path))
    if image.ndim == 3:
        image = image[..., 2]           # OpenCV orders channels B, G, R(, A)
    return np.ascontiguousarray(image, dtype=np.float32)


def write_exr_depth(path: Path, depth: np.ndarray, channels: int = 1) -> None:
    """A float32 EXR of ``depth`` (one channel, or R=G=B as ClearGrasp's and DREDS's tools write it)."""
    cv2 = exr_codec()
    image = depth.astype(np.float32)
    if channels == 3:
        image = np.dstack([image] * 3)
    ok, buf = cv2.imencode(".exr", image)
    if not ok:
        raise SchemaError("OpenCV could not encode the EXR", path=str(path))
    write_bytes_atomic(path, buf.tobytes())
