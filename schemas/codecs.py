"""Byte codecs for the maps of a sample, and the encoded form every container shares.

The encoded form (:class:`EncodedSample`) is a JSON-able ``meta`` dict plus one encoded
blob per map. Raw sample folders, Parquet rows and WebDataset members are three
spellings of the same encoded form, so there is exactly one place that turns arrays
into bytes.
"""

from __future__ import annotations

import io
import json
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


def decode_png(data: bytes, *, field: str = "", path: str | None = None) -> np.ndarray:
    """Decode a PNG keeping its bit depth (WebDataset's default handler would clip 16-bit)."""
    if not data.startswith(PNG_MAGIC):
        raise SchemaError("not a PNG file", field=field or None, path=path)
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    if image is None:
        raise SchemaError("PNG data is corrupt or truncated", field=field or None, path=path)
    return image


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
    if not (data.startswith(PNG_MAGIC) or data.startswith(JPEG_MAGIC)):
        raise SchemaError("RGB data is neither PNG nor JPEG", field="rgb", path=path)
    bgr = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    if bgr is None:
        raise SchemaError("RGB image is corrupt or truncated", field="rgb", path=path)
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
        array = decode_npy(data, field=name, path=path)
        return array.astype(np.float32) if spec.depth else array
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
    """Inverse of :func:`encode_sample`. ``blobs`` maps field name -> bytes."""
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
    encodings = {name: DepthEncoding(**spec) for name, spec in (meta.get("depth_encoding") or {}).items()}
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
            K_rgb=Intrinsics.from_any(meta["K_rgb"]),
            depth_gt_kind=DepthGtKind(meta["depth_gt_kind"]) if meta.get("depth_gt_kind") else None,
            scene_id=meta.get("scene_id", ""),
            scene_category=meta.get("scene_category", "unknown"),
            device=meta.get("device", ""),
            split=Split(meta.get("split") or "train"),
            K_ir=Intrinsics.from_any(meta["K_ir"]) if meta.get("K_ir") else None,
            baseline_m=meta.get("baseline_m"),
            T_rgb_from_ir=None if t is None else np.asarray(t, dtype=np.float64).reshape(4, 4),
            stats=dict(meta.get("stats") or {}),
            provenance=dict(meta.get("provenance") or {}),
            depth_encoding=encodings,
            rgb_format=meta.get("rgb_format", "png"),
            **arrays,
        )
    except ValueError as exc:
        raise SchemaError(str(exc), key=key, path=path) from exc


def map_names() -> tuple[str, ...]:
    return tuple(f.name for f in MAP_FIELDS)
