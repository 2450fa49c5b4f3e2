"""Sparse metric prompts (MetricAnything §3.2): sampling, GMDR and PDSA alignment.

A prior depth (from a monocular model, e.g. the MDM model with every depth token masked) has
the right shape but the wrong scale. GMDR rescales it globally to the prompt; PDSA fits a
smooth per-pixel scale field from the prompt/prior ratios. The model input is the three
channels [PDSA, GMDR, prompt mask].
"""

from __future__ import annotations

import numpy as np
import cv2

from .config import PromptConfig


def prompt_count(cfg: PromptConfig, height: int, width: int, rng: np.random.Generator) -> int:
    """N ~ U[lo, hi] at the reference resolution, scaled by the pixel count of this image."""
    lo, hi = cfg.count_range
    n = rng.uniform(lo, hi) * (height * width) / cfg.reference_pixels
    return max(cfg.min_count, int(round(n)))


def sample_prompt(depth: np.ndarray, count: int, rng: np.random.Generator) -> np.ndarray:
    """A sparse depth map keeping ``count`` random valid pixels of ``depth`` (0 elsewhere)."""
    idx = np.flatnonzero(depth > 0)
    prompt = np.zeros_like(depth, dtype=np.float32)
    if idx.size:
        keep = rng.choice(idx, size=min(count, idx.size), replace=False)
        prompt.flat[keep] = depth.flat[keep]
    return prompt


def gmdr_scale(prior: np.ndarray, prompt: np.ndarray) -> float:
    """Global scale s minimising the median log ratio: s = exp(median(ln(prompt / prior)))."""
    ok = (prompt > 0) & (prior > 0)
    if not ok.any():
        raise ValueError("GMDR: the prompt has no valid pixel where the prior is valid")
    return float(np.exp(np.median(np.log(prompt[ok] / prior[ok]))))


def gmdr(prior: np.ndarray, prompt: np.ndarray) -> np.ndarray:
    """Global metric depth rescale of the prior to the prompt."""
    return (prior * gmdr_scale(prior, prompt)).astype(np.float32)


def pdsa_scale_field(prior: np.ndarray, prompt: np.ndarray, sigma_frac: float = 0.08) -> np.ndarray:
    """Smooth per-pixel scale field interpolated from prompt/prior ratios.

    Normalised convolution in log space: Gaussian-blur (log ratio x mask) / blur(mask), with
    sigma a fraction of the image diagonal; pixels far from any prompt fall back to the
    global (GMDR) scale, so the field never blows up.
    """
    ok = (prompt > 0) & (prior > 0)
    global_log = np.log(gmdr_scale(prior, prompt))
    h, w = prior.shape
    sigma = max(1.0, sigma_frac * float(np.hypot(h, w)))
    log_ratio = np.zeros((h, w), np.float64)
    log_ratio[ok] = np.log(prompt[ok] / prior[ok]) - global_log
    weight = ok.astype(np.float64)
    num = cv2.GaussianBlur(log_ratio, (0, 0), sigma, borderType=cv2.BORDER_REFLECT)
    den = cv2.GaussianBlur(weight, (0, 0), sigma, borderType=cv2.BORDER_REFLECT)
    # a small prior weight pulls empty regions back to the global scale
    local = num / (den + 1e-3 * den.max())
    return np.exp(global_log + local).astype(np.float32)


def pdsa(prior: np.ndarray, prompt: np.ndarray, sigma_frac: float = 0.08) -> np.ndarray:
    """Per-pixel scale alignment of the prior to the prompt."""
    return (prior * pdsa_scale_field(prior, prompt, sigma_frac)).astype(np.float32)


def prompt_input(prior: np.ndarray, prompt: np.ndarray, sigma_frac: float = 0.08) -> np.ndarray:
    """(3, H, W) float32 model input [PDSA, GMDR, mask]."""
    mask = (prompt > 0).astype(np.float32)
    return np.stack([pdsa(prior, prompt, sigma_frac), gmdr(prior, prompt), mask]).astype(np.float32)
