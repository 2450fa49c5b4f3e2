"""A log-depth prior from the depth the model is allowed to see, for MDM's residual output.

With ``depth_prior="fill"`` the MDM decoder predicts a log-depth *residual* over a smooth
fill of the visible input depth (valid pixels of unmasked depth tokens). The network then
spends its capacity on what the sensor got wrong or missed instead of re-learning metric
scale, which small models trained briefly cannot do. ``"median"`` anchors only the global
scale; ``"none"`` is the paper's plain decoder.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

DEPTH_PRIORS = ("none", "median", "fill")
#: log(2 m): the prior where nothing is visible (monocular input), a sensible indoor start
DEFAULT_LOG_DEPTH = 0.7


def depth_to_log_input(depth: torch.Tensor) -> torch.Tensor:
    """Metric depth (0 = invalid) -> log depth with 0 where invalid, a scale-friendly input."""
    return torch.where(depth > 0, torch.log(depth.clamp_min(1e-3)), torch.zeros_like(depth))


def push_pull_fill(values: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
    """Fill the invalid pixels of (B, H, W) ``values`` from a pyramid of valid-weighted 2×2 means.

    Pull: sum values and weights over 2×2 blocks until no cell is empty (or 1 pixel is left).
    Push: upsample the coarse estimate bilinearly into the empty cells, level by level. Valid
    pixels keep their value exactly; big holes get a smooth interpolation, not a flat copy.
    An image without any valid pixel comes back as zeros.
    """
    weights = valid.to(values.dtype)[:, None]
    sums = torch.where(valid, values, torch.zeros_like(values))[:, None]
    pyramid = [(sums, weights)]
    while bool((weights == 0).any()) and min(weights.shape[2:]) > 1:
        h, w = weights.shape[2:]
        pad = (0, w % 2, 0, h % 2)
        sums = F.avg_pool2d(F.pad(sums, pad), 2, divisor_override=1)
        weights = F.avg_pool2d(F.pad(weights, pad), 2, divisor_override=1)
        pyramid.append((sums, weights))
    sums, weights = pyramid[-1]
    filled = sums / weights.clamp_min(1e-12)
    for sums, weights in reversed(pyramid[:-1]):
        h, w = weights.shape[2:]
        up = F.interpolate(filled, size=(2 * filled.shape[2], 2 * filled.shape[3]), mode="bilinear",
                           align_corners=False)[:, :, :h, :w]
        filled = torch.where(weights > 0, sums / weights.clamp_min(1e-12), up)
    return filled[:, 0]


def visible_depth(depth: torch.Tensor, depth_mask: torch.Tensor | None, patch: int) -> torch.Tensor:
    """(B, H, W) depth with the pixels of masked depth tokens set to 0 (invalid)."""
    if depth_mask is None:
        return depth
    b, h, w = depth.shape
    grid = depth_mask.view(b, 1, h // patch, w // patch).to(depth.dtype)
    hidden = F.interpolate(grid, size=(h // patch * patch, w // patch * patch), mode="nearest")
    hidden = F.pad(hidden, (0, w - hidden.shape[3], 0, h - hidden.shape[2]), value=1.0)[:, 0] > 0.5
    return torch.where(hidden, torch.zeros_like(depth), depth)


def drop_specks(valid: torch.Tensor, size: int = 3) -> torch.Tensor:
    """(B, H, W) valid mask without regions thinner than ``size`` px (a morphological opening).

    Stereo matchers leave isolated wrong pixels inside big holes; a fill spreads each of them
    over the whole hole, so the prior ignores them."""
    mask = valid[:, None].float()
    eroded = -F.max_pool2d(-mask, size, stride=1, padding=size // 2)
    opened = F.max_pool2d(eroded, size, stride=1, padding=size // 2)
    return valid & (opened[:, 0] > 0.5)


def log_depth_prior(kind: str, depth: torch.Tensor | None, depth_mask: torch.Tensor | None, patch: int,
                    rgb: torch.Tensor) -> torch.Tensor | None:
    """(B, 1, H, W) log-depth prior at ``rgb``'s size, or None for ``kind="none"``.

    Images without a visible valid pixel (and ``depth=None``, monocular) get
    :data:`DEFAULT_LOG_DEPTH` everywhere.
    """
    if kind not in DEPTH_PRIORS:
        raise ValueError(f"depth prior {kind!r}: choose one of {', '.join(DEPTH_PRIORS)}")
    if kind == "none":
        return None
    b, _, h, w = rgb.shape
    if depth is None:
        return torch.full((b, 1, h, w), DEFAULT_LOG_DEPTH, dtype=rgb.dtype, device=rgb.device)
    seen = visible_depth(depth, depth_mask, patch)
    valid = drop_specks(seen > 0)
    log_depth = depth_to_log_input(seen)
    if kind == "median":
        prior = torch.stack([row[ok].median() if ok.any() else row.new_tensor(DEFAULT_LOG_DEPTH)
                             for row, ok in zip(log_depth.flatten(1), valid.flatten(1))])
        prior = prior[:, None, None].expand(-1, *depth.shape[1:])
    else:
        prior = push_pull_fill(log_depth, valid)
    has_any = valid.flatten(1).any(1)[:, None, None]
    prior = torch.where(has_any, prior, torch.full_like(prior, DEFAULT_LOG_DEPTH))[:, None]
    if prior.shape[2:] != (h, w):
        prior = F.interpolate(prior, size=(h, w), mode="bilinear", align_corners=False)
    return prior.to(rgb.dtype)
