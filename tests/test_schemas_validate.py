"""Validation: every class of bad input gets an error naming the sample and the field."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from depthcur.schemas import Intrinsics, ValidationError, collect_problems, validate_sample
from depthcur.synthetic import make_sample


@pytest.fixture()
def good():
    return make_sample("sim/scene_0/0001", height=24, width=32, seed=1)


def nested_lists(depth: int) -> list:
    """``[[...[0]...]]``, ``depth`` lists deep (built without recursion)."""
    value: object = 0
    for _ in range(depth):
        value = [value]
    return value


def problem_fields(sample):
    return {(p.field, p.key) for p in collect_problems(sample)}


def test_good_sample_validates(good):
    assert collect_problems(good) == []
    assert validate_sample(good) is good
    # the deepest provenance a record allows: meta.json {provenance {steps [30 lists]}} is 32 levels
    assert collect_problems(good.replace(provenance={"steps": nested_lists(30)})) == []


@pytest.mark.parametrize("mutate, field, message", [
    (lambda s: s.replace(depth_gt=s.depth_gt.astype(np.float64)), "depth_gt", "dtype float64"),
    (lambda s: s.replace(depth_raw=s.depth_raw[:-1]), "depth_raw", "does not match rgb"),
    (lambda s: s.replace(instance_mask=s.instance_mask[:, :-2]), "instance_mask", "does not match"),
    (lambda s: s.replace(ir_right=s.ir_right[:-1]), "ir_right", "does not match ir_left"),
    (lambda s: s.replace(rgb=s.rgb[..., 0]), "rgb", "is not H×W×3"),
    (lambda s: s.replace(depth_gt=np.where(s.depth_gt > 2, np.nan, s.depth_gt).astype(np.float32)),
     "depth_gt", "NaN"),
    (lambda s: s.replace(depth_raw=np.where(s.depth_raw > 2, np.inf, s.depth_raw).astype(np.float32)),
     "depth_raw", "infinite"),
    (lambda s: s.replace(depth_gt=-s.depth_gt), "depth_gt", "negative"),
    (lambda s: s.replace(K_rgb=Intrinsics(30, 30, 500, 12)), "K_rgb", "outside the 32x24 image"),
    (lambda s: s.replace(K_rgb=Intrinsics(-1, 30, 16, 12)), "K_rgb", "positive"),
    (lambda s: s.replace(key="sim/scene.0/0001"), "key", "dots and spaces"),
    (lambda s: s.replace(key="sim/scene 0/0001"), "key", "dots and spaces"),
    (lambda s: s.replace(source="synthetic"), "source", "expected one of: sim, real, public, lidar"),
    (lambda s: s.replace(depth_gt_kind="guess"), "depth_gt_kind", "unknown value"),
    (lambda s: s.replace(split="holdout"), "split", "unknown value"),
    (lambda s: s.replace(dataset=""), "dataset", "missing required field"),
    (lambda s: s.replace(K_rgb=None), "K_rgb", "missing required field"),
    (lambda s: s.replace(depth_gt_kind=None), "depth_gt_kind", "depth_gt is set"),
    (lambda s: s.replace(K_ir=None), "K_ir", "K_ir is not"),
    (lambda s: s.replace(baseline_m=0.0), "baseline_m", "positive"),
    (lambda s: s.replace(T_rgb_from_ir=np.ones((4, 4))), "T_rgb_from_ir", "rigid transform"),
    (lambda s: s.replace(stats={"mask_ratio": float("nan")}), "stats", "finite"),
    (lambda s: s.replace(stats={"mask_ratio": True}), "stats", "must be a finite number, got True"),
    (lambda s: s.replace(baseline_m=True), "baseline_m", "positive finite number, got True"),
    # meta.json {provenance {steps [31 lists]}}: 33 levels, one more than a record allows
    (lambda s: s.replace(provenance={"steps": nested_lists(31)}), "provenance", "nests 33 levels deep"),
    (lambda s: s.replace(provenance={"steps": nested_lists(100_000)}), "provenance", "not JSON-serialisable"),
    (lambda s: s.replace(provenance={"seed": object()}), "provenance", "JSON"),
    (lambda s: s.replace(depth_gt=s.depth_gt * 100), "depth_gt", "16-bit range"),
])
def test_each_bad_input_names_sample_and_field(good, mutate, field, message):
    bad = mutate(good)
    with pytest.raises(ValidationError) as info:
        validate_sample(bad)
    fields = {p.field for p in info.value.problems}
    assert field in fields, info.value
    text = " | ".join(str(p) for p in info.value.problems if p.field == field)
    assert message in text
    assert f"field {field!r}" in text and (bad.key in text if isinstance(bad.key, str) and bad.key else True)


@settings(max_examples=80, deadline=None)
@given(st.text(alphabet="abcXYZ019_-/. \t", min_size=1, max_size=20))
def test_key_rule_matches_the_documented_alphabet(key):
    sample = make_sample("sim/x", height=8, width=8, seed=0).replace(key=key)
    ok = all(c in "abc019_-/" for c in key) and not key.startswith("/") and not key.endswith("/") \
        and "//" not in key
    assert (("key", key) not in problem_fields(sample)) == ok


@settings(max_examples=40, deadline=None)
@given(st.floats(allow_nan=True, allow_infinity=True), st.integers(0, 7), st.integers(0, 7))
def test_any_non_finite_or_negative_depth_is_caught(value, y, x):
    sample = make_sample("sim/x", height=8, width=8, seed=0)
    depth = sample.depth_gt.copy()
    with np.errstate(over="ignore"):  # a huge float becomes inf in float32, which must be caught too
        depth[y, x] = value
    bad = not np.isfinite(depth[y, x]) or depth[y, x] < 0 or depth[y, x] > 65.535
    assert (any(p.field == "depth_gt" for p in collect_problems(sample.replace(depth_gt=depth)))) == bad
