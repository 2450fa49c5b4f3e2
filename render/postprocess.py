"""Sensor post-processing like the RealSense SDK (librealsense), applied to the simulated depth.

Off by default. ``--postprocess-filters`` lists the filters to run; they run in librealsense's
recommended order whatever the list's order: decimation -> depth-to-disparity -> spatial ->
speckle -> disparity-to-depth -> hole filling. Names, ranges and defaults are librealsense's
(doc/post-processing-filters.md and src/proc/*-filter):

- **decimation** (``filter_magnitude`` 2-8, default 2): each m x m block becomes one pixel: the
  median of its valid pixels for m = 2, 3 (the lower median: two values give their minimum), their
  mean for m >= 4; the output is width // m by height // m, padded with zeros to a multiple of 4.
- **spatial** (domain-transform edge-preserving smoothing, on disparity in 1/32 px like the D4):
  ``filter_magnitude`` passes (1-5, default 2) of a left->right, right->left, top->bottom,
  bottom->top recursive filter: a valid pixel whose raw value differs from the previous raw value
  by less than ``filter_smooth_delta`` (1-50, default 20) becomes alpha*value + (1-alpha)*state
  (``filter_smooth_alpha`` 0.25-1, default 0.5); a bigger step (an edge) or a hole restarts the state.
  ``holes_fill`` (0-5: none, 2, 4, 8, 16, unlimited px) fills holes up to that wide in each row
  pass from the last valid value.
- **speckle**: regions of similar disparity (neighbours within ``speckle_max_diff_px``) smaller than
  ``speckle_max_size`` pixels are dropped (OpenCV's filterSpeckles, the filter SGBM uses inside).
- **hole filling** (``holes_fill`` 0 fill_from_left, 1 farest_from_around (default), 2
  nearest_from_around): each hole takes, in raster order, the left neighbour, or the farthest /
  nearest valid value of its already-processed up-left, up, left and its down-left, down neighbours
  (librealsense reads these five; nearest keeps a hole whose upper neighbour is a hole).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np

from depthcur.core.validate import Checked

#: the filters, in the order they always run
POST_FILTERS = ("decimation", "spatial", "speckle", "hole_filling")
HOLE_FILLING_MODES = ("fill_from_left", "farest_from_around", "nearest_from_around")
#: the D4's disparity has 5 fractional bits: librealsense's spatial filter works on 1/32 px
DISPARITY_FRACTIONS = 32
#: spatial holes_fill 0..5 -> radius in pixels (0 none, 255 "unlimited" as in librealsense)
SPATIAL_HOLES_FILL_RADIUS = (0, 2, 4, 8, 16, 255)


@dataclass
class PostProcessConfig(Checked):
    """RealSense-style depth post-processing (librealsense's filters, names and defaults); off by default."""

    #: filters to run (always in librealsense's order): decimation, spatial, speckle, hole_filling
    filters: list[str] = field(default_factory=list, metadata={"choices": POST_FILTERS})
    #: where the result goes: a depth_raw_filtered map next to depth_raw, or replace depth_raw
    output: str = field(default="depth_raw_filtered", metadata={"choices": ("depth_raw_filtered", "depth_raw")})
    #: decimation filter_magnitude: the linear scale factor
    decimation_magnitude: int = field(default=2, metadata={"min": 2, "max": 8})
    #: spatial filter_magnitude: the number of filter iterations
    spatial_magnitude: int = field(default=2, metadata={"min": 1, "max": 5})
    #: spatial filter_smooth_alpha: weight of the current pixel (1 = no filter)
    spatial_alpha: float = field(default=0.5, metadata={"min": 0.25, "max": 1})
    #: spatial filter_smooth_delta: the step (1/32 px of disparity) that counts as an edge
    spatial_delta: int = field(default=20, metadata={"min": 1, "max": 50})
    #: spatial holes_fill: 0 none, 1..5 fill holes of 2, 4, 8, 16 px or any width along rows
    spatial_holes_fill: int = field(default=0, metadata={"min": 0, "max": 5})
    #: speckle filter: largest region (pixels) that is dropped
    speckle_max_size: int = field(default=100, metadata={"min": 1})
    #: speckle filter: disparity step (px) that separates regions
    speckle_max_diff_px: float = field(default=1.0, metadata={"above": 0})
    #: hole-filling filter holes_fill: fill_from_left, farest_from_around, nearest_from_around
    hole_filling_mode: str = field(default="farest_from_around", metadata={"choices": HOLE_FILLING_MODES})

    def to_dict(self) -> dict:
        return {**asdict(self), "order": [name for name in POST_FILTERS if name in self.filters]}


# ---------------------------------------------------------------- decimation

def decimate(depth: np.ndarray, magnitude: int) -> np.ndarray:
    """librealsense's decimation: valid-pixel median (m = 2, 3) or mean (m >= 4) of m x m blocks."""
    height, width = depth.shape[0] // magnitude, depth.shape[1] // magnitude
    blocks = depth[:height * magnitude, :width * magnitude].reshape(height, magnitude, width, magnitude)
    blocks = blocks.transpose(0, 2, 1, 3).reshape(height, width, magnitude * magnitude).astype(np.float64)
    valid = blocks > 0
    count = valid.sum(axis=2)
    if magnitude <= 3:
        # sort with holes last, then take the lower median of the valid ones
        ordered = np.sort(np.where(valid, blocks, np.inf), axis=2)
        lower = np.maximum(count - 1, 0) // 2
        value = np.take_along_axis(ordered, lower[..., None], axis=2)[..., 0]
    else:
        value = blocks.sum(axis=2) / np.maximum(count, 1)
    value[count == 0] = 0.0
    padded = np.zeros((-(-height // 4) * 4, -(-width // 4) * 4), np.float32)
    padded[:height, :width] = value
    return padded


# ---------------------------------------------------------------- spatial

def _smooth_lines(lines: np.ndarray, alpha: float, delta: float) -> None:
    """One recursive pass along each row of ``lines`` (in place, rows at once, left to right):
    a valid value whose step from the previous raw value is below ``delta`` becomes
    alpha*value + (1-alpha)*state; an edge or a hole restarts the state at the next valid value."""
    state = lines[:, 0].copy()
    previous = state.copy()
    for i in range(1, lines.shape[1]):
        value = lines[:, i].copy()
        valid = value > 0
        blend = valid & (previous > 0) & (np.abs(previous - value) < delta)
        state = np.where(blend, alpha * value + (1.0 - alpha) * state, np.where(valid, value, state))
        lines[blend, i] = state[blend]
        previous = value


def _fill_gaps(lines: np.ndarray, radius: int) -> None:
    """The spatial filter's in-row hole fill (in place, left to right): the first ``radius``
    pixels of a hole take the last valid value before it."""
    last = lines[:, 0].copy()
    gap = np.zeros(lines.shape[0], np.int64)
    for i in range(1, lines.shape[1]):
        value = lines[:, i]
        hole = value == 0
        gap = np.where(hole, gap + 1, 0)
        fill = hole & (last > 0) & (gap <= radius)
        lines[fill, i] = last[fill]
        last = np.where(hole, last, value)


def spatial_filter(disparity: np.ndarray, *, magnitude: int, alpha: float, delta: float,
                   holes_fill: int = 0) -> np.ndarray:
    """The edge-preserving recursive filter on disparity (``delta`` in the disparity's unit):
    per iteration left->right, right->left (with the hole fill), then top->bottom, bottom->top."""
    out = disparity.astype(np.float64, copy=True)
    radius = SPATIAL_HOLES_FILL_RADIUS[holes_fill]
    for _ in range(magnitude):
        for lines in (out, out[:, ::-1]):
            _smooth_lines(lines, alpha, delta)
            if radius:
                _fill_gaps(lines, radius)
        for lines in (out.T, out.T[:, ::-1]):
            _smooth_lines(lines, alpha, delta)
    return out.astype(np.float32)


# ---------------------------------------------------------------- speckle

def speckle_filter(disparity: np.ndarray, *, max_size: int, max_diff_px: float) -> np.ndarray:
    """Drop connected regions of similar disparity smaller than ``max_size`` pixels."""
    import cv2

    fixed = np.rint(disparity * DISPARITY_FRACTIONS).astype(np.int16)
    cv2.filterSpeckles(fixed, 0, max_size, max_diff_px * DISPARITY_FRACTIONS)
    out = disparity.copy()
    out[fixed == 0] = 0.0
    return out


# ---------------------------------------------------------------- hole filling

def fill_holes(depth: np.ndarray, mode: str) -> np.ndarray:
    """librealsense's hole-filling filter, in its raster order (vectorised along anti-diagonals)."""
    out = depth.astype(np.float32, copy=True)
    height, width = out.shape
    if mode == "fill_from_left":
        for i in range(1, width):
            hole = out[:, i] == 0
            out[hole, i] = out[hole, i - 1]
        return out
    if height < 3 or width < 2:
        return out
    rows, cols = np.mgrid[1:height - 1, 1:width]
    wave = rows + cols
    order = np.argsort(wave, axis=None, kind="stable")
    rows, cols, wave = rows.ravel()[order], cols.ravel()[order], wave.ravel()[order]
    starts = np.flatnonzero(np.diff(wave, prepend=-1))
    for start, stop in zip(starts, np.append(starts[1:], wave.size)):
        r, c = rows[start:stop], cols[start:stop]
        hole = out[r, c] == 0
        if not hole.any():
            continue
        r, c = r[hole], c[hole]
        # up-left, up, left are already processed (raster order); down-left and down are not
        up = out[r - 1, c]
        others = np.stack([out[r - 1, c - 1], out[r, c - 1], out[r + 1, c - 1], out[r + 1, c]])
        if mode == "farest_from_around":
            out[r, c] = np.maximum(up, others.max(axis=0))
        else:
            nearest = np.where(others > 0, others, np.inf).min(axis=0)
            out[r, c] = np.where(up > 0, np.minimum(up, nearest), 0.0)
    return out


# ---------------------------------------------------------------- the pipeline

def depth_to_disparity32(depth: np.ndarray, fx: float, baseline_m: float) -> np.ndarray:
    """Disparity in 1/32 px (librealsense's disparity frame: 32·fx·B/Z), 0 where depth is 0."""
    disparity = np.zeros_like(depth, dtype=np.float32)
    valid = depth > 0
    disparity[valid] = DISPARITY_FRACTIONS * fx * baseline_m / depth[valid]
    return disparity


def postprocess_depth(depth: np.ndarray, *, fx: float, baseline_m: float, config: PostProcessConfig
                      ) -> tuple[np.ndarray, float]:
    """(filtered depth, the focal length of its grid) on the sensor's own grid: decimation
    shrinks the grid by its magnitude and scales fx with it, like librealsense's intrinsics."""
    out = depth.astype(np.float32)
    if "decimation" in config.filters:
        out = decimate(out, config.decimation_magnitude)
        fx = fx / config.decimation_magnitude
    if "spatial" in config.filters or "speckle" in config.filters:
        disparity = depth_to_disparity32(out, fx, baseline_m)
        if "spatial" in config.filters:
            disparity = spatial_filter(disparity, magnitude=config.spatial_magnitude, alpha=config.spatial_alpha,
                                       delta=config.spatial_delta, holes_fill=config.spatial_holes_fill)
        if "speckle" in config.filters:
            disparity = speckle_filter(disparity / DISPARITY_FRACTIONS, max_size=config.speckle_max_size,
                                       max_diff_px=config.speckle_max_diff_px) * DISPARITY_FRACTIONS
        out = depth_to_disparity32(disparity, fx, baseline_m)      # 32·fx·B / (32·fx·B/Z) = Z
    if "hole_filling" in config.filters:
        out = fill_holes(out, config.hole_filling_mode)
    return out, fx
