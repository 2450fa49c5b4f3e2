"""Training throughput: a full training step against a bare forward/backward of the same model.

    .venv/bin/python bench/train.py                       # CPU, tiny config
    .venv/bin/python bench/train.py --device cuda         # GPU: large MDM at 480x640 crops, bf16

The full step includes everything the loop does (stream draw, augmentation, masking,
host-to-device copy, forward, backward, clipping, AdamW, scheduler); the baseline is only
forward + backward on one pre-built batch, measured in the same run. On CUDA it also prints
samples/s/GPU against the LingBot-Depth paper's rate (128 GPUs x batch 8 x 250k iterations
in 7.5 days = ~3.1 samples/s/GPU) and MFU from FLOPs counted by torch's FlopCounterMode.

For ``mdm`` it also times forward + backward with masked depth tokens dropped from the sequence
(what training does) against hiding them with an attention mask over the full sequence, at mask
ratios 0.3, 0.6 and 0.9 (the baseline for each ratio is the attention-mask version, same batch, timed alternately).
"""

from __future__ import annotations

import argparse
import tempfile
import time

import numpy as np
import torch

PAPER_SAMPLES_PER_S_PER_GPU = 128 * 8 * 250_000 / (7.5 * 24 * 3600) / 128
#: dense bf16 peak, TFLOP/s
PEAK_TFLOPS = {"H100": 989.0, "H200": 989.0, "A100": 312.0, "L40S": 362.0, "A10": 125.0}


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def timed(fn, device: torch.device, repeats: int) -> float:
    return timed_wall_and_cpu(fn, device, repeats)[0]


def timed_wall_and_cpu(fn, device: torch.device, repeats: int) -> tuple[float, float]:
    """Seconds per call, by the wall clock and in this process's CPU time (all threads; on a shared
    CPU less disturbed by other processes than the wall clock)."""
    sync(device)
    start, start_cpu = time.perf_counter(), time.process_time()
    for _ in range(repeats):
        fn()
    sync(device)
    return (time.perf_counter() - start) / repeats, (time.process_time() - start_cpu) / repeats


MASK_RATIOS = (0.3, 0.6, 0.9)


def token_dropping_speed(stage, model, batch: dict, device: torch.device, use_bf16: bool, steps: int) -> None:
    """ms per forward+backward with masked depth tokens dropped vs attention-masked, per mask ratio."""
    from depthcur.train.models.lingbot import token_grid

    rows, cols = token_grid(int(batch["num_tokens"]), *batch["rgb"].shape[2:])
    rng = np.random.default_rng(0)
    encoder = model.encoder
    for ratio in MASK_RATIOS:
        masked = round(ratio * rows * cols)
        mask = np.zeros((len(batch["rgb"]), rows * cols), bool)
        for row in mask:
            row[rng.choice(rows * cols, masked, replace=False)] = True
        step_batch = {**batch, "depth_mask": torch.from_numpy(mask).to(device)}

        def step() -> None:
            with torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=use_bf16):
                loss = stage.loss(model, step_batch)
            loss.backward()
            model.zero_grad(set_to_none=True)

        # alternate the two versions and take medians, so load from other processes hits both alike
        samples: dict[bool, list[float]] = {False: [], True: []}
        for repeat in range(steps + 1):
            for drop in (False, True):
                encoder.drop_masked_tokens = drop
                seconds = timed(step, device, 1)
                if repeat:   # the first round warms up
                    samples[drop].append(seconds)
        encoder.drop_masked_tokens = True
        times = {drop: float(np.median(values)) for drop, values in samples.items()}
        print(f"mask ratio {ratio:.1f} ({masked}/{rows * cols} depth tokens): attention mask {times[False] * 1e3:.1f} "
              f"ms/iter (baseline), dropped {times[True] * 1e3:.1f} ms/iter = {times[True] / times[False]:.2f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--config", default=None, help="preset or file (default: tiny on CPU, large on CUDA)")
    parser.add_argument("--stage", default="mdm", choices=("mdm", "prompt", "distill"))
    parser.add_argument("--crop", default=None, help="HxW (default: the config's crop; 480x640 for large)")
    parser.add_argument("--batch", type=int, default=None)
    parser.add_argument("--steps", type=int, default=None, help="alternating calls per round")
    parser.add_argument("--rounds", type=int, default=None,
                        help="rounds (default: 5 on CPU, 1 on CUDA); the best round's means are printed too")
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--peak-tflops", type=float, default=None, help="override the GPU's dense bf16 peak")
    args = parser.parse_args()

    from depthcur.synthetic import make_sample
    from depthcur.train.config import load_config
    from depthcur.train.data.mixing import memory_stream
    from depthcur.train.loop import Trainer
    from depthcur.train.runner import RunRequest, build_stage

    device = torch.device(args.device)
    if args.threads:
        torch.set_num_threads(args.threads)
    preset = args.config or ("large" if device.type == "cuda" else "tiny")
    cfg = load_config(preset)
    if args.crop:
        cfg.data.crop = tuple(int(v) for v in args.crop.lower().split("x"))
    if args.batch:
        cfg.data.batch_size = args.batch
    steps = args.steps or (20 if device.type == "cuda" else 10)
    args.rounds = args.rounds or (1 if device.type == "cuda" else 5)
    cfg.run.steps = 10 ** 9
    cfg.run.checkpoint_every = 10 ** 9
    h, w = cfg.data.crop
    pool = [make_sample(f"bench/s{i}", height=h + 16, width=w + 16, seed=i) for i in range(8)]
    stage = build_stage(RunRequest(stage=args.stage, data=[], config=preset, out="."), cfg)
    trainer = Trainer(stage, cfg, [memory_stream("bench", pool)], tempfile.mkdtemp(prefix="bench_train_"),
                      device=str(device))

    # one batch kept aside for the bare forward/backward baseline
    batch = {k: v.to(device) for k, v in stage.prepare(trainer._produce_batch()[0], np.random.default_rng(0)).items()}

    def bare() -> None:
        with torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=trainer.use_bf16):
            loss = stage.loss(trainer.model, batch)
        loss.backward()
        trainer.model.zero_grad(set_to_none=True)

    for _ in range(2):  # warm-up: allocator, kernels, autotuning
        trainer.train_step()
        bare()
    # alternate the two, one call at a time, so load from other processes hits both alike; a round's
    # mean covers the step's random augmentations, and the best round is the one least disturbed
    step_times, bare_times = np.zeros((args.rounds, steps, 2)), np.zeros((args.rounds, steps, 2))
    for round_times in zip(step_times, bare_times):
        for call in range(steps):
            round_times[0][call] = timed_wall_and_cpu(trainer.train_step, device, 1)
            round_times[1][call] = timed_wall_and_cpu(bare, device, 1)
    step_s, step_cpu_s = step_times.mean(axis=(0, 1))
    bare_s, bare_cpu_s = bare_times.mean(axis=(0, 1))
    best_step_s, best_step_cpu_s = step_times.mean(axis=1).min(axis=0)
    best_bare_s, best_bare_cpu_s = bare_times.mean(axis=1).min(axis=0)
    params = sum(p.numel() for p in trainer.model.parameters())
    print(f"device={device} config={preset} stage={args.stage} crop={cfg.crop[0]}x{cfg.crop[1]} "
          f"batch={cfg.data.batch_size} params={params / 1e6:.1f}M bf16={trainer.use_bf16} steps={steps} "
          f"rounds={args.rounds} threads={torch.get_num_threads()}")
    print(f"bare forward+backward: {bare_s * 1e3:.1f} ms/iter (baseline)")
    print(f"full training step: {step_s * 1e3:.1f} ms/iter = {step_s / bare_s:.2f}x the bare forward+backward")
    print(f"CPU time: bare forward+backward {bare_cpu_s * 1e3:.1f} ms/iter, full training step "
          f"{step_cpu_s * 1e3:.1f} ms/iter = {step_cpu_s / bare_cpu_s:.2f}x")
    print(f"best of {args.rounds} rounds of {steps}: bare forward+backward {best_bare_s * 1e3:.1f} ms/iter, full "
          f"training step {best_step_s * 1e3:.1f} ms/iter = {best_step_s / best_bare_s:.3f}x; CPU time "
          f"{best_bare_cpu_s * 1e3:.1f} vs {best_step_cpu_s * 1e3:.1f} ms/iter "
          f"= {best_step_cpu_s / best_bare_cpu_s:.3f}x")
    sps = cfg.data.batch_size / step_s
    print(f"throughput: {sps:.2f} samples/s/{'GPU' if device.type == 'cuda' else 'process'}"
          + (f" = {sps / PAPER_SAMPLES_PER_S_PER_GPU:.1f}x the paper's ~{PAPER_SAMPLES_PER_S_PER_GPU:.2f} samples/s/GPU"
             if device.type == "cuda" else ""))
    if args.stage == "mdm":
        token_dropping_speed(stage, trainer.model, batch, device, trainer.use_bf16, steps)
    if device.type == "cuda":
        from torch.utils.flop_counter import FlopCounterMode

        counter = FlopCounterMode(display=False)
        with counter:
            bare()
        flops = counter.get_total_flops()
        name = torch.cuda.get_device_name(device)
        peak = args.peak_tflops or next((v for k, v in PEAK_TFLOPS.items() if k in name), None)
        achieved = flops / bare_s
        line = f"model FLOPs per fwd+bwd: {flops / 1e12:.2f} TFLOP; achieved {achieved / 1e12:.1f} TFLOP/s on {name}"
        if peak:
            line += (f"; MFU {achieved / (peak * 1e12) * 100:.1f}% (bare) / "
                     f"{flops / step_s / (peak * 1e12) * 100:.1f}% (full step) of {peak:.0f} TFLOP/s bf16 peak")
        print(line)
        print(f"peak memory: {torch.cuda.max_memory_allocated(device) / 2 ** 30:.1f} GiB")


if __name__ == "__main__":
    main()
