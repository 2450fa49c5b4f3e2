"""Byte codecs for the maps of a sample, and the encoded form every container shares.

The encoded form (:class:`EncodedSample`) is a JSON-able ``meta`` dict plus one encoded
blob per map. Raw sample folders, Parquet rows and WebDataset members are three
spellings of the same encoded form, so there is exactly one place that turns arrays
into bytes.
"""

from __future__ import annotations

import io
import json
import math
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from .errors import SchemaError
from .fields import MAP_FIELD_BY_NAME, MAP_FIELDS, UINT16_LIMIT, DepthGtKind, Source, Split
from .record import DepthEncoding, Intrinsics, Sample
from .version import SCHEMA_VERSION

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
JPEG_MAGIC = b"\xff\xd8\xff"
NPY_MAGIC = b"\x93NUMPY"
#: file extensions a map may be stored with
MAP_EXTENSIONS = ("png", "jpg", "npy")

#: Decoders read the size an image declares and refuse it before allocating anything when the
#: bytes cannot hold it: deflate (PNG) never compresses better than 1032:1, and no real JPEG
#: comes near that many pixels per byte either. Nor is any map larger than 16384 x 16384.
MAX_COMPRESSION_RATIO = 1032
MAX_MAP_PIXELS = 1 << 28
_PNG_CHANNELS = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}          # PNG colour type -> samples per pixel
_JPEG_SOF = set(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}  # start-of-frame markers (DHT, JPG, DAC excluded)


# ---------------------------------------------------------------- depth


def depth_to_units(depth: np.ndarray, scale: float, *, field: str = "depth") -> np.ndarray:
    """Metres -> uint16 units of ``scale`` metres. Refuses values that would clip."""
    depth = np.asarray(depth, dtype=np.float64)
    units = np.rint(depth / scale)
    if units.size and units.max() > UINT16_LIMIT:
        raise SchemaError(
            f"depth {depth.max():.3f} m exceeds the 16-bit range of depth_scale={scale} "
            f"({UINT16_LIMIT * scale:.3f} m); use a larger depth_scale or the npy encoding",
            field=field)
    return units.astype(np.uint16)


def units_to_depth(units: np.ndarray, scale: float) -> np.ndarray:
    return (units.astype(np.float64) * scale).astype(np.float32)


def encode_png(image: np.ndarray) -> bytes:
    ok, buf = cv2.imencode(".png", image, [cv2.IMWRITE_PNG_COMPRESSION, 1])
    if not ok:
        raise SchemaError(f"PNG encoding failed for array {image.dtype} {image.shape}")
    return buf.tobytes()


def _check_declared_size(width: int, height: int, raw_bytes: int, data: bytes, kind: str, field: str,
                         path: str | None) -> None:
    """Refuse an image whose declared size its bytes cannot hold, before the decoder allocates it."""
    if width < 1 or height < 1 or width * height > MAX_MAP_PIXELS:
        raise SchemaError(f"{kind} declares {width}x{height} pixels; the limit is {MAX_MAP_PIXELS} pixels",
                          field=field or None, path=path)
    if raw_bytes > MAX_COMPRESSION_RATIO * len(data):
        raise SchemaError(f"{kind} declares {width}x{height} pixels but holds only {len(data)} bytes",
                          field=field or None, path=path)


def _check_png_header(data: bytes, field: str, path: str | None) -> None:
    if len(data) < 33 or data[12:16] != b"IHDR":
        raise SchemaError("PNG has no IHDR header", field=field or None, path=path)
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    bit_depth, colour_type = data[24], data[25]
    channels = _PNG_CHANNELS.get(colour_type)
    if channels is None or bit_depth not in (1, 2, 4, 8, 16):
        raise SchemaError(f"PNG header is invalid (bit depth {bit_depth}, colour type {colour_type})",
                          field=field or None, path=path)
    row_bytes = 1 + (width * channels * bit_depth + 7) // 8     # one filter byte per row
    _check_declared_size(width, height, height * row_bytes, data, "PNG", field, path)


def _check_jpeg_header(data: bytes, path: str | None) -> None:
    """Walk the JPEG segments to the frame header and check the size it declares."""
    at = 2
    while at + 9 <= len(data):
        if data[at] != 0xFF:
            break
        marker = data[at + 1]
        if marker == 0xFF:                                     # fill byte
            at += 1
            continue
        if marker in _JPEG_SOF:
            height, width = int.from_bytes(data[at + 5:at + 7], "big"), int.from_bytes(data[at + 7:at + 9], "big")
            _check_declared_size(width, height, width * height, data, "JPEG", "rgb", path)
            return
        if marker == 0xDA:                                     # scan data before any frame header
            break
        at += 2 if 0xD0 <= marker <= 0xD8 or marker == 0x01 else 2 + int.from_bytes(data[at + 2:at + 4], "big")
    raise SchemaError("JPEG has no readable frame header", field="rgb", path=path)


def _imdecode(data: bytes, flags: int, kind: str, field: str, path: str | None) -> np.ndarray:
    try:
        image = cv2.imdecode(np.frombuffer(data, np.uint8), flags)
    except cv2.error as exc:
        raise SchemaError(f"{kind} data is corrupt ({exc.err})", field=field or None, path=path) from None
    if image is None:
        raise SchemaError(f"{kind} data is corrupt or truncated", field=field or None, path=path)
    return image


def decode_png(data: bytes, *, field: str = "", path: str | None = None) -> np.ndarray:
    """Decode a PNG keeping its bit depth (WebDataset's default handler would clip 16-bit)."""
    if not data.startswith(PNG_MAGIC):
        raise SchemaError("not a PNG file", field=field or None, path=path)
    _check_png_header(data, field, path)
    return _imdecode(data, cv2.IMREAD_UNCHANGED, "PNG", field, path)


def encode_depth_png(depth: np.ndarray, scale: float, *, field: str = "depth") -> bytes:
    return encode_png(depth_to_units(depth, scale, field=field))


def decode_depth_png(data: bytes, scale: float, *, field: str = "depth", path: str | None = None) -> np.ndarray:
    units = decode_png(data, field=field, path=path)
    if units.dtype != np.uint16 or units.ndim != 2:
        raise SchemaError(f"expected a single-channel 16-bit depth PNG, got {units.dtype} with shape "
                          f"{units.shape}", field=field, path=path)
    return units_to_depth(units, scale)


def encode_npy(array: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, np.ascontiguousarray(array), allow_pickle=False)
    return buf.getvalue()


def decode_npy(data: bytes, *, field: str = "", path: str | None = None) -> np.ndarray:
    if not data.startswith(NPY_MAGIC):
        raise SchemaError("not a .npy file", field=field or None, path=path)
    buf = io.BytesIO(data)
    try:
        version = np.lib.format.read_magic(buf)
        read_header = {(1, 0): np.lib.format.read_array_header_1_0,
                       (2, 0): np.lib.format.read_array_header_2_0}[version]
        shape, _, dtype = read_header(buf)
    except Exception as exc:  # numpy raises ValueError/EOFError, an unknown version a KeyError
        raise SchemaError(f".npy header is corrupt or truncated ({exc!r})", field=field or None,
                          path=path) from None
    if dtype.hasobject or dtype.kind not in "biuf":
        raise SchemaError(f".npy holds {dtype}, not real numbers", field=field or None, path=path)
    # The header's shape sizes the allocation: it must match the bytes that follow it.
    declared, held = math.prod(shape) * dtype.itemsize, len(data) - buf.tell()
    if declared != held:
        raise SchemaError(f".npy declares {dtype} {shape} ({declared} bytes) but holds {held} bytes",
                          field=field or None, path=path)
    try:
        return np.load(io.BytesIO(data), allow_pickle=False)
    except Exception as exc:  # numpy raises ValueError/EOFError for truncation
        raise SchemaError(f".npy data is corrupt or truncated ({exc})", field=field or None, path=path) from exc


# ---------------------------------------------------------------- colour


def encode_rgb(rgb: np.ndarray, fmt: str = "png", jpeg_quality: int = 95) -> bytes:
    bgr = cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2BGR)
    if fmt == "png":
        return encode_png(bgr)
    if fmt == "jpeg":
        ok, buf = cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, int(jpeg_quality)])
        if not ok:
            raise SchemaError("JPEG encoding failed", field="rgb")
        return buf.tobytes()
    raise SchemaError(f"rgb_format must be 'png' or 'jpeg', not {fmt!r}", field="rgb")


def decode_rgb(data: bytes, *, path: str | None = None) -> np.ndarray:
    if data.startswith(PNG_MAGIC):
        _check_png_header(data, "rgb", path)
    elif data.startswith(JPEG_MAGIC):
        _check_jpeg_header(data, path)
    else:
        raise SchemaError("RGB data is neither PNG nor JPEG", field="rgb", path=path)
    bgr = _imdecode(data, cv2.IMREAD_COLOR, "RGB image", "rgb", path)
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


# ---------------------------------------------------------------- one map


def encode_map(sample: Sample, name: str) -> tuple[str, bytes]:
    """(extension, bytes) for one present map of ``sample``."""
    array = getattr(sample, name)
    spec = MAP_FIELD_BY_NAME[name]
    if name == "rgb":
        return ("jpg" if sample.rgb_format == "jpeg" else "png"), encode_rgb(array, sample.rgb_format)
    if spec.depth:
        enc = sample.encoding_of(name)
        if enc.format == "npy":
            return "npy", encode_npy(array.astype(np.float32))
        return "png", encode_depth_png(array, enc.scale, field=name)
    if spec.ext == "npy":
        return "npy", encode_npy(array.astype(np.float32))
    return "png", encode_png(array)


def decode_map(name: str, data: bytes, depth_encoding: DepthEncoding | None = None,
               *, path: str | None = None) -> np.ndarray:
    spec = MAP_FIELD_BY_NAME.get(name)
    if spec is None:
        raise SchemaError(f"unknown map field {name!r}", field=name, path=path)
    if name == "rgb":
        return decode_rgb(data, path=path)
    if data.startswith(NPY_MAGIC):
        return decode_npy(data, field=name, path=path)      # as stored: validation checks the dtype
    if spec.depth:
        return decode_depth_png(data, (depth_encoding or DepthEncoding()).scale, field=name, path=path)
    return decode_png(data, field=name, path=path)


# ---------------------------------------------------------------- whole sample


@dataclass
class EncodedSample:
    """A sample as bytes: ``meta`` (JSON-able) and ``blobs`` {field: (ext, bytes)}."""

    meta: dict[str, Any]
    blobs: dict[str, tuple[str, bytes]]

    @property
    def key(self) -> str:
        return self.meta["key"]

    def nbytes(self) -> int:
        return sum(len(b) for _, b in self.blobs.values())


def _enum_value(value: Any) -> Any:
    return value.value if hasattr(value, "value") else value


def sample_meta(sample: Sample) -> dict[str, Any]:
    """The JSON-able metadata of a sample (everything but the map bytes)."""
    maps = sample.maps()
    return {
        "schema_version": SCHEMA_VERSION,
        "key": sample.key,
        "source": _enum_value(sample.source),
        "dataset": sample.dataset,
        "scene_id": sample.scene_id,
        "scene_category": sample.scene_category,
        "device": sample.device,
        "split": _enum_value(sample.split),
        "depth_gt_kind": _enum_value(sample.depth_gt_kind),
        "height": sample.height,
        "width": sample.width,
        "K_rgb": Intrinsics.from_any(sample.K_rgb).as_list(),
        "K_ir": Intrinsics.from_any(sample.K_ir).as_list() if sample.K_ir is not None else None,
        "baseline_m": None if sample.baseline_m is None else float(sample.baseline_m),
        "T_rgb_from_ir": None if sample.T_rgb_from_ir is None
        else np.asarray(sample.T_rgb_from_ir, dtype=np.float64).reshape(-1).tolist(),
        "depth_encoding": {name: {"format": sample.encoding_of(name).format,
                                  "scale": sample.encoding_of(name).scale}
                           for name in maps if MAP_FIELD_BY_NAME[name].depth},
        "rgb_format": sample.rgb_format,
        "stats": {k: float(v) for k, v in sample.stats.items()},
        "provenance": sample.provenance,
    }


def encode_sample(sample: Sample, *, validate: bool = True) -> EncodedSample:
    if validate:
        from .validate import validate_sample

        validate_sample(sample)
    blobs = {name: encode_map(sample, name) for name in sample.maps()}
    meta = sample_meta(sample)
    meta["maps"] = {name: ext for name, (ext, _) in blobs.items()}
    json.dumps(meta)  # fail here, not in a writer, if provenance is not JSON-able
    return EncodedSample(meta=meta, blobs=blobs)


def decode_sample(meta: dict[str, Any], blobs: dict[str, bytes], *, path: str | None = None) -> Sample:
    """Inverse of :func:`encode_sample`. ``blobs`` maps field name -> bytes.

    Any metadata that cannot make a :class:`Sample` raises :class:`SchemaError` naming the field;
    whether the sample is *valid* is :func:`~depthcur.schemas.validate.validate_sample`'s job."""
    if not isinstance(meta, dict):
        raise SchemaError(f"metadata must be a JSON object, not {type(meta).__name__}", path=path)
    key = meta.get("key")
    for required in ("key", "source", "dataset", "K_rgb"):
        if meta.get(required) in (None, ""):
            raise SchemaError("missing required field in metadata", key=key, field=required, path=path)
    if "rgb" not in blobs:
        raise SchemaError("missing required map", key=key, field="rgb", path=path)
    major = str(meta.get("schema_version", "0")).split(".")[0]
    if major != SCHEMA_VERSION.split(".")[0]:
        raise SchemaError(f"schema version {meta.get('schema_version')} is not readable by "
                          f"{SCHEMA_VERSION}", key=key, field="schema_version", path=path)
    for name in ("stats", "provenance", "depth_encoding"):
        if not isinstance(meta.get(name) or {}, dict):
            raise SchemaError(f"must be a JSON object, not {type(meta[name]).__name__}", key=key, field=name,
                              path=path)
    encodings = {name: _depth_encoding(spec, key=key, field=f"depth_encoding.{name}", path=path)
                 for name, spec in (meta.get("depth_encoding") or {}).items()}
    arrays: dict[str, np.ndarray] = {}
    for name, data in blobs.items():
        try:
            arrays[name] = decode_map(name, data, encodings.get(name), path=path)
        except SchemaError as exc:
            raise SchemaError(exc.reason, key=key, field=name, path=path) from exc
    t = meta.get("T_rgb_from_ir")
    try:
        return Sample(
            key=meta["key"],
            source=Source(meta["source"]),
            dataset=meta["dataset"],
            rgb=arrays.pop("rgb"),
            K_rgb=_numbers(meta, "K_rgb", Intrinsics.from_any, key=key, path=path),
            depth_gt_kind=DepthGtKind(meta["depth_gt_kind"]) if meta.get("depth_gt_kind") else None,
            scene_id=meta.get("scene_id", ""),
            scene_category=meta.get("scene_category", "unknown"),
            device=meta.get("device", ""),
            split=Split(meta.get("split") or "train"),
            K_ir=_numbers(meta, "K_ir", Intrinsics.from_any, key=key, path=path) if meta.get("K_ir") else None,
            baseline_m=meta.get("baseline_m"),
            T_rgb_from_ir=None if t is None else _numbers(meta, "T_rgb_from_ir", _rigid_matrix, key=key, path=path),
            stats=dict(meta.get("stats") or {}),
            provenance=dict(meta.get("provenance") or {}),
            depth_encoding=encodings,
            rgb_format=meta.get("rgb_format", "png"),
            **arrays,
        )
    except SchemaError:      # already names its field (a ValueError too: not to be wrapped again)
        raise
    except (ValueError, TypeError) as exc:
        raise SchemaError(str(exc), key=key, path=path) from exc


def _numbers(meta: dict[str, Any], name: str, read: Any, *, key: Any, path: str | None) -> Any:
    """``read(meta[name])``; a value that is not numbers of the right shape names its field (JSON's
    ``true``/``false`` are no numbers, though Python would read them as 1 and 0)."""
    if _holds_boolean(meta.get(name)):
        raise SchemaError("holds true/false where numbers belong", key=key, field=name, path=path)
    try:
        return read(meta[name])
    except (ValueError, TypeError, KeyError) as exc:
        raise SchemaError(f"not readable as numbers ({exc!r})", key=key, field=name, path=path) from None


def _holds_boolean(value: Any) -> bool:
    if isinstance(value, (bool, np.bool_)):
        return True
    if isinstance(value, dict):
        return any(_holds_boolean(item) for item in value.values())
    if isinstance(value, (list, tuple)):
        return any(_holds_boolean(item) for item in value)
    return False


def _rigid_matrix(value: Any) -> np.ndarray:
    return np.asarray(value, dtype=np.float64).reshape(4, 4)


def _depth_encoding(spec: Any, *, key: Any, field: str, path: str | None) -> DepthEncoding:
    try:
        return DepthEncoding(**spec)
    except (TypeError, ValueError) as exc:
        raise SchemaError(f"not a depth encoding ({exc})", key=key, field=field, path=path) from None


def map_names() -> tuple[str, ...]:
    return tuple(f.name for f in MAP_FIELDS)
