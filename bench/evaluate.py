"""Benchmark: samples/s of the full evaluate metric set at 480×640 vs bare numpy AbsRel + δ1.

The full set is what the runner computes per (sample, model) in one run: depth metrics (at the run's
alignment), the missed-input metrics, DepthPro boundary F1 over 10 thresholds, stereo EPE/BP/bad/density
and the FDE region metrics. Measured at the default alignment (none, metric depth) and at ``affine``
(a fit, an aligned map and the unaligned FDE regions on top). The baseline is two numpy lines (AbsRel, δ1)
on the same maps, measured in the same run, alternating with the full set; the ratio is the price of the
full set. The runner prepares the GT side of a case (GT edges and counts, valid and missed masks, FDE
regions) once for all models; the last figure pays it inside every call, as a case's first model does.

    .venv/bin/python bench/evaluate.py [--samples 8] [--repeats 5]
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


def full_set(pred, case, sample, align: str = "none") -> dict:
    return score(pred, case, sample, align, sample.key)


def full_set_affine(pred, case, sample) -> dict:
    return full_set(pred, case, sample, "affine")


def full_set_first_model(pred, case, sample) -> dict:
    """The full set on a fresh copy of the case, so the GT side (edges, regions, masks), which the
    runner prepares once per case for all models, is paid inside the call as for a case's first model."""
    fresh = dataclasses.replace(case)
    if hasattr(fresh, "reference"):
        fresh.reference = None
    return full_set(pred, fresh, sample)


def rates(fns, items, repeats: int) -> list[float]:
    """Samples/s of each function, best of ``repeats`` rounds; the functions alternate within a round, so
    a change in the machine's load touches them alike. CPU time of this process."""
    best = [float("inf")] * len(fns)
    for _ in range(repeats):
        for k, fn in enumerate(fns):
            start = time.process_time()
            for item in items:
                fn(*item)
            best[k] = min(best[k], time.process_time() - start)
    return [len(items) / seconds for seconds in best]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    samples = [make_sample(f"bench/{i}", height=480, width=640, seed=i) for i in range(args.samples)]
    items = []
    for sample in samples:
        case = make_case(sample, "fde", protocol_rng(0, sample.key, "fde"))   # sensor depth in, FDE targets
        pred = FillNearest().predict(case.rgb, case.depth_in, case.K)
        items.append((pred, case, sample))
    for fn in (full_set, full_set_affine):       # compile the kernels (cached on disk after the first run)
        fn(*items[0])
    bare, full, affine, first = rates(
        [lambda pred, case, sample: bare_numpy(pred, case.gt), full_set, full_set_affine, full_set_first_model],
        items, args.repeats)
    print(f"evaluate bench, 480x640, {args.samples} samples, best of {args.repeats}, CPU time")
    print(f"bare numpy AbsRel+delta1: {bare:8.1f} samples/s (baseline 1.00x)")
    print(f"full metric set per (sample, model), metric depth (depth, missed, boundary F1, stereo, FDE): "
          f"{full:8.2f} samples/s ({bare / full:.2f}x the baseline's time)")
    print(f"the same with --align affine: {affine:8.2f} samples/s ({bare / affine:.2f}x)")
    print(f"the same with the case's GT side prepared in the call (a case's first model): {first:8.2f} samples/s "
          f"({bare / first:.2f}x)")


if __name__ == "__main__":
    main()
