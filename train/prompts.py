"""Sparse metric prompts (MetricAnything §3.2): how many pixels, which ones, and the model input.

A prompt is N valid depth pixels drawn uniformly, N ~ U[2,000, 40,000] at the paper's training
resolution of 1536 x 1536 (about 1 % of its 2.36 M pixels), scaled by the pixel count at any
other resolution. A prior depth from a monocular model (``depthcur.train.priors``) is aligned
to the prompt with GMDR and PDSA (``prompt_alignment``, as Prior Depth Anything defines them);
the model input is the three channels [PDSA, GMDR, prompt mask].
"""

from __future__ import annotations

import numpy as np

from .config import PromptConfig
from .prompt_alignment import PDSA_NEIGHBOURS, gmdr, pdsa


def prompt_count(cfg: PromptConfig, height: int, width: int, rng: np.random.Generator) -> int:
    """N ~ U[lo, hi] at the reference resolution, times (H*W) / reference pixels, at least ``min_count``
    (``sample_prompt`` then clips it to the image's valid pixel count)."""
    lo, hi = cfg.count_range
    return max(cfg.min_count, int(round(rng.uniform(lo, hi) * (height * width) / cfg.reference_pixels)))


def sample_prompt(depth: np.ndarray, count: int, rng: np.random.Generator) -> np.ndarray:
    """A sparse depth map keeping ``count`` random valid pixels of ``depth`` (0 elsewhere)."""
    idx = np.flatnonzero(depth > 0)
    prompt = np.zeros_like(depth, dtype=np.float32)
    if idx.size:
        keep = rng.choice(idx, size=min(count, idx.size), replace=False)
        prompt.flat[keep] = depth.flat[keep]
    return prompt


def prompt_input(prior: np.ndarray, prompt: np.ndarray, neighbours: int = PDSA_NEIGHBOURS) -> np.ndarray:
    """(3, H, W) float32 model input [PDSA, GMDR, mask] (metres, 0 = invalid; mask 1 on prompt pixels)."""
    mask = (prompt > 0).astype(np.float32)
    return np.stack([pdsa(prior, prompt, neighbours), gmdr(prior, prompt), mask]).astype(np.float32)
