"""Shard spellings of the encoded sample: Parquet rows and WebDataset members.

Parquet: one row per sample, maps as binary columns named after the fields, depth
scales in ``<field>_scale`` columns, the schema version in the Arrow schema metadata.
WebDataset: members ``<key>.<field>.<ext>`` plus ``<key>.meta.json``.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pyarrow as pa

from .codecs import EncodedSample, decode_map, decode_sample
from .errors import SchemaError
from .fields import MAP_FIELDS
from .meta_json import parse_record_json
from .record import Sample
from .version import SCHEMA_VERSION

SCHEMA_METADATA_KEY = b"depthcur.schema_version"

_STRING_COLUMNS = ("key", "source", "dataset", "scene_id", "scene_category", "device", "split",
                   "depth_gt_kind", "rgb_format")


def arrow_schema() -> pa.Schema:
    cols = [pa.field(name, pa.string()) for name in _STRING_COLUMNS]
    cols += [pa.field("height", pa.int32()), pa.field("width", pa.int32())]
    for spec in MAP_FIELDS:
        cols.append(pa.field(spec.name, pa.binary()))
        if spec.depth:
            cols.append(pa.field(f"{spec.name}_scale", pa.float64()))
            cols.append(pa.field(f"{spec.name}_format", pa.string()))
    cols += [
        pa.field("K_rgb", pa.list_(pa.float64())),
        pa.field("K_ir", pa.list_(pa.float64())),
        pa.field("baseline_m", pa.float64()),
        pa.field("T_rgb_from_ir", pa.list_(pa.float64())),
        pa.field("stats", pa.string()),
        pa.field("provenance", pa.string()),
        pa.field("schema_version", pa.string()),
    ]
    return pa.schema(cols, metadata={SCHEMA_METADATA_KEY: SCHEMA_VERSION.encode()})


def encoded_to_row(enc: EncodedSample) -> dict[str, Any]:
    m = enc.meta
    row: dict[str, Any] = {name: m.get(name) for name in _STRING_COLUMNS}
    row.update(height=m["height"], width=m["width"], K_rgb=m["K_rgb"], K_ir=m.get("K_ir"),
               baseline_m=m.get("baseline_m"), T_rgb_from_ir=m.get("T_rgb_from_ir"),
               stats=json.dumps(m.get("stats") or {}, sort_keys=True),
               provenance=json.dumps(m.get("provenance") or {}, sort_keys=True),
               schema_version=m["schema_version"])
    for spec in MAP_FIELDS:
        blob = enc.blobs.get(spec.name)
        row[spec.name] = blob[1] if blob else None
        if spec.depth:
            enc_spec = (m.get("depth_encoding") or {}).get(spec.name)
            row[f"{spec.name}_scale"] = enc_spec["scale"] if enc_spec else None
            row[f"{spec.name}_format"] = enc_spec["format"] if enc_spec else None
    return row


def row_to_meta_blobs(row: dict[str, Any]) -> tuple[dict[str, Any], dict[str, bytes]]:
    meta = {name: row.get(name) for name in _STRING_COLUMNS}
    meta.update(height=row.get("height"), width=row.get("width"), K_rgb=_as_list(row.get("K_rgb")),
                K_ir=_as_list(row.get("K_ir")), baseline_m=row.get("baseline_m"),
                T_rgb_from_ir=_as_list(row.get("T_rgb_from_ir")),
                stats=_json_member(row.get("stats") or "{}", row.get("key"), "stats"),
                provenance=_json_member(row.get("provenance") or "{}", row.get("key"), "provenance"),
                schema_version=row.get("schema_version") or SCHEMA_VERSION, depth_encoding={})
    blobs: dict[str, bytes] = {}
    for spec in MAP_FIELDS:
        data = row.get(spec.name)
        if data is None:
            continue
        blobs[spec.name] = bytes(data)
        if spec.depth and row.get(f"{spec.name}_scale") is not None:
            meta["depth_encoding"][spec.name] = {"format": row.get(f"{spec.name}_format") or "png16",
                                                 "scale": float(row[f"{spec.name}_scale"])}
    return meta, blobs


def _json_member(raw: bytes | str, key: str | None, field: str, path: str | None = None) -> Any:
    return parse_record_json(raw, name=field, key=key, field=field, path=path)


def _as_list(value):
    if value is None:
        return None
    return [float(v) for v in (value.tolist() if isinstance(value, np.ndarray) else value)]


# ---------------------------------------------------------------- WebDataset


def wds_members(enc: EncodedSample) -> dict[str, bytes]:
    """Member suffixes (without the key) -> bytes, e.g. ``{"rgb.png": ..., "meta.json": ...}``."""
    members = {f"{name}.{ext}": data for name, (ext, data) in enc.blobs.items()}
    members["meta.json"] = json.dumps(enc.meta, sort_keys=True).encode()
    return members


def wds_to_meta_blobs(members: dict[str, Any], *, path: str | None = None) -> tuple[dict, dict[str, bytes]]:
    """Inverse of :func:`wds_members`; accepts a ``webdataset`` sample dict (``__key__`` etc.)."""
    raw_meta = members.get("meta.json")
    if raw_meta is None:
        raise SchemaError("WebDataset sample has no meta.json member", key=members.get("__key__"), path=path)
    meta = _json_member(raw_meta, members.get("__key__"), "meta.json", path) \
        if isinstance(raw_meta, (bytes, str)) else raw_meta
    blobs: dict[str, bytes] = {}
    for suffix, data in members.items():
        if suffix.startswith("__") or suffix == "meta.json":
            continue
        name = suffix.split(".", 1)[0]
        blobs[name] = bytes(data)
    return meta, blobs


def wds_to_sample(members: dict[str, Any], *, path: str | None = None) -> Sample:
    meta, blobs = wds_to_meta_blobs(members, path=path)
    return decode_sample(meta, blobs, path=path or members.get("__url__"))


def webdataset_handler(key: str, data: bytes):
    """A ``webdataset`` decoder handler that decodes depthcur members exactly.

    Use as ``wds.WebDataset(url).decode(webdataset_handler)``. 16-bit depth PNGs come
    back as float32 metres (scale taken from the default, see ``wds_to_sample`` for
    per-map scales); other PNGs keep their bit depth. WebDataset's own image handler
    would convert 16-bit PNGs to 8-bit and silently clip depth.
    """
    name, _, ext = key.rpartition(".")
    field = name.split(".")[-1]
    if ext in ("png", "jpg", "npy") and field in {f.name for f in MAP_FIELDS}:
        return decode_map(field, data) if field == "rgb" or ext == "npy" else _decode_png_keep_depth(field, data)
    if ext == "json":
        return parse_record_json(data, name=key)
    return None


def _decode_png_keep_depth(field: str, data: bytes):
    from .codecs import decode_png

    return decode_png(data, field=field)
