"""curate benchmarks, each figure a ratio against a baseline measured in the same run.

- pseudo-label pairs/s (match + swap-and-flip LR check + filters + depth) vs one bare SGBM call;
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


def bench_pseudo_label(height: int, width: int, repeats: int) -> None:
    from depthcur.curate.stereo import PseudoLabelConfig, pseudo_label_sample, raw_disparity
    from depthcur.synthetic import make_sample

    sample = make_sample("bench/s", height=height, width=width, seed=0)
    params = {"num_disparities": 64}
    bare = rate(lambda: raw_disparity(sample.ir_left, sample.ir_right, "sgbm", **params), repeats)
    full = rate(lambda: pseudo_label_sample(sample, PseudoLabelConfig(matcher_params=params)), repeats)
    print(f"pseudo-label {width}x{height}: {full:.1f} pairs/s; bare SGBM call {bare:.1f} pairs/s; "
          f"ratio {full / bare:.2f}x (LR check costs a second, mirrored match)")


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
    args = parser.parse_args()
    bench_pseudo_label(args.height, args.width, args.repeats)
    bench_lidar(args.points, args.repeats)
    bench_foundation_stereo(args.height, args.width, args.repeats)


if __name__ == "__main__":
    main()
