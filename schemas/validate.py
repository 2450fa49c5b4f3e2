"""Validation of a :class:`Sample`: every problem names the sample and the field."""

from __future__ import annotations

import json
import math

import numpy as np

from .errors import SchemaError, ValidationError
from .fields import MAP_FIELDS, REQUIRED_SCALARS, SCALAR_FIELDS, UINT16_LIMIT, DepthGtKind, Source, Split
from .keys import key_problems
from .meta_json import nesting_problem
from .record import Intrinsics, Sample, is_number


def _check_enum(enum, value, key, name, problems, optional=False):
    if value is None and optional:
        return
    try:
        enum(value.value if hasattr(value, "value") else value)
    except ValueError:
        allowed = ", ".join(e.value for e in enum)
        problems.append(SchemaError(f"unknown value {value!r}; expected one of: {allowed}", key=key, field=name))


def _check_intrinsics(value, shape, key, name, problems):
    """Finite, positive focal lengths, and (when ``shape`` is known) the principal point inside the image."""
    try:
        k = Intrinsics.from_any(value)
    except (ValueError, KeyError, TypeError) as exc:
        problems.append(SchemaError(f"unreadable intrinsics ({exc})", key=key, field=name))
        return
    values = k.as_list()
    if not all(math.isfinite(v) for v in values):
        problems.append(SchemaError(f"intrinsics must be finite, got {values}", key=key, field=name))
    elif k.fx <= 0 or k.fy <= 0:
        problems.append(SchemaError(f"focal lengths must be positive, got fx={k.fx}, fy={k.fy}", key=key, field=name))
    elif shape is not None and not (0 <= k.cx <= shape[1] and 0 <= k.cy <= shape[0]):
        h, w = shape
        problems.append(SchemaError(f"principal point ({k.cx:.1f}, {k.cy:.1f}) lies outside the {w}x{h} image",
                                    key=key, field=name))


def collect_problems(sample: Sample) -> list[SchemaError]:
    """All problems of ``sample``; empty when it is valid."""
    key = sample.key if isinstance(sample.key, str) else None
    problems: list[SchemaError] = []
    for name in REQUIRED_SCALARS:
        if getattr(sample, name, None) in (None, ""):
            problems.append(SchemaError("missing required field", key=key, field=name))
    for spec in SCALAR_FIELDS:
        value = getattr(sample, spec.name, None)
        if spec.type == "str" and value is not None and not isinstance(value, str):
            problems.append(SchemaError(f"must be a string, not {type(value).__name__}", key=key, field=spec.name))
    if isinstance(sample.key, str) and sample.key:       # an empty key is reported as missing above
        problems += [SchemaError(reason, key=key, field="key") for reason in key_problems(sample.key)]
    _check_enum(Source, sample.source, key, "source", problems, optional=sample.source is None)
    _check_enum(Split, sample.split, key, "split", problems)
    _check_enum(DepthGtKind, sample.depth_gt_kind, key, "depth_gt_kind", problems, optional=True)
    if sample.depth_gt is not None and sample.depth_gt_kind is None:
        problems.append(SchemaError("depth_gt is set but depth_gt_kind is not", key=key, field="depth_gt_kind"))
    if sample.depth_gt is None and sample.depth_raw is None:
        problems.append(SchemaError("a sample needs depth_raw or depth_gt", key=key, field="depth_raw"))
    if sample.rgb_format not in ("png", "jpeg"):
        problems.append(SchemaError(f"rgb_format must be 'png' or 'jpeg', not {sample.rgb_format!r}",
                                    key=key, field="rgb_format"))

    grids: dict[str, tuple[int, int]] = {}
    for spec in MAP_FIELDS:
        array = getattr(sample, spec.name)
        if array is None:
            continue
        if not isinstance(array, np.ndarray):
            problems.append(SchemaError(f"expected a numpy array, got {type(array).__name__}", key=key,
                                        field=spec.name))
            continue
        if array.dtype.name not in spec.dtypes:
            problems.append(SchemaError(f"dtype {array.dtype} not allowed; expected {' or '.join(spec.dtypes)}",
                                        key=key, field=spec.name))
            continue        # the value checks below assume numbers of the right kind
        want_ndim = 3 if spec.channels == 3 else 2
        if array.ndim != want_ndim or (spec.channels == 3 and array.shape[2] != 3):
            problems.append(SchemaError(f"shape {array.shape} is not {'H×W×3' if spec.channels == 3 else 'H×W'}",
                                        key=key, field=spec.name))
            continue
        if 0 in array.shape[:2]:
            problems.append(SchemaError(f"empty map with shape {array.shape}", key=key, field=spec.name))
            continue
        hw = tuple(array.shape[:2])
        first = grids.setdefault(spec.grid, hw)
        if hw != first:
            ref = next(f.name for f in MAP_FIELDS if f.grid == spec.grid and getattr(sample, f.name) is not None)
            problems.append(SchemaError(f"shape {hw} does not match {ref} {first}", key=key, field=spec.name))
        if spec.depth or spec.name == "disparity_gt":
            if array.dtype.kind == "f":
                if np.isnan(array).any():
                    problems.append(SchemaError(f"{int(np.isnan(array).sum())} NaN values (use 0 for invalid)",
                                                key=key, field=spec.name))
                if np.isinf(array).any():
                    problems.append(SchemaError(f"{int(np.isinf(array).sum())} infinite values (use 0 for invalid)",
                                                key=key, field=spec.name))
            finite = array[np.isfinite(array)] if array.dtype.kind == "f" else array
            if (finite < 0).any():
                problems.append(SchemaError(f"{int((finite < 0).sum())} negative values", key=key, field=spec.name))
            if spec.depth and finite.size:
                enc = sample.encoding_of(spec.name)
                if enc.format == "png16" and finite.max() / enc.scale > UINT16_LIMIT + 0.5:
                    problems.append(SchemaError(
                        f"max depth {finite.max():.3f} m exceeds the 16-bit range of depth_scale={enc.scale} "
                        f"({UINT16_LIMIT * enc.scale:.3f} m)", key=key, field=spec.name))

    if "rgb" in grids and sample.K_rgb is not None:
        _check_intrinsics(sample.K_rgb, grids["rgb"], key, "K_rgb", problems)
    if "ir" in grids and sample.K_ir is None:
        problems.append(SchemaError("IR maps are present but K_ir is not", key=key, field="K_ir"))
    elif sample.K_ir is not None:
        _check_intrinsics(sample.K_ir, grids.get("ir"), key, "K_ir", problems)
    if sample.baseline_m is not None:
        b = sample.baseline_m
        if not is_number(b) or not math.isfinite(b) or b <= 0:
            problems.append(SchemaError(f"baseline must be a positive finite number, got {b!r}", key=key,
                                        field="baseline_m"))
    if sample.T_rgb_from_ir is not None:
        t = np.asarray(sample.T_rgb_from_ir, dtype=np.float64)
        if t.shape != (4, 4) or not np.isfinite(t).all() or not np.allclose(t[3], [0, 0, 0, 1]):
            problems.append(SchemaError("must be a finite 4x4 rigid transform with last row [0,0,0,1]",
                                        key=key, field="T_rgb_from_ir"))
    for name, value in sample.stats.items():
        if not is_number(value) or not math.isfinite(float(value)):
            problems.append(SchemaError(f"stat {name!r} must be a finite number, got {value!r}", key=key,
                                        field="stats"))
    try:
        json.dumps(sample.provenance)
    except (TypeError, ValueError, RecursionError) as exc:
        problems.append(SchemaError(f"not JSON-serialisable ({exc})", key=key, field="provenance"))
    else:   # meta.json holds it one level down; the reader refuses what nests deeper than a record allows
        too_deep = nesting_problem(sample.provenance, inside=1)
        if too_deep:
            problems.append(SchemaError(too_deep, key=key, field="provenance"))
    return problems


def validate_sample(sample: Sample) -> Sample:
    """Raise :class:`ValidationError` naming the sample and field of every problem."""
    problems = collect_problems(sample)
    if problems:
        raise ValidationError(problems)
    return sample


