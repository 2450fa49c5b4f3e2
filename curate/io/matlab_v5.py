"""The numeric arrays of a MATLAB v5/v7 ``.mat`` file (the format before v7.3's HDF5), without scipy.

Layout (MathWorks, "MAT-File Format"): a 128-byte header ending in the version and the endian
indicator ``IM`` (little-endian) or ``MI`` (big-endian), then data elements. Each element has an
8-byte tag (type, byte count; a "small" element packs a 2-byte count, 2-byte type and up to 4 data
bytes into the tag itself) and is padded to 8 bytes. ``miCOMPRESSED`` (15) holds one zlib-compressed
element; ``miMATRIX`` (14) holds array flags, dimensions, a name and the real part. Only the numeric
classes are read: that is all a splits file needs.
"""

from __future__ import annotations

import zlib
from pathlib import Path

import numpy as np

from depthcur.schemas import SchemaError

MI_MATRIX, MI_COMPRESSED = 14, 15
#: data element types -> numpy dtype (without byte order)
NUMERIC_TYPES = {1: "i1", 2: "u1", 3: "i2", 4: "u2", 5: "i4", 6: "u4", 7: "f4", 9: "f8", 12: "i8", 13: "u8"}


def elements(data: bytes, order: str, path: Path):
    """(type, payload) of each data element in ``data``."""
    pos = 0
    while pos + 8 <= len(data):
        first, second = np.frombuffer(data, f"{order}u4", 2, pos)
        if first >> 16:                                    # small element: all in 8 bytes
            kind, size = int(first & 0xFFFF), int(first >> 16)
            yield kind, data[pos + 4:pos + 4 + size]
            pos += 8
            continue
        kind, size = int(first), int(second)
        if pos + 8 + size > len(data):
            raise SchemaError(f"truncated MAT-file: an element of {size} bytes at byte {pos} runs past the end",
                              path=str(path))
        yield kind, data[pos + 8:pos + 8 + size]
        pos += 8 + size + (-size % 8 if kind != MI_COMPRESSED else 0)


def read_matrix(payload: bytes, order: str, path: Path) -> tuple[str, np.ndarray | None]:
    """(name, array) of one miMATRIX payload; array None for a non-numeric class (cells, structs, chars)."""
    parts = list(elements(payload, order, path))
    if len(parts) < 3:
        return "", None
    (_, flags), (_, dims), (_, name) = parts[:3]
    array_class = int(np.frombuffer(flags, f"{order}u4", 1)[0] & 0xFF)
    shape = tuple(int(d) for d in np.frombuffer(dims, f"{order}i4"))
    if array_class not in range(6, 16) or len(parts) < 4 or parts[3][0] not in NUMERIC_TYPES:
        return name.decode("ascii", "replace"), None
    kind, real = parts[3]
    values = np.frombuffer(real, f"{order}{NUMERIC_TYPES[kind]}")
    if values.size != int(np.prod(shape)):
        raise SchemaError(f"array {name.decode()!r} has {values.size} values for dimensions {shape}", path=str(path))
    return name.decode("ascii", "replace"), values.reshape(shape, order="F").astype(np.float64)


def load_numeric(path: Path) -> dict[str, np.ndarray]:
    """Every numeric array of a v5/v7 MAT-file by name (as float64, MATLAB's shape)."""
    data = path.read_bytes()
    if len(data) < 128 or data[126:128] not in (b"IM", b"MI"):
        raise SchemaError("not a MATLAB v5/v7 MAT-file (no endian indicator at byte 126)", path=str(path))
    order = "<" if data[126:128] == b"IM" else ">"
    arrays = {}
    for kind, payload in elements(data[128:], order, path):
        if kind == MI_COMPRESSED:
            try:
                payload = zlib.decompress(payload)
            except zlib.error as exc:
                raise SchemaError(f"damaged compressed element ({exc})", path=str(path)) from None
            kind, payload = next(elements(payload, order, path), (0, b""))
        if kind == MI_MATRIX:
            name, array = read_matrix(payload, order, path)
            if array is not None:
                arrays[name] = array
    return arrays
