"""Render-stage benchmark: per-sample overhead over bare Cycles, SGM vs bare cv2, 1 vs 2 Ray workers,
the projected time of 1M samples, and denoised vs noisy RGB against a high-spp reference.

    .venv/bin/python bench/render.py                       # 320x240, 8 spp, a few minutes on 2 cores
    .venv/bin/python bench/render.py --resolution 1280x960 --spp 16 --samples 1 --only overhead
    .venv/bin/python bench/render.py --only denoise        # PSNR of RGB, denoised vs not (160x120)
    .venv/bin/python bench/render.py --device gpu          # the same on a GPU (fails clearly without one)

Every figure is a ratio against a baseline measured in the same run.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np


def render(out: Path, *, scenes: str, samples: int, resolution: str, spp: int, workers: int, threads: int,
           seed: int = 0, **options):
    from depthcur.render import RenderConfig, render_scenes

    config = RenderConfig(scenes=scenes, out=out, samples_per_scene=samples, resolution=resolution, spp=spp,
                          seed=seed, workers=workers, threads_per_worker=threads, write_gallery=False, **options)
    started = time.perf_counter()
    report = render_scenes(config)
    return report, time.perf_counter() - started


def device_used(out: Path) -> str:
    """The Cycles device the samples in ``out`` were rendered on (their provenance says)."""
    from depthcur.schemas import scan_samples
    from depthcur.schemas.folder import read_meta

    return read_meta(scan_samples(out).samples[0])["provenance"]["renderer"]["device"]


def projection(seconds_per_sample: float, device: str, threads: int) -> None:
    """Hours for 1M samples on N devices like the measured one, from the measured per-sample rate."""
    hours = 1e6 * seconds_per_sample / 3600
    unit = "GPUs, one Blender worker each" if device == "GPU" else \
        f"CPU workers of {threads} threads like this one; no GPU was measured (bench/render.py --device gpu on one)"
    spread = ", ".join(f"N={n}: {hours / n:,.0f} h" for n in (1, 8, 64, 256))
    print(f"    1M samples at {seconds_per_sample:.2f} s/sample on {device}: {spread} [N {unit}]")


def bench_overhead(tmp: Path, args) -> list:
    report, wall = render(tmp / "overhead", scenes="procedural:1", samples=args.samples, resolution=args.resolution,
                          spp=args.spp, workers=1, threads=args.threads, device=args.device)
    n = len(report.rendered)
    bare = report.render_s / n
    worker = report.sample_s / n
    device = device_used(tmp / "overhead")
    print(f"[1] {n} samples at RGB {args.resolution} (IR 3/4), {args.spp} spp, 1 worker x {args.threads} threads, "
          f"Cycles on {device}")
    print(f"    bare Cycles render of the 3 passes (bpy.ops.render.render): {bare:.2f} s/sample")
    print(f"    whole sample in the worker (scene, pose, passes, SGM, write): {worker:.2f} s/sample "
          f"-> {worker / bare:.3f}x bare Cycles (goal <= 1.15x)")
    print(f"    end to end incl. Ray start, bpy import, report and mask-ratio pictures: {wall / n:.2f} s/sample "
          f"-> {wall / n / bare:.3f}x bare Cycles")
    projection(worker, device, args.threads)
    return [tmp / "overhead"]


def bench_sgm(out: Path, repeats: int) -> None:
    import cv2

    from depthcur.render.config import SgmConfig
    from depthcur.core.stereo import make_sgbm
    from depthcur.render.sgm import disparity_range, sensor_depth
    from depthcur.schemas import read_sample, scan_samples

    samples = [read_sample(p) for p in scan_samples(out).samples]
    config = SgmConfig()
    stage, bare = [], []
    for _ in range(repeats):
        for s in samples:
            n = disparity_range(config, s.K_ir.fx, s.baseline_m, s.ir_left.shape[1])
            t0 = time.perf_counter()
            make_sgbm(config, n).compute(s.ir_left, s.ir_right)
            bare.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            result = sensor_depth(s.ir_left, s.ir_right, fx_ir=s.K_ir.fx, baseline_m=s.baseline_m, config=config)
            cv2.resize(result.depth_ir, (s.width, s.height), interpolation=cv2.INTER_NEAREST)
            stage.append(time.perf_counter() - t0)
    b, st = statistics.median(bare), statistics.median(stage)
    print(f"[2] SGM on {len(samples)} IR pairs x {repeats}: bare cv2 StereoSGBM.compute {b * 1e3:.1f} ms, "
          f"SGM stage (filters, strip mask, depth, upsampling) {st * 1e3:.1f} ms -> {st / b:.3f}x bare cv2")


def bench_workers(tmp: Path, args) -> None:
    """Alternate the two setups (A B A B) and keep each one's fastest run: the machine is shared."""
    # warm both workers (bpy imported) so the comparison is steady-state
    render(tmp / "warm", scenes="procedural:2", samples=1, resolution="64x48", spp=1, workers=2, threads=1)
    common = dict(scenes=f"procedural:{args.worker_scenes}", samples=1, resolution=args.resolution, spp=args.spp)
    times = {1: [], 2: []}
    for repeat in range(args.worker_repeats):
        for workers in (1, 2):
            _, wall = render(tmp / f"w{workers}_{repeat}", workers=workers, threads=2 // workers, **common)
            times[workers].append(wall)
    one, two = min(times[1]), min(times[2])
    print(f"[3] {args.worker_scenes} samples, 2 cores, best of {args.worker_repeats} alternating runs: "
          f"1 worker x 2 threads {one:.1f} s, 2 workers x 1 thread {two:.1f} s "
          f"-> 2 workers take {two / one:.3f}x the time of 1 (all runs: {times})")


def psnr(image: np.ndarray, reference: np.ndarray) -> float:
    error = np.mean((image.astype(np.float64) - reference.astype(np.float64)) ** 2)
    return float("inf") if error == 0 else 10 * np.log10(255.0 ** 2 / error)


def bench_denoise(tmp: Path, args) -> None:
    """RGB of the same view against an un-denoised high-spp reference: PSNR and Cycles time, denoised
    (OpenImageDenoise, albedo + normal) vs not, per spp; and the IR pair and SGM, which denoising never touches."""
    from depthcur.schemas import read_sample, scan_samples

    def one(name: str, spp: int, denoise: bool):
        report, _ = render(tmp / name, scenes="procedural:1", samples=1, resolution=args.denoise_resolution, spp=spp,
                           workers=1, threads=args.threads, seed=3, denoise_rgb=denoise, device=args.device)
        return read_sample(scan_samples(tmp / name).samples[0]), report.render_s

    reference, ref_s = one("reference", args.reference_spp, False)
    print(f"[4] RGB {args.denoise_resolution} vs a {args.reference_spp}-spp un-denoised reference "
          f"({ref_s:.1f} s of Cycles); times are the 3 passes' bare Cycles time")
    rows = []
    for spp in args.denoise_spp:
        noisy, noisy_s = one(f"noisy{spp}", spp, False)
        clean, clean_s = one(f"denoised{spp}", spp, True)
        same_ir = np.array_equal(noisy.ir_left, clean.ir_left) and np.array_equal(noisy.depth_raw, clean.depth_raw)
        rows.append((spp, psnr(noisy.rgb, reference.rgb), noisy_s, psnr(clean.rgb, reference.rgb), clean_s))
        print(f"    {spp:4d} spp: noisy {rows[-1][1]:5.2f} dB in {noisy_s:5.1f} s | denoised {rows[-1][3]:5.2f} dB "
              f"in {clean_s:5.1f} s | IR pair and SGM depth identical: {same_ir} "
              f"(SGM valid {noisy.stats['sgm_valid_ratio_ir']:.3f} vs {clean.stats['sgm_valid_ratio_ir']:.3f})")
    for spp, _, _, clean_db, clean_s in rows:
        # the noisy render that took at least as long: the equal-time comparison
        slower = [row for row in rows if row[2] >= clean_s]
        if slower:
            match = min(slower, key=lambda row: row[2])
            print(f"    equal time: denoised {spp} spp {clean_db:.2f} dB ({clean_s:.1f} s) vs noisy {match[0]} spp "
                  f"{match[1]:.2f} dB ({match[2]:.1f} s)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--resolution", default="320x240")
    parser.add_argument("--spp", type=int, default=8)
    parser.add_argument("--samples", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--worker-scenes", type=int, default=2)
    parser.add_argument("--worker-repeats", type=int, default=2)
    parser.add_argument("--sgm-repeats", type=int, default=5)
    parser.add_argument("--device", default="auto", choices=("auto", "cpu", "gpu"))
    parser.add_argument("--only", choices=("overhead", "denoise"), help="run one part only")
    parser.add_argument("--denoise-resolution", default="160x120")
    parser.add_argument("--denoise-spp", type=int, nargs="+", default=[4, 8, 16, 32])
    parser.add_argument("--reference-spp", type=int, default=512)
    args = parser.parse_args()
    from depthcur.core.ray_runner import init_ray, shutdown_ray

    with tempfile.TemporaryDirectory(prefix="bench-render-") as tmp:
        tmp = Path(tmp)
        init_ray("local")
        if args.only in (None, "overhead"):
            bench_overhead(tmp, args)
        if args.only is None:
            bench_sgm(tmp / "overhead", args.sgm_repeats)
            bench_workers(tmp, args)
        if args.only in (None, "denoise"):
            bench_denoise(tmp, args)
        shutdown_ray()


if __name__ == "__main__":
    np.seterr(all="ignore")
    main()
