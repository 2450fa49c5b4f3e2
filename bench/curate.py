"""curate benchmarks, each figure a ratio against a baseline measured in the same run.

- pseudo-label pairs/s (match + swap-and-flip LR check + filters + depth) vs one bare SGBM call, by the
  wall clock and in CPU time (the two calls taking turns);
- pseudo-label precision against GT disparity on harder synthetic pairs (occlusions, a bare wall,
  a "glass" patch, gain and noise; depthcur.synthetic.make_stereo_pair_sample): bad-2 and density of
  the default label and of each confidence filter, as ratios against one bare SGBM call per pair;
- LiDAR projection points/s (coordinate rows, one selection, np.minimum.at z-buffer) vs the
  straightforward numpy projection and z-buffer kept here (sort far-to-near, assign);
- FoundationStereo pairs/s on a GPU, when a GPU, the repo and a checkpoint are available
  (DEPTHCUR_FS_REPO, DEPTHCUR_FS_CKPT); otherwise a printed reason.

Run: .venv/bin/python bench/curate.py [--height 240 --width 320]
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np


def rate(fn, n: int) -> float:
    """Calls per second of the fastest of ``n`` calls (after a warm-up): on a shared machine the
    fastest call is the one least disturbed by other processes."""
    fn()  # warm-up
    best = float("inf")
    for _ in range(n):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return 1.0 / best


def alternating_cpu_rates(calls: dict, n: int) -> dict[str, float]:
    """Calls per CPU second (of every thread) of the fastest of ``n`` calls of each, the calls taking
    turns: each then meets the caches the others leave, as a pair meets them in a run between reads
    and writes, where a call repeated back to back would find its own working set still cached."""
    best = {name: float("inf") for name in calls}
    for fn in calls.values():
        fn()  # warm-up
    for _ in range(n):
        for name, fn in calls.items():
            start = time.process_time()
            fn()
            best[name] = min(best[name], time.process_time() - start)
    return {name: 1.0 / seconds for name, seconds in best.items()}


def bench_pseudo_label(height: int, width: int, repeats: int) -> None:
    from depthcur.curate.stereo import PseudoLabelConfig, pseudo_label_sample, raw_disparity
    from depthcur.synthetic import make_sample

    sample = make_sample("bench/s", height=height, width=width, seed=0)
    params = {"num_disparities": 64}
    bare = rate(lambda: raw_disparity(sample.ir_left, sample.ir_right, "sgbm", **params), repeats)
    full = rate(lambda: pseudo_label_sample(sample, PseudoLabelConfig(matcher_params=params,
                                                                      precision_curve=True)), repeats)
    no_curve = rate(lambda: pseudo_label_sample(sample, PseudoLabelConfig(matcher_params=params)), repeats)
    # CPU time too: SGBM runs on OpenCV's threads and the rest on one, so on a machine with more
    # runnable processes than cores the wall-clock ratio depends on how many cores are free
    cpu = alternating_cpu_rates({"bare": lambda: raw_disparity(sample.ir_left, sample.ir_right, "sgbm", **params),
                                 "label": lambda: pseudo_label_sample(sample, PseudoLabelConfig(matcher_params=params))},
                                repeats)
    print(f"pseudo-label {width}x{height}: {no_curve:.1f} pairs/s; bare SGBM call {bare:.1f} pairs/s; "
          f"ratio {no_curve / bare:.2f}x, CPU time {cpu['label'] / cpu['bare']:.3f}x (LR check costs a second, "
          f"mirrored match); with --precision-curve {full / bare:.2f}x (its WLS map costs about one more match)")


def bench_pseudo_label_precision(height: int, width: int, pairs: int) -> None:
    from depthcur.curate.stereo import PseudoLabelConfig, pseudo_label_sample, raw_disparity
    from depthcur.core.stereo import depth_to_disparity
    from depthcur.curate.stereo.confidence import bad_counts
    from depthcur.synthetic import make_stereo_pair_sample

    params = {"num_disparities": 64}
    settings = {"default (LR check + texture 2)": {}, "+ ZNCC >= 0.5": {"min_zncc": 0.5},
                "+ WLS confidence >= 128": {"min_wls_confidence": 128.0}, "+ texture >= 4": {"min_texture": 4.0}}
    counts = {name: [0, 0] for name in ["bare SGBM", *settings]}
    n_gt = 0
    for seed in range(pairs):
        sample = make_stereo_pair_sample(f"bench/p{seed}", height=height, width=width, seed=seed)
        gt = sample.disparity_gt
        n_gt += int(np.count_nonzero(gt > 0))
        bare = raw_disparity(sample.ir_left, sample.ir_right, "sgbm", **params)
        for i, value in enumerate(bad_counts(bare > 0, bare, gt)):
            counts["bare SGBM"][i] += value
        for name, options in settings.items():
            config = PseudoLabelConfig(matcher_params=params, precision_curve=False, **options)
            label = pseudo_label_sample(sample, config).depth_gt   # same grid as the IR pair here
            disparity = depth_to_disparity(label, sample.K_ir.fx, sample.baseline_m)
            for i, value in enumerate(bad_counts(label > 0, disparity, gt)):
                counts[name][i] += value
    bare_density, bare_bad = counts["bare SGBM"][0] / n_gt, counts["bare SGBM"][1] / counts["bare SGBM"][0]
    print(f"pseudo-label precision, {pairs} pairs {width}x{height}: bare SGBM bad-2 {100 * bare_bad:.2f} %, "
          f"density {bare_density:.3f}")
    for name in settings:
        density, bad = counts[name][0] / n_gt, counts[name][1] / max(counts[name][0], 1)
        print(f"  {name}: bad-2 {100 * bad:.2f} % ({bad / bare_bad:.2f}x bare), density {density:.3f} "
              f"({density / bare_density:.2f}x bare)")


def project_points_reference(points, k, t_cam_from_points, shape, min_depth_m=1e-3):
    """The straightforward numpy projection and z-buffer: transform, drop points behind the camera,
    project, drop points outside the image, sort far-to-near and assign (nearer points overwrite)."""
    points = np.asarray(points, dtype=np.float64)[:, :3]
    if t_cam_from_points is not None:
        t = np.asarray(t_cam_from_points, dtype=np.float64)
        points = points @ t[:3, :3].T + t[:3, 3]
    z = points[:, 2]
    front = z > min_depth_m
    points, z = points[front], z[front]
    u = np.rint(k.fx * points[:, 0] / z + k.cx)
    v = np.rint(k.fy * points[:, 1] / z + k.cy)
    h, w = shape
    inside = (u >= 0) & (u < w) & (v >= 0) & (v < h)
    index = v[inside].astype(np.int64) * w + u[inside].astype(np.int64)
    z = z[inside].astype(np.float32)
    order = np.argsort(-z, kind="stable")
    depth = np.zeros(h * w, np.float32)
    depth[index[order]] = z[order]   # fancy assignment: the last (nearest) write wins
    depth = depth.reshape(shape)
    return depth, depth > 0


def bench_lidar(points: int, repeats: int) -> None:
    from depthcur.curate.lidar import project_points
    from depthcur.schemas import Intrinsics

    rng = np.random.default_rng(0)
    cloud = rng.uniform([-40, -3, -40], [40, 3, 40], (points, 3)).astype(np.float32)
    k, t = Intrinsics(721.5, 721.5, 609.5, 172.8), np.eye(4)
    shape = (375, 1242)
    a, _ = project_points(cloud, k, t, shape)
    b, _ = project_points_reference(cloud, k, t, shape)
    assert np.array_equal(a, b), "fast and reference z-buffers disagree"
    fast = rate(lambda: project_points(cloud, k, t, shape), repeats) * points
    ref = rate(lambda: project_points_reference(cloud, k, t, shape), repeats) * points
    print(f"LiDAR projection {points} pts -> {shape[1]}x{shape[0]}: {fast / 1e6:.2f} Mpts/s; numpy reference "
          f"(sort far-to-near, assign) {ref / 1e6:.2f} Mpts/s; ratio {fast / ref:.2f}x")


def bench_foundation_stereo(height: int, width: int, repeats: int) -> None:
    try:
        import torch
    except ImportError:
        print("FoundationStereo: skipped, torch is not importable")
        return
    if not torch.cuda.is_available():
        print("FoundationStereo: skipped, no CUDA GPU on this machine")
        return
    repo, ckpt = os.environ.get("DEPTHCUR_FS_REPO"), os.environ.get("DEPTHCUR_FS_CKPT")
    if not repo or not ckpt:
        print("FoundationStereo: skipped, set DEPTHCUR_FS_REPO (NVlabs clone) and DEPTHCUR_FS_CKPT (checkpoint .pth)")
        return
    from depthcur.curate.stereo import raw_disparity
    from depthcur.synthetic import make_sample

    sample = make_sample("bench/fs", height=height, width=width, seed=0)
    sgbm = rate(lambda: raw_disparity(sample.ir_left, sample.ir_right, "sgbm"), repeats)
    fs = rate(lambda: raw_disparity(sample.ir_left, sample.ir_right, "foundation-stereo", fs_repo=repo, ckpt=ckpt),
              repeats)
    print(f"FoundationStereo {width}x{height} on {torch.cuda.get_device_name()}: {fs:.2f} pairs/s; "
          f"CPU SGBM {sgbm:.1f} pairs/s; ratio {fs / sgbm:.2f}x")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--height", type=int, default=240)
    parser.add_argument("--width", type=int, default=320)
    parser.add_argument("--points", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--pairs", type=int, default=6)
    args = parser.parse_args()
    bench_pseudo_label(args.height, args.width, args.repeats)
    bench_pseudo_label_precision(args.height, args.width, args.pairs)
    bench_lidar(args.points, args.repeats)
    bench_foundation_stereo(args.height, args.width, args.repeats)


if __name__ == "__main__":
    main()
