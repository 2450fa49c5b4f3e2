"""Training losses. Every function takes (B, H, W) tensors plus a (B, H, W) bool validity mask
and returns per-image values (B,), so stages can weight images (e.g. SSI-MAGE on rendered labels only).
An image with no valid pixel contributes 0.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

_EPS = 1e-6
SCHARR_X = torch.tensor([[-3.0, 0.0, 3.0], [-10.0, 0.0, 10.0], [-3.0, 0.0, 3.0]]) / 32.0


def masked_mean(values: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
    """Per-image mean of ``values`` over ``valid``; 0 where an image has no valid pixel."""
    valid = valid.to(values.dtype)
    dims = tuple(range(1, values.dim()))
    return (values * valid).sum(dims) / valid.sum(dims).clamp_min(1.0)


def l1_valid(pred: torch.Tensor, target: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
    """MDM loss: L1 on valid ground-truth pixels."""
    return masked_mean((pred - target).abs(), valid)


def robust_mae(pred: torch.Tensor, target: torch.Tensor, valid: torch.Tensor, drop: float = 0.2) -> torch.Tensor:
    """Mean absolute error after dropping the largest ``drop`` share of residuals per image.

    With n valid pixels, the floor(drop * n) largest residuals are dropped and the mean is
    taken over the rest, so outliers in pseudo labels (flying pixels, glass) cannot dominate.
    """
    residual = (pred - target).abs().flatten(1)
    valid = valid.flatten(1)
    out = []
    for res, ok in zip(residual, valid):
        r = res[ok]
        keep = r.numel() - int(math.floor(drop * r.numel()))
        out.append(torch.sort(r).values[:keep].mean() if keep > 0 else res.sum() * 0)
    return torch.stack(out)


def ssi_normalize(x: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
    """Per image, over valid pixels: subtract the median t and divide by the median absolute
    deviation s = median |x - t| (MetricAnything's "MAD as a median"). Both medians are torch's:
    the lower middle value for an even count."""
    out = torch.zeros_like(x)
    for i in range(x.shape[0]):
        v = x[i][valid[i]]
        if v.numel() == 0:
            continue
        med = v.median()
        mad = (v - med).abs().median().clamp_min(_EPS)
        out[i] = (x[i] - med) / mad
    return out


#: 5-tap binomial kernel, a Gaussian of sigma 1: the blur before each 2x downsampling in SSI-MAGE
BINOMIAL_5 = torch.tensor([1.0, 4.0, 6.0, 4.0, 1.0]) / 16.0


def blur_downsample(x: torch.Tensor, valid: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(B, H, W) -> (B, ceil(H/2), ceil(W/2)): a binomial blur, then every second pixel, so the
    coarse scales see no aliasing. A coarse pixel is valid where all 25 taps were valid (the image
    border is replicated, so a fully valid map stays fully valid); invalid pixels are 0."""
    taps = BINOMIAL_5.to(x.device, x.dtype)
    kernel = (taps[:, None] * taps[None, :])[None, None]
    mask = valid.to(x.dtype)[:, None]
    blurred = F.conv2d(F.pad((x * valid)[:, None], (2, 2, 2, 2), mode="replicate"), kernel)
    coverage = F.conv2d(F.pad(mask, (2, 2, 2, 2), mode="replicate"), kernel)
    ok = coverage > 1.0 - 1e-4
    return torch.where(ok, blurred, 0.0)[:, 0, ::2, ::2], ok[:, 0, ::2, ::2]


def _scharr(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    kx = SCHARR_X.to(x.device, x.dtype)[None, None]
    ky = kx.transpose(2, 3)
    x = x[:, None]
    return F.conv2d(x, kx)[:, 0], F.conv2d(x, ky)[:, 0]


def _interior_valid(valid: torch.Tensor) -> torch.Tensor:
    """Pixels whose whole 3x3 neighbourhood is valid (where a Scharr gradient is defined)."""
    v = valid[:, None].float()
    return (-F.max_pool2d(-v, 3, stride=1))[:, 0] > 0.5


def ssi_mage(pred: torch.Tensor, target: torch.Tensor, valid: torch.Tensor, scales: int = 6) -> torch.Tensor:
    """Scale-and-shift-invariant multi-scale absolute gradient error.

    Both maps are median/MAD normalised, then the mean absolute difference of their Scharr
    gradients is averaged over ``scales`` scales; each coarser scale is the previous one blurred
    and halved (:func:`blur_downsample`). It is 0 for ``pred = a * target + b`` (a > 0) and
    positive when the shapes differ.
    """
    p, t, v = ssi_normalize(pred, valid), ssi_normalize(target, valid), valid
    total = torch.zeros(pred.shape[0], device=pred.device, dtype=pred.dtype)
    used = 0
    for s in range(scales):
        if s > 0:
            (p, _), (t, v) = blur_downsample(p, v), blur_downsample(t, v)
        if min(p.shape[1:]) < 3:
            break
        (pgx, pgy), (tgx, tgy) = _scharr(p), _scharr(t)
        inner = _interior_valid(v)
        total = total + masked_mean((pgx - tgx).abs() + (pgy - tgy).abs(), inner)
        used += 1
    return total / max(used, 1)


def inverse_depth(depth: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
    return torch.where(valid, 1.0 / depth.clamp_min(_EPS), torch.zeros_like(depth))


def log_distance(depth: torch.Tensor, log_base: float = 400.0) -> torch.Tensor:
    """D_log = 1 - ln(D) / ln(C): 1 at 1 m, 0 at C metres; compresses far range, balancing distances."""
    return 1.0 - torch.log(depth.clamp_min(_EPS)) / math.log(log_base)


def distance_balanced(pred: torch.Tensor, target: torch.Tensor, valid: torch.Tensor,
                      log_base: float = 400.0) -> torch.Tensor:
    """L1 between D_log(pred) and D_log(target) on valid pixels (MetricAnything distillation)."""
    return masked_mean((log_distance(pred, log_base) - log_distance(target, log_base)).abs(), valid)


def prompt_loss(pred: torch.Tensor, target: torch.Tensor, valid: torch.Tensor, gt_rendered: torch.Tensor,
                alpha: float = 15.0, beta: float = 5.0) -> torch.Tensor:
    """Prompt stage, per image, in inverse depth (MetricAnything §3.2, as DepthPro): real labels get
    alpha * robust MAE (their worst 20 % of pixels dropped); rendered labels (``gt_rendered``) are
    exact, so they get alpha * MAE over every pixel + beta * SSI-MAGE."""
    inv_p, inv_t = inverse_depth(pred, valid), inverse_depth(target, valid)
    rendered = gt_rendered.to(device=pred.device, dtype=torch.bool)
    data_term = torch.where(rendered, l1_valid(inv_p, inv_t, valid), robust_mae(inv_p, inv_t, valid))
    return alpha * data_term + beta * ssi_mage(inv_p, inv_t, valid) * rendered.to(pred.dtype)


def resize_depth(depth: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """(B, H, W) depth resized bilinearly in inverse depth (as DepthPro and MetricAnything resize their
    outputs), so a depth edge blends disparities rather than metres."""
    inverse = F.interpolate(1.0 / depth.clamp_min(_EPS)[:, None], size=size, mode="bilinear", align_corners=False)
    return 1.0 / inverse[:, 0].clamp_min(_EPS)


def prompt_loss_native(pred: torch.Tensor, gt_native: torch.Tensor, native_shape: torch.Tensor,
                       gt_rendered: torch.Tensor, alpha: float = 15.0, beta: float = 5.0) -> torch.Tensor:
    """:func:`prompt_loss` at each dataset's own resolution: image i's prediction resized to its ground
    truth ``gt_native[i, :h, :w]`` ((h, w) = ``native_shape[i]``; the padding beyond is 0, invalid)."""
    losses = []
    for i, (height, width) in enumerate(native_shape.tolist()):
        gt = gt_native[i:i + 1, :height, :width]
        p = pred[i:i + 1]
        if tuple(p.shape[-2:]) != (height, width):
            p = resize_depth(p, (height, width))
        losses.append(prompt_loss(p, gt, gt > 0, gt_rendered[i:i + 1], alpha, beta))
    return torch.cat(losses)


def distill_loss(pred: torch.Tensor, target: torch.Tensor, valid: torch.Tensor, log_base: float = 400.0,
                 gamma: float = 10.0, delta: float = 2.0) -> torch.Tensor:
    """Student: gamma * distance-balanced loss + delta * SSI-MAGE, both on D_log."""
    lp, lt = log_distance(pred, log_base), log_distance(target, log_base)
    return gamma * distance_balanced(pred, target, valid, log_base) + delta * ssi_mage(lp, lt, valid)
