"""Prompt preparation speed: GMDR and PDSA of one 480x640 image, the grid k-NN against brute force.

    .venv/bin/python bench/prompt_alignment.py                  # CPU, 1 thread
    .venv/bin/python bench/prompt_alignment.py --device cuda

PDSA needs the 5 nearest prompt pixels of every pixel. The grid search (``nearest_prompts_on_grid``)
is timed against the brute-force blocked ``torch.cdist`` + ``topk`` of the same pixels in the same
run; prompt counts are the paper's N range and mean scaled from 1536x1536 to 480x640.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from depthcur.train.prompt_alignment import PDSA_NEIGHBOURS, gmdr, nearest_prompts, nearest_prompts_on_grid, pdsa

HEIGHT, WIDTH = 480, 640
#: N = 2,000 / 21,000 / 40,000 at 1536 x 1536, times 480*640 / 1536^2
COUNTS = (260, 2734, 5208)


def best_of(fn, device: torch.device, repeats: int) -> float:
    """Fastest of ``repeats`` calls, in ms."""
    times = []
    for _ in range(repeats):
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        start = time.perf_counter()
        fn()
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        times.append(time.perf_counter() - start)
    return 1000 * min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    rng = np.random.default_rng(0)
    ys, xs = np.mgrid[0:HEIGHT, 0:WIDTH]
    truth = (2 + np.sin(xs / 80) + ys / 300).astype(np.float32)
    prior = (1 / (0.5 / truth + 0.1)).astype(np.float32)
    pixels = torch.stack(torch.meshgrid(torch.arange(HEIGHT, dtype=torch.float64, device=device),
                                        torch.arange(WIDTH, dtype=torch.float64, device=device),
                                        indexing="ij"), -1).reshape(-1, 2)
    print(f"{HEIGHT}x{WIDTH}, k={PDSA_NEIGHBOURS}, device {device}, {args.threads} thread(s); best of {args.repeats}")
    print(f"{'prompts':>8} {'GMDR ms':>8} {'PDSA ms':>8} {'grid k-NN ms':>13} {'brute k-NN ms':>14} {'speed-up':>9}")
    for count in COUNTS:
        prompt = np.zeros_like(truth)
        chosen = rng.choice(truth.size, count, replace=False)
        prompt.flat[chosen] = truth.flat[chosen]
        points = pixels[torch.from_numpy(np.sort(chosen)).to(device)]
        gmdr_ms = best_of(lambda: gmdr(prior, prompt, device=device), device, args.repeats)
        pdsa_ms = best_of(lambda: pdsa(prior, prompt, device=device), device, args.repeats)
        grid_ms = best_of(lambda: nearest_prompts_on_grid(HEIGHT, WIDTH, points, PDSA_NEIGHBOURS), device,
                          args.repeats)
        brute_ms = best_of(lambda: nearest_prompts(pixels, points, PDSA_NEIGHBOURS), device, args.repeats)
        print(f"{count:>8} {gmdr_ms:>8.1f} {pdsa_ms:>8.1f} {grid_ms:>13.1f} {brute_ms:>14.1f} "
              f"{brute_ms / grid_ms:>8.1f}x")


if __name__ == "__main__":
    main()
