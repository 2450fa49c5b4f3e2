"""GMDR and PDSA as Prior Depth Anything defines them (its "coarse metric alignment").

MetricAnything §3.2 prepares a sparse metric prompt the way Prior Depth Anything (PriorDA,
SpatialVision/Prior-Depth-Anything, ``depth_completion.py``) pre-fills a depth prior from a
monocular prediction ``P_d``. Both alignments work in disparity (1 / depth, 0 where depth <= 0):

- GMDR, global metric depth recovery: one least-squares scale and shift mapping the prior's
  disparity onto the prompt's disparity over all prompt pixels (PriorDA's ``ss_completer``).
- PDSA, pixel-wise depth scale alignment: for every other pixel, its ``k`` nearest prompt pixels
  (Euclidean pixel distance, PriorDA's K = 5) give a weighted least-squares scale and shift; each
  neighbour's row is multiplied by its normalised inverse distance, so its squared residual counts
  with that weight squared (PriorDA's ``kss_completer`` / ``perform_weighted``).

Prompt pixels keep their exact depth in both maps. Aligned disparities <= 0 become depth 0
(invalid), as PriorDA's ``disparity2depth``. Where depthcur differs, because PriorDA's frozen
model never returns an invalid pixel and it jitters the prediction by 1e-5 to keep ``lstsq``
solvable: prompt pixels where the prior is invalid are left out of the fits, other pixels
where the prior is invalid stay 0, and a fit whose prior disparities are all equal (a flat prior)
is solved exactly as scale 0 and shift = the weighted mean of the prompt disparities, so PDSA
of a flat prior is inverse-distance interpolation of the prompt.
"""

from __future__ import annotations

import numpy as np
import torch

from .losses import inverse_depth

#: PriorDA's default number of nearest prompt pixels per PDSA fit (``Arguments.K``)
PDSA_NEIGHBOURS = 5
#: query pixels per block of the k-nearest-neighbour search (bounds the distance matrix's memory)
KNN_BLOCK_ELEMENTS = 1 << 22
#: relative prior-disparity spread below which a fit is treated as flat (shift only)
FLAT_PRIOR_SPREAD = 1e-9


def to_disparity(depth: torch.Tensor) -> torch.Tensor:
    """1 / depth, with 0 where the depth is 0 or negative (invalid); also maps disparity back to depth."""
    return inverse_depth(depth, depth > 0)


def fit_scale_shift(prior: torch.Tensor, target: torch.Tensor,
                    weights: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Weighted least squares of ``scale * prior + shift = target`` along the last axis.

    ``weights`` (same shape, default 1) multiply the squared residuals. Fits whose prior values
    are all equal get scale 0 and the weighted mean of the targets as the shift.
    """
    weights = torch.ones_like(prior) if weights is None else weights
    total = weights.sum(-1, keepdim=True)
    prior_mean = (weights * prior).sum(-1, keepdim=True) / total
    target_mean = (weights * target).sum(-1, keepdim=True) / total
    centred = prior - prior_mean
    spread = (weights * centred * centred).sum(-1)
    covariance = (weights * centred * (target - target_mean)).sum(-1)
    flat = spread <= FLAT_PRIOR_SPREAD * (weights * prior * prior).sum(-1).clamp_min(1e-30)
    scale = torch.where(flat, torch.zeros_like(spread), covariance / torch.where(flat, torch.ones_like(spread),
                                                                                 spread))
    shift = target_mean[..., 0] - scale * prior_mean[..., 0]
    return scale, shift


def nearest_prompts(queries: torch.Tensor, prompts: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Distances and indices (Q, k) of the ``k`` nearest of ``prompts`` (P, 2) to each of ``queries`` (Q, 2).

    Brute force in blocks of queries: the reference the grid search is checked against.
    """
    block = max(1, KNN_BLOCK_ELEMENTS // max(1, prompts.shape[0]))
    dists, index = [], []
    for start in range(0, queries.shape[0], block):
        found = torch.topk(torch.cdist(queries[start:start + block], prompts), k, dim=1, largest=False)
        dists.append(found.values)
        index.append(found.indices)
    return torch.cat(dists), torch.cat(index)


def tile_size(height: int, width: int, count: int, k: int) -> int:
    """Square tiles about as wide as the k-th neighbour distance of uniformly spread prompts."""
    return int(np.clip(np.sqrt(k * height * width / max(1, count)), 4, 64))


def nearest_prompts_on_grid(height: int, width: int, prompts: torch.Tensor,
                            k: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The ``k`` nearest of ``prompts`` (P, 2) (row, col) to every pixel: (H*W, k) distances and indices.

    Exact, without the full pixel x prompt distance matrix: a pixel q of a tile with centre c and
    half-diagonal h has its k-th neighbour within r_k(c) + h, so all its k nearest prompts lie
    within r_k(c) + 2h of c; only those candidates are compared with the tile's pixels.
    """
    side = tile_size(height, width, prompts.shape[0], k)
    rows, cols = -(-height // side), -(-width // side)
    offsets = torch.arange(side, dtype=prompts.dtype, device=prompts.device)
    tile_rows = torch.arange(rows, dtype=prompts.dtype, device=prompts.device)[:, None] * side
    tile_cols = torch.arange(cols, dtype=prompts.dtype, device=prompts.device)[:, None] * side
    centres = torch.stack(torch.meshgrid(tile_rows[:, 0], tile_cols[:, 0], indexing="ij"), -1).reshape(-1, 2)
    centres = centres + (side - 1) / 2
    local = torch.stack(torch.meshgrid(offsets, offsets, indexing="ij"), -1).reshape(-1, 2) - (side - 1) / 2
    half_diagonal = (side - 1) / 2 * 2 ** 0.5
    dists = torch.empty(rows * cols, side * side, k, dtype=prompts.dtype, device=prompts.device)
    index = torch.empty(rows * cols, side * side, k, dtype=torch.long, device=prompts.device)
    per_block = max(1, KNN_BLOCK_ELEMENTS // max(prompts.shape[0], side * side * 4 * k))
    for start in range(0, centres.shape[0], per_block):
        centre = centres[start:start + per_block]
        to_centre = torch.cdist(centre, prompts)
        reach = torch.kthvalue(to_centre, k, dim=1).values + 2 * half_diagonal
        most = int((to_centre <= reach[:, None]).sum(1).max())
        candidates = torch.topk(to_centre, most, dim=1, largest=False).indices          # (b, M)
        pixels = centre[:, None, :] + local[None]                                        # (b, T*T, 2)
        found = torch.topk(torch.cdist(pixels, prompts[candidates]), k, dim=2, largest=False)
        dists[start:start + per_block] = found.values
        index[start:start + per_block] = torch.gather(candidates[:, None, :].expand(-1, side * side, -1), 2,
                                                      found.indices)
    # tile-major order -> image order, dropping the pixels of the padded border
    tile_grid = dists.reshape(rows, cols, side, side, k).permute(0, 2, 1, 3, 4).reshape(rows * side,
                                                                                       cols * side, k)
    index_grid = index.reshape(rows, cols, side, side, k).permute(0, 2, 1, 3, 4).reshape(rows * side,
                                                                                        cols * side, k)
    return (tile_grid[:height, :width].reshape(-1, k), index_grid[:height, :width].reshape(-1, k))


def _as_tensor(array: np.ndarray | torch.Tensor, device: torch.device | str | None) -> torch.Tensor:
    return torch.as_tensor(np.asarray(array) if not torch.is_tensor(array) else array,
                           device=device).to(torch.float64)


def _prompt_pixels(prior_disp: torch.Tensor, prompt_disp: torch.Tensor) -> torch.Tensor:
    """Flat indices of the prompt pixels the fits use: prompt and prior both valid."""
    usable = torch.nonzero(((prompt_disp > 0) & (prior_disp > 0)).reshape(-1)).reshape(-1)
    if usable.numel() == 0:
        raise ValueError("prompt alignment: the prompt has no valid pixel where the prior is valid")
    return usable


def _to_depth_keeping_prompt(aligned_disp: torch.Tensor, prior_disp: torch.Tensor,
                             prompt: torch.Tensor) -> np.ndarray:
    """Depth of an aligned disparity map: 0 where it is <= 0 or the prior invalid, the prompt where given."""
    aligned_disp = torch.where(prior_disp > 0, aligned_disp, torch.zeros_like(aligned_disp))
    depth = torch.where(prompt > 0, prompt, to_disparity(aligned_disp))
    return depth.to(torch.float32).cpu().numpy()


def gmdr(prior: np.ndarray | torch.Tensor, prompt: np.ndarray | torch.Tensor,
         device: torch.device | str | None = None) -> np.ndarray:
    """(H, W) prior depth globally aligned to the (H, W) prompt depth (0 = none) in disparity."""
    prompt_t = _as_tensor(prompt, device)
    prior_disp, prompt_disp = to_disparity(_as_tensor(prior, device)), to_disparity(prompt_t)
    used = _prompt_pixels(prior_disp, prompt_disp)
    scale, shift = fit_scale_shift(prior_disp.reshape(-1)[used], prompt_disp.reshape(-1)[used])
    return _to_depth_keeping_prompt(scale * prior_disp + shift, prior_disp, prompt_t)


def pdsa(prior: np.ndarray | torch.Tensor, prompt: np.ndarray | torch.Tensor, k: int = PDSA_NEIGHBOURS,
         device: torch.device | str | None = None) -> np.ndarray:
    """(H, W) prior depth aligned per pixel to its ``k`` nearest prompt pixels, in disparity."""
    prompt_t = _as_tensor(prompt, device)
    prior_disp, prompt_disp = to_disparity(_as_tensor(prior, device)), to_disparity(prompt_t)
    height, width = prior_disp.shape
    used = _prompt_pixels(prior_disp, prompt_disp)
    rows = torch.arange(height, device=prior_disp.device, dtype=torch.float64)
    cols = torch.arange(width, device=prior_disp.device, dtype=torch.float64)
    coords = torch.stack(torch.meshgrid(rows, cols, indexing="ij"), -1).reshape(-1, 2)
    # prompt pixels are copied, so only the others are fitted
    todo = torch.nonzero((prompt_disp.reshape(-1) <= 0) & (prior_disp.reshape(-1) > 0)).reshape(-1)
    aligned = torch.zeros(height * width, dtype=torch.float64, device=prior_disp.device)
    if todo.numel():
        dists, nearest = nearest_prompts_on_grid(height, width, coords[used], min(k, used.numel()))
        dists, nearest = dists[todo], nearest[todo]
        inverse = 1.0 / dists
        row_weight = inverse / inverse.sum(1, keepdim=True)
        neighbours = used[nearest]
        scale, shift = fit_scale_shift(prior_disp.reshape(-1)[neighbours], prompt_disp.reshape(-1)[neighbours],
                                       row_weight * row_weight)
        aligned[todo] = scale * prior_disp.reshape(-1)[todo] + shift
    return _to_depth_keeping_prompt(aligned.reshape(height, width), prior_disp, prompt_t)
