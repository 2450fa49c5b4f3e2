"""Compiled loops behind the evaluate metrics (numba).

Each metric is a sum over pixels; numpy pays a full-map pass (and a temporary) per term, per region and per
model, so the full metric set cost ~26× a bare AbsRel + δ1. These loops take each pixel once: region 0 (all
valid pixels) and the stereo errors in branch-free blocks the compiler vectorises, the few pixels of the other
regions (missed input, FDE targets) in a second loop over the labels, and boundary F1 from a vectorised scan
for candidate edge pairs. Per pixel they do the arithmetic of the numpy definitions (``metrics.py``: same
dtypes, same operations, numpy's own log10), so every per-pixel value and every count is the same; float sums
add blocks of ``BLOCK`` pixels (reassociated within a block), so a mean differs from ``np.mean``'s only by
summation order (relative ~1e-15 on a 480×640 map; the tests hold 1e-12).

Compiled on first use and cached beside this file (``cache=True``); ``nogil`` lets thread workers overlap.
"""

from __future__ import annotations

import numba
import numpy as np

from .align import MODE_AFFINE, MODE_NONE, MODE_SCALE

#: columns of the float sums and of the counts :func:`region_sums` returns
SUM_ABS_REL, SUM_SQ, SUM_ABS, SUM_LOG10, SUM_INV_SQ = 0, 1, 2, 3, 4
COUNT_D1, COUNT_D2, COUNT_D3, COUNT_PIXELS = 0, 1, 2, 3
N_SUMS, N_COUNTS = 5, 4
#: float sums are added per block of this many pixels, then the block totals
BLOCK = 1024
#: regions one pass can carry (bits of the uint64 labels)
MAX_REGIONS = 64

_jit = numba.njit(cache=True, nogil=True, error_model="numpy")
#: small helpers, inlined into their callers' loops
_inline = numba.njit(inline="always", error_model="numpy")
#: for branch-free block sums: lets the compiler reorder the additions within a block, and so vectorise them
_jit_reassociating = numba.njit(cache=True, nogil=True, error_model="numpy", fastmath={"reassoc"})


@_jit
def aligned_value(p, mode, scale32, shift32, floor32, scale, shift, floor):
    """One pixel of an aligned map (``align.Alignment.kernel_args``): float32 arithmetic for scale and affine,
    as numpy does on a float32 map with Python coefficients, float64 for the disparity fit."""
    if mode == MODE_NONE:
        return p
    if mode == MODE_SCALE:
        return scale32 * p
    if mode == MODE_AFFINE:
        value = scale32 * p + shift32
        return value if value >= floor32 else floor32
    disparity = scale / np.float64(p) + shift
    if not disparity >= floor:          # np.maximum: NaN stays NaN
        disparity = floor if disparity < floor else disparity
    return np.float32(1.0 / disparity)


@_jit
def align_map(pred, mode, scale32, shift32, floor32, scale, shift, floor):
    """The aligned map of ``pred`` (float32); pixels with pred <= 0 stay 0."""
    out = np.zeros(pred.shape, dtype=np.float32)
    flat_in, flat_out = pred.ravel(), out.ravel()
    for i in range(flat_in.size):
        p = flat_in[i]
        if p > 0:
            flat_out[i] = aligned_value(p, mode, scale32, shift32, floor32, scale, shift, floor)
    return out


@_inline
def _add_to_region(block, counts, region, abs_rel, sq, ratio):
    """A pixel's terms into a region other than 0 (its metrics need AbsRel, RMSE and δ1 only)."""
    block[region, 0] += abs_rel
    block[region, 1] += sq
    counts[region, COUNT_D1] += ratio < 1.25
    counts[region, COUNT_PIXELS] += 1


@_jit_reassociating
def _whole_region_block(pred, aligned, log_aligned, gt, log_gt, inv_gt, labels):
    """Region 0's sums and counts over a block of pixels (slices of the flat maps), and the non-finite
    predictions there. Branch-free (a pixel outside adds 0) and indexed from 0 (a loop from a variable start
    is not vectorised), so the compiler vectorises it; its sums may be reassociated within the block."""
    abs_rel = sq = absolute = log10 = inv_sq = 0.0
    d1 = d2 = d3 = n = non_finite = 0
    for i in range(pred.size):
        p = pred[i]
        non_finite += not np.isfinite(p)
        ok = (labels[i] & np.uint64(1)) != 0 and p > 0
        g = np.float64(gt[i])
        q = np.float64(aligned[i])
        diff = q - g
        abs_diff = abs(diff)
        ratio = max(q / g, g / q)
        inverse = 1000.0 / q - inv_gt[i]
        abs_rel += abs_diff / g if ok else 0.0
        sq += diff * diff if ok else 0.0
        absolute += abs_diff if ok else 0.0
        log10 += abs(log_aligned[i] - log_gt[i]) if ok else 0.0
        inv_sq += inverse * inverse if ok else 0.0
        d1 += ok and ratio < 1.25
        d2 += ok and ratio < 1.25 ** 2
        d3 += ok and ratio < 1.25 ** 3
        n += ok
    return abs_rel, sq, absolute, log10, inv_sq, d1, d2, d3, n, non_finite


@_jit_reassociating
def _unaligned_twin_block(pred, gt, labels):
    """Region 0's AbsRel, squared error and δ1 of the prediction as given (its unaligned twin, when an
    alignment changed it) over a block, branch-free like :func:`_whole_region_block`."""
    abs_rel = sq = 0.0
    d1 = 0
    for i in range(pred.size):
        p = pred[i]
        ok = (labels[i] & np.uint64(1)) != 0 and p > 0
        g = np.float64(gt[i])
        raw = np.float64(p)
        diff = raw - g
        abs_rel += abs(diff) / g if ok else 0.0
        sq += diff * diff if ok else 0.0
        d1 += ok and max(raw / g, g / raw) < 1.25
    return abs_rel, sq, d1


@_jit
def region_sums(pred, aligned, log_aligned, same, gt, log_gt, inv_gt, labels, n_regions, aligned_regions, raw_all):
    """Sums and counts of the depth-metric terms over each labelled region.

    Flat maps: ``pred`` as given, ``aligned`` (the aligned prediction; ``same`` when it is ``pred``) and its
    ``log_aligned`` = log10, ``gt`` (0 = invalid) with ``log_gt`` = log10 g and ``inv_gt`` = 1000 / g. Bit k of
    ``labels[i]`` puts pixel i in region k. A pixel counts where pred > 0. Region 0 (all valid pixels) and the
    regions whose bit is set in ``aligned_regions`` take the aligned prediction (the latter only where it is
    > 0); the others the prediction as given. Region 0 gets every term; the others AbsRel, squared error and
    δ1 (all their metrics need). ``raw_all`` > 0 names a region of region 0's pixels scored on the prediction
    as given (region 0's twin, summed block by block beside it); it has no label bit, and when ``same`` its
    sums are region 0's and it stays empty.
    Returns (float sums [n_regions, N_SUMS], counts [n_regions, N_COUNTS], non-finite predictions in the map).
    """
    sums = np.zeros((n_regions, N_SUMS))
    counts = np.zeros((n_regions, N_COUNTS), dtype=np.int64)
    block = np.zeros((n_regions, 2))
    non_finite = 0
    one = np.uint64(1)
    for start in range(0, pred.size, BLOCK):
        stop = min(start + BLOCK, pred.size)
        abs_rel, sq, absolute, log10, inv_sq, d1, d2, d3, n, bad = _whole_region_block(
            pred[start:stop], aligned[start:stop], log_aligned[start:stop], gt[start:stop], log_gt[start:stop],
            inv_gt[start:stop], labels[start:stop])
        sums[0, SUM_ABS_REL] += abs_rel
        sums[0, SUM_SQ] += sq
        sums[0, SUM_ABS] += absolute
        sums[0, SUM_LOG10] += log10
        sums[0, SUM_INV_SQ] += inv_sq
        counts[0, COUNT_D1] += d1
        counts[0, COUNT_D2] += d2
        counts[0, COUNT_D3] += d3
        counts[0, COUNT_PIXELS] += n
        non_finite += bad
        if raw_all > 0 and not same:
            twin_abs_rel, twin_sq, twin_d1 = _unaligned_twin_block(pred[start:stop], gt[start:stop], labels[start:stop])
            sums[raw_all, SUM_ABS_REL] += twin_abs_rel
            sums[raw_all, SUM_SQ] += twin_sq
            counts[raw_all, COUNT_D1] += twin_d1
            counts[raw_all, COUNT_PIXELS] += n
        # the other regions: few pixels each, so a branchy loop over the labels
        for i in range(start, stop):
            p = pred[i]
            bits = labels[i]
            rest = bits >> one
            if not rest or not p > 0 or not np.isfinite(p):
                continue
            g = np.float64(gt[i])
            q = np.float64(aligned[i])
            diff = q - g
            aligned_rest = rest if same else (bits & aligned_regions) >> one
            region = 1
            while rest:
                if rest & one:
                    if aligned_rest & one:
                        if q > 0:
                            _add_to_region(block, counts, region, abs(diff) / g, diff * diff, max(q / g, g / q))
                    else:
                        raw = np.float64(p)
                        raw_diff = raw - g
                        _add_to_region(block, counts, region, abs(raw_diff) / g, raw_diff * raw_diff,
                                       max(raw / g, g / raw))
                rest >>= one
                aligned_rest >>= one
                region += 1
        for region in range(1, n_regions):
            sums[region, SUM_ABS_REL] += block[region, 0]
            sums[region, SUM_SQ] += block[region, 1]
            block[region, 0] = block[region, 1] = 0.0
    return sums, counts, non_finite


@_inline
def _bin(value, thresholds):
    """How many thresholds ``value`` exceeds (NaN exceeds none)."""
    k = 0
    while k < thresholds.size and value > thresholds[k]:
        k += 1
    return k


@_inline
def _edge(masked, first, second, before, after, has_before, has_after, floor):
    """Whether the valid pair (first, second), ``first`` the farther pixel, is an occluding contour above
    ``floor``, and its strength far/near: :func:`_kept_strengths`' rule at one candidate pair. ``masked`` is the
    depth with 0 at invalid pixels (which count as 1.0 in a neighbouring ratio); ``before`` and ``after`` are the
    flat indices of the pixels that extend the pair on either side (the neighbouring pairs are (before, first)
    and (second, after)); outside the map the neighbouring ratio counts as 0."""
    far, near = masked[first], masked[second]
    if floor >= 1.0 and not far > near:     # then far / near <= 1 <= floor: skip the division
        return False, 0.0
    ratio = far / near
    if not ratio > floor:
        return False, 0.0
    before_ratio = (masked[before] if masked[before] > 0 else 1.0) / far if has_before else 0.0
    after_ratio = near / (masked[after] if masked[after] > 0 else 1.0) if has_after else 0.0
    return ratio >= before_ratio and ratio >= after_ratio, ratio


@_jit
def _safe_depth(depth, valid):
    """Depth as flat float64 with 1.0 at invalid pixels (so every neighbour ratio is defined)."""
    flat_depth, flat_valid = depth.ravel(), valid.ravel()
    safe = np.ones(flat_depth.size)
    for i in range(flat_depth.size):
        if flat_valid[i]:
            safe[i] = flat_depth[i]
    return safe


@_jit
def _kept_strengths(ratio, pair_valid, along_rows):
    """``ratio`` where the pair is valid and its ratio is >= both neighbouring pairs' along the axis
    (0 outside the map), else 0. Branch-free selects: this map covers every pair of the image."""
    rows, cols = ratio.shape
    out = np.zeros((rows, cols))
    for y in range(rows):
        for x in range(cols):
            if along_rows:
                before = ratio[y, x - 1] if x > 0 else 0.0
                after = ratio[y, x + 1] if x + 1 < cols else 0.0
            else:
                before = ratio[y - 1, x] if y > 0 else 0.0
                after = ratio[y + 1, x] if y + 1 < rows else 0.0
            r = ratio[y, x]
            keep = pair_valid[y, x] and r >= before and r >= after
            out[y, x] = r if keep else 0.0
    return out


@_jit
def edge_strength_maps(depth, valid):
    """DepthPro's occluding-contour strengths of every 4-neighbour pair, as four maps (left, right farther:
    H×(W-1); top, bottom farther: (H-1)×W): the depth ratio far/near where both pixels are valid and the ratio
    is >= the ratios of the neighbouring pairs along the axis (non-maximum suppression), else 0."""
    height, width = depth.shape
    safe = _safe_depth(depth, valid).reshape(depth.shape)
    maps = []
    for along_rows in (True, False):
        rows, cols = (height, max(width - 1, 0)) if along_rows else (max(height - 1, 0), width)
        first_over_second, second_over_first = np.empty((rows, cols)), np.empty((rows, cols))
        pair_valid = np.empty((rows, cols), dtype=np.bool_)
        for y in range(rows):
            for x in range(cols):
                y2, x2 = (y, x + 1) if along_rows else (y + 1, x)
                first_over_second[y, x] = safe[y, x] / safe[y2, x2]
                second_over_first[y, x] = safe[y2, x2] / safe[y, x]
                pair_valid[y, x] = valid[y, x] and valid[y2, x2]
        maps.append(_kept_strengths(first_over_second, pair_valid, along_rows))
        maps.append(_kept_strengths(second_over_first, pair_valid, along_rows))
    return maps


@_inline
def _count_edge(pred_hist, hit_hist, direction, strength, gt_strength, thresholds):
    pred_hist[direction, _bin(strength, thresholds)] += 1
    both = strength if strength < gt_strength else gt_strength     # np.minimum: a NaN GT strength stays NaN
    hit_hist[direction, _bin(both, thresholds)] += 1


@_jit
def _candidate_pairs(first, second, floor, out):
    """out[k]: pair (first[k], second[k]) of masked depths may be an edge above ``floor``: both valid and, with
    ``floor`` >= 1, the farther over the nearer above it. Branch-free over contiguous rows (so vectorised)."""
    farther_only = floor >= 1.0
    for k in range(first.size):
        a, b = first[k], second[k]
        out[k] = a > 0 and b > 0 and (not farther_only or max(a, b) / min(a, b) > floor)


@_jit
def boundary_histograms(depth, gt_valid, gt_left, gt_right, gt_top, gt_bottom, thresholds):
    """Predicted edges and hits per direction, binned by how many thresholds they exceed.

    The prediction's edges are :func:`edge_strength_maps`'s above the lowest threshold, where ``depth`` > 0
    and ``gt_valid``; ``gt_*`` are the GT strength maps. A hit is a predicted edge whose GT pair is an edge
    too, binned by the smaller strength. Returns (pred, hit) histograms [4, len(thresholds) + 1]: bin k holds
    the edges (or hits) above k thresholds.

    With the lowest threshold >= 1 a pair can only be an edge in the direction of its farther pixel, at
    max/min > threshold: a vectorised pass per row finds the few candidates, and only those pay the
    non-maximum suppression.
    """
    height, width = depth.shape
    flat_depth, flat_gt_valid = depth.ravel(), gt_valid.ravel()
    masked = np.empty(flat_depth.size)      # the depth where valid (> 0 and GT valid), else 0
    for i in range(flat_depth.size):
        value = np.float64(flat_depth[i])
        masked[i] = value if value > 0 and flat_gt_valid[i] else 0.0
    pred_hist = np.zeros((4, thresholds.size + 1), dtype=np.int64)
    hit_hist = np.zeros((4, thresholds.size + 1), dtype=np.int64)
    floor = thresholds.min()
    candidates = np.empty(width, dtype=np.bool_)
    gt_maps = ((gt_left.ravel(), gt_right.ravel()), (gt_top.ravel(), gt_bottom.ravel()))
    for axis in range(2):
        step, length = (1, width) if axis == 0 else (width, height)
        pairs_y, pairs_x = (height, width - 1) if axis == 0 else (height - 1, width)
        gt_first, gt_second = gt_maps[axis]
        for y in range(pairs_y):
            row = y * width
            _candidate_pairs(masked[row:row + pairs_x], masked[row + step:row + step + pairs_x], floor, candidates)
            for x in range(pairs_x):
                if not candidates[x]:
                    continue
                i = row + x
                position = x if axis == 0 else y
                has_before, has_after = position > 0, position + 2 < length
                pair = y * pairs_x + x
                edge, strength = _edge(masked, i, i + step, i - step, i + 2 * step, has_before, has_after, floor)
                if edge:
                    _count_edge(pred_hist, hit_hist, 2 * axis, strength, gt_first[pair], thresholds)
                edge, strength = _edge(masked, i + step, i, i + 2 * step, i - step, has_after, has_before, floor)
                if edge:
                    _count_edge(pred_hist, hit_hist, 2 * axis + 1, strength, gt_second[pair], thresholds)
    return pred_hist, hit_hist


@_jit_reassociating
def _disparity_error_block(values, focal_baseline, convert, gt, gt_valid):
    """:func:`disparity_error_sums` over a block (slices), branch-free and indexed from 0 (so vectorised)."""
    total = 0.0
    n_both = n_bp1 = n_bad2 = non_finite = 0
    for i in range(values.size):
        value = values[i]
        converted = np.float32(focal_baseline / value) if value > 0 else np.float32(0.0)
        disparity = converted if convert else np.float32(value)
        bad = convert and not np.isfinite(disparity)
        non_finite += bad
        both = gt_valid[i] and disparity > 0 and not bad
        error = abs(np.float64(disparity) - np.float64(gt[i]))
        total += error if both else 0.0
        n_both += both
        n_bp1 += both and error > 1.0
        n_bad2 += both and error > 2.0
    return total, n_both, n_bp1, n_bad2, non_finite


@_jit
def disparity_error_sums(values, focal_baseline, convert, gt, gt_valid):
    """Stereo errors against ``gt`` disparity on ``gt_valid`` (flat): of ``values`` as a disparity map, or,
    with ``convert``, of depth ``values`` turned into disparity fx·B/Z (float32 where Z > 0, else 0, as
    ``core.stereo`` computes it; ``focal_baseline`` has the dtype of ``values``).

    Returns (sum |error|, pixels compared, errors > 1 px, errors > 2 px, non-finite disparities made by the
    conversion); the sum adds blocks of ``BLOCK`` pixels.
    """
    total = 0.0
    n_both = n_bp1 = n_bad2 = non_finite = 0
    for start in range(0, values.size, BLOCK):
        stop = min(start + BLOCK, values.size)
        block, both, bp1, bad2, bad = _disparity_error_block(values[start:stop], focal_baseline, convert,
                                                             gt[start:stop], gt_valid[start:stop])
        total += block
        n_both += both
        n_bp1 += bp1
        n_bad2 += bad2
        non_finite += bad
    return total, n_both, n_bp1, n_bad2, non_finite
