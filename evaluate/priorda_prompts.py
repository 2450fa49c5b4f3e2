"""Sparse prompts sampled the way Prior Depth Anything evaluates zero-shot depth completion.

MetricAnything (§4.1) uses Prior Depth Anything's setup for its LiDAR and ×8/×16 columns. The source
is ``SparseSampler.get_sparse_depth`` in SpatialVision/Prior-Depth-Anything
(``prior_depth_anything/sparse_sampler.py``): the patterns ``downscale_K`` and ``LiDAR_N`` (the
latter adapted there from OMNI-DC). Both differ from depthcur's own ``downsample`` and ``lidar``
protocols, which sample the GT at cell centres and use the sample's own camera.
"""

from __future__ import annotations

import numpy as np
from scipy.spatial import cKDTree

#: PriorDA fills each GT hole with the mean of this many nearest valid pixels before downscaling
FILL_NEIGHBOURS = 5
#: PriorDA's LiDAR pattern: line pitches span this range (rad), evenly spaced
LIDAR_PITCH_RANGE_RAD = (-0.5, 0.5)
#: ... each line has this many yaw samples, evenly spaced over ±LIDAR_YAW_LIMIT_RAD
LIDAR_POINTS_PER_LINE = 200
LIDAR_YAW_LIMIT_RAD = np.pi / 2.1


def fill_holes_nearest_mean(depth: np.ndarray, neighbours: int = FILL_NEIGHBOURS) -> np.ndarray:
    """Each pixel with depth <= 0 gets the mean depth of its ``neighbours`` nearest valid pixels."""
    filled = depth.astype(np.float32)
    valid = filled > 0
    if valid.all() or not valid.any():
        return filled
    known, holes = np.argwhere(valid), np.argwhere(~valid)
    count = min(neighbours, len(known))
    _, nearest = cKDTree(known).query(holes, k=count)
    known_depth = filled[valid]            # the same row-major order as ``known``
    filled[~valid] = known_depth[nearest.reshape(len(holes), count)].mean(axis=1)
    return filled


def _align_corners_taps(size_in: int, size_out: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Source index pairs and weights of a bilinear resize whose first and last samples hit the corners."""
    step = (size_in - 1) / (size_out - 1) if size_out > 1 else 0.0
    position = np.arange(size_out) * step
    low = np.floor(position).astype(np.int64)
    return low, np.minimum(low + 1, size_in - 1), position - low


def resize_bilinear_align_corners(image: np.ndarray, height: int, width: int) -> np.ndarray:
    """Bilinear resize with corner pixels aligned (torch ``interpolate(..., align_corners=True)``)."""
    top, bottom, row_weight = _align_corners_taps(image.shape[0], height)
    left, right, col_weight = _align_corners_taps(image.shape[1], width)
    rows = image[top] * (1 - row_weight)[:, None] + image[bottom] * row_weight[:, None]
    return (rows[:, left] * (1 - col_weight) + rows[:, right] * col_weight).astype(np.float32)


def lowres_size(size: int, factor: int) -> int:
    """``size // factor`` as PriorDA downscales, but at least one cell (an image smaller than the factor)."""
    return max(1, size // factor)


def lowres_cell_origins(size: int, factor: int) -> np.ndarray:
    """The full-resolution index where each low-resolution value is placed."""
    low = lowres_size(size, factor)
    return np.arange(low) * size // low       # floor(i · size / low): PriorDA's top-left pixel of each cell


def downscale_prompt(depth: np.ndarray, factor: int) -> np.ndarray:
    """PriorDA's ``downscale_K`` prompt on the full grid: holes filled, bilinear (align-corners) downscale
    to H/K × W/K, each value placed at its cell's top-left pixel and kept where the GT there is valid."""
    height, width = depth.shape
    low = resize_bilinear_align_corners(fill_holes_nearest_mean(depth), lowres_size(height, factor),
                                        lowres_size(width, factor))
    sparse = np.zeros((height, width), dtype=np.float32)
    sparse[np.ix_(lowres_cell_origins(height, factor), lowres_cell_origins(width, factor))] = low
    sparse[~(depth > 0)] = 0
    return sparse


def lidar_pixels(height: int, width: int, n_lines: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(rows, cols, line) of PriorDA's ``LiDAR_N`` samples that fall inside the image.

    The camera is synthetic, f = H with the principal point at the image centre, whatever the sample's
    intrinsics. A unit ray at (pitch, yaw) is (cos p · sin y, sin p, cos p · cos y); it is projected and
    rounded half to even (numpy's round), as the source does.
    """
    focal, cx, cy = float(height), 0.5 * width, 0.5 * height
    pitch = np.linspace(*LIDAR_PITCH_RANGE_RAD, n_lines)
    yaw = np.linspace(-LIDAR_YAW_LIMIT_RAD, LIDAR_YAW_LIMIT_RAD, LIDAR_POINTS_PER_LINE)
    pitch_grid, yaw_grid = np.meshgrid(pitch, yaw, indexing="ij")
    x, y = np.cos(pitch_grid) * np.sin(yaw_grid), np.sin(pitch_grid)
    z = np.sqrt(1.0 - x ** 2 - y ** 2) + 1e-8      # the source's guard against z = 0
    cols = np.round(focal * x / z + cx).astype(np.int64).ravel()
    rows = np.round(focal * y / z + cy).astype(np.int64).ravel()
    line = np.repeat(np.arange(n_lines), LIDAR_POINTS_PER_LINE)
    inside = (cols >= 0) & (cols < width) & (rows >= 0) & (rows < height)
    return rows[inside], cols[inside], line[inside]


def lidar_prompt(depth: np.ndarray, n_lines: int) -> tuple[np.ndarray, int]:
    """PriorDA's ``LiDAR_N`` prompt: the GT at the pattern's pixels where it is valid, and the number of
    lines that cross the image (with f = H the outermost ±0.5 rad lines fall outside it)."""
    rows, cols, line = lidar_pixels(*depth.shape, n_lines)
    sparse = np.zeros(depth.shape, dtype=np.float32)
    sparse[rows, cols] = depth[rows, cols]
    sparse[~(sparse > 0)] = 0
    return sparse, int(np.unique(line).size)
