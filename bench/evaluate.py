"""Benchmark: samples/s of the full evaluate metric set at 480×640 vs bare numpy AbsRel + δ1.

The full set is what the runner computes per (sample, model): depth metrics (metric and
affine-aligned), DepthPro boundary F1 over 10 thresholds, stereo EPE/BP/bad/density and
the FDE region metrics. The baseline is two numpy lines (AbsRel, δ1) on the same maps,
measured in the same run; the ratio is the price of the full set. The runner prepares the
GT side of a case (GT edges and counts, valid and missed masks, FDE regions) once for all
models; the second figure pays it inside every call, as a case's first model does.

    .venv/bin/python bench/evaluate.py [--samples 8] [--repeats 3]
"""

from __future__ import annotations

import argparse
import dataclasses
import time

import numpy as np

from depthcur.evaluate.baselines import FillNearest
from depthcur.evaluate.protocols import make_case, protocol_rng
from depthcur.evaluate.runner import score
from depthcur.synthetic import make_sample


def bare_numpy(pred: np.ndarray, gt: np.ndarray) -> tuple[float, float]:
    valid = gt > 0
    p, g = pred[valid], gt[valid]
    return float(np.mean(np.abs(p - g) / g)), float(np.mean(np.maximum(p / g, g / p) < 1.25))


def full_set(pred, case, sample) -> dict:
    metric = score(pred, case, sample, "none", sample.key)
    affine = score(pred, case, sample, "affine", sample.key)
    return {"metric": metric, "affine": affine}


def full_set_first_model(pred, case, sample) -> dict:
    """The full set on a fresh copy of the case, so the GT side (edges, regions, masks), which the
    runner prepares once per case for all models, is paid inside the call as for a case's first model."""
    fresh = dataclasses.replace(case)
    if hasattr(fresh, "reference"):
        fresh.reference = None
    return full_set(pred, fresh, sample)


def rate(fn, items, repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        for item in items:
            fn(*item)
        best = min(best, time.perf_counter() - start)
    return len(items) / best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    samples = [make_sample(f"bench/{i}", height=480, width=640, seed=i) for i in range(args.samples)]
    items = []
    for sample in samples:
        case = make_case(sample, "fde", protocol_rng(0, sample.key, "fde"))   # sensor depth in, FDE targets
        pred = FillNearest().predict(case.rgb, case.depth_in, case.K)
        items.append((pred, case, sample))
    bare = rate(lambda pred, case, sample: bare_numpy(pred, case.gt), items, args.repeats)
    full = rate(full_set, items, args.repeats)
    first = rate(full_set_first_model, items, args.repeats)
    print(f"evaluate bench, 480x640, {args.samples} samples, best of {args.repeats}")
    print(f"bare numpy AbsRel+delta1: {bare:8.1f} samples/s (baseline 1.00x)")
    print(f"full metric set (depth metric+affine, boundary F1, stereo, FDE): {full:8.2f} samples/s "
          f"({full / bare:.4f}x of baseline, {bare / full:.0f}x slower)")
    print(f"the same with the case's GT side prepared in the call (a case's first model): {first:8.2f} samples/s "
          f"({bare / first:.0f}x slower)")


if __name__ == "__main__":
    main()
