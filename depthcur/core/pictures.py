"""The pictures every stage draws: one depth colour convention, one error colour map, one histogram.

Depth convention, for every picture the project draws: turbo colour map of inverse depth, near = red,
far = blue, invalid (depth <= 0 or not finite) = black, spanning the 1st–99th percentile of the valid
pixels unless the caller gives the range.

Every function returns RGB uint8 images; numpy and OpenCV only (matplotlib charts live in curate/charts.py).
"""

from __future__ import annotations

import functools
from typing import Mapping, Sequence

import cv2
import numpy as np

from .order_stats import ranked_values

RANGE_PERCENTILES = (1.0, 99.0)
#: the depth range (m) of a picture that has no valid pixel to take percentiles of
FALLBACK_RANGE_M = (0.5, 5.0)
INVALID_COLOUR = (0, 0, 0)
#: error pictures start at black (no error), so "no error known" is grey instead
ERROR_INVALID_COLOUR = (40, 40, 40)
#: bar colours of histogram series (matplotlib's tab10)
SERIES_COLOURS = ((31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40), (148, 103, 189),
                  (140, 86, 75), (227, 119, 194), (127, 127, 127), (188, 189, 34), (23, 190, 207))


@functools.cache
def _rgb_lut(cv_map: int) -> np.ndarray:
    """OpenCV's colour map as a 256×1×3 RGB table (applying it skips a BGR→RGB pass per picture)."""
    return cv2.cvtColor(cv2.applyColorMap(np.arange(256, dtype=np.uint8)[:, None], cv_map), cv2.COLOR_BGR2RGB)


def _apply(values: np.ndarray, lo: float, hi: float, valid: np.ndarray, cv_map: int,
           invalid_colour: tuple[int, int, int]) -> np.ndarray:
    # One float copy, then OpenCV for the per-pixel steps (the live capture preview draws a picture per
    # frame): its saturating cast to uint8 is the clip to [0, 255] and the rounding to nearest. Invalid
    # pixels may hold anything (NaN, inf) until they are painted over at the end.
    with np.errstate(invalid="ignore", over="ignore"):
        scaled = np.subtract(values, lo, dtype=np.result_type(values.dtype, np.float32))
        scaled /= max(hi - lo, 1e-12)
    image = cv2.applyColorMap(cv2.multiply(scaled, 255.0, dtype=cv2.CV_8U), _rgb_lut(cv_map))
    if not valid.all():
        # times 1 or 0 per channel: about twice as fast as OpenCV's masked bitwise_and
        image = cv2.multiply(image, cv2.merge((valid.view(np.uint8),) * 3))
        if any(invalid_colour):
            cv2.add(image, (*invalid_colour, 0), dst=image, mask=(~valid).view(np.uint8))
    return image


def valid_mask(values: np.ndarray) -> np.ndarray:
    """Pixels a picture shows: finite and positive (0 is the project's "no measurement")."""
    return np.isfinite(values) & (values > 0)


def robust_range(values: np.ndarray, fallback: tuple[float, float] = FALLBACK_RANGE_M) -> tuple[float, float]:
    """The 1st and 99th percentile of the valid values; ``fallback`` when there are none."""
    return _robust_range(values, valid_mask(values), fallback)


def _robust_range(values: np.ndarray, valid: np.ndarray, fallback: tuple[float, float]) -> tuple[float, float]:
    count = int(np.count_nonzero(valid))
    if not count:
        return fallback
    lo, hi = _linear_percentiles(values, valid, count, RANGE_PERCENTILES)
    return lo, hi


def _linear_percentiles(values: np.ndarray, valid: np.ndarray, count: int, percents: Sequence[float]) -> list[float]:
    """``np.percentile``'s default (linear) method over the ``count`` (> 0) valid values."""
    last = count - 1
    positions = [p / 100.0 * last for p in percents]
    below = [int(np.floor(position)) for position in positions]
    above = [min(i + 1, last) for i in below]
    ranked = ranked_values(values, valid, count, below + above)   # the valid values are positive and finite
    return [ranked[i] + (ranked[j] - ranked[i]) * (position - i)
            for position, i, j in zip(positions, below, above)]


def colormap(values: np.ndarray, lo: float | None = None, hi: float | None = None) -> np.ndarray:
    """Turbo of ``values`` linear over [lo, hi] (default: robust range): lo = blue, hi = red; invalid black.

    For quantities that grow as depth shrinks (disparity, inverse depth), so near is red as in depth pictures.
    """
    valid = valid_mask(values)
    auto_lo, auto_hi = _robust_range(values, valid, FALLBACK_RANGE_M) if lo is None or hi is None else (lo, hi)
    lo, hi = auto_lo if lo is None else lo, auto_hi if hi is None else hi
    return _apply(values, lo, hi, valid, cv2.COLORMAP_TURBO, INVALID_COLOUR)


def depth_colormap(depth: np.ndarray, near: float | None = None, far: float | None = None) -> np.ndarray:
    """Depth in metres by the project's convention (module docstring); ``near``/``far`` fix the range."""
    valid = valid_mask(depth)
    if near is None or far is None:
        auto_near, auto_far = _robust_range(depth, valid, FALLBACK_RANGE_M)
        near, far = auto_near if near is None else near, auto_far if far is None else far
    near = max(near, 1e-6)
    with np.errstate(divide="ignore", invalid="ignore"):     # at invalid pixels, which _apply paints over
        inverse = 1.0 / np.asarray(depth, np.result_type(depth.dtype, np.float32))
    return _apply(inverse, 1.0 / max(far, near), 1.0 / near, valid, cv2.COLORMAP_TURBO, INVALID_COLOUR)


def error_colormap(error: np.ndarray, cap: float, valid: np.ndarray) -> np.ndarray:
    """Inferno of a non-negative error: black = 0, yellow = ``cap`` or more; grey where ``valid`` is False."""
    return _apply(error, 0.0, cap, valid, cv2.COLORMAP_INFERNO, ERROR_INVALID_COLOUR)


def histogram_counts(values: Sequence[float], bins: int, value_range: tuple[float, float] = (0.0, 1.0)
                     ) -> tuple[np.ndarray, np.ndarray]:
    """Counts and edges of the finite values; values outside ``value_range`` go to the end bins."""
    finite = np.asarray(values, dtype=np.float64)
    finite = np.clip(finite[np.isfinite(finite)], *value_range)
    return np.histogram(finite, bins=bins, range=value_range)


def histogram_image(series: Mapping[str, Sequence[float]], *, bins: int = 20,
                    value_range: tuple[float, float] = (0.0, 1.0), xlabel: str = "", title: str = "",
                    size: tuple[int, int] = (520, 320)) -> np.ndarray:
    """A bar chart (RGB) of one or more named series over ``value_range``; bars of a bin side by side."""
    width, height = size
    font, black = cv2.FONT_HERSHEY_SIMPLEX, (0, 0, 0)
    left, right, bottom = 50, 15, 45
    top = 30 + 16 * len(series)          # title, then one legend line per series
    counts = [histogram_counts(values, bins, value_range)[0] for values in series.values()]
    peak = max([int(c.max()) for c in counts] + [1])
    image = np.full((height, width, 3), 255, np.uint8)
    plot_w, plot_h = width - left - right, height - top - bottom
    bin_w = plot_w / bins
    bar_w = bin_w / max(len(series), 1)
    for s, (name, series_counts) in enumerate(zip(series, counts)):
        colour = SERIES_COLOURS[s % len(SERIES_COLOURS)]
        for i, count in enumerate(series_counts):
            bar_h = int(round(plot_h * count / peak))
            x0 = int(left + i * bin_w + s * bar_w) + 1
            x1 = max(x0, int(left + i * bin_w + (s + 1) * bar_w) - 1)
            if bar_h:
                cv2.rectangle(image, (x0, top + plot_h - bar_h), (x1, top + plot_h), colour, -1)
        y = 30 + 16 * s + 6
        cv2.rectangle(image, (left, y - 8), (left + 10, y + 2), colour, -1)
        cv2.putText(image, f"{name} (n={int(series_counts.sum())})", (left + 16, y + 2), font, 0.4, black, 1,
                    cv2.LINE_AA)
    cv2.line(image, (left, top + plot_h), (left + plot_w, top + plot_h), black, 1)
    cv2.line(image, (left, top), (left, top + plot_h), black, 1)
    for tick in np.linspace(0, 1, 6):
        x = int(left + tick * plot_w)
        label = value_range[0] + tick * (value_range[1] - value_range[0])
        cv2.line(image, (x, top + plot_h), (x, top + plot_h + 4), black, 1)
        cv2.putText(image, f"{label:.1f}", (x - 10, top + plot_h + 17), font, 0.4, black, 1, cv2.LINE_AA)
    cv2.putText(image, str(peak), (8, top + 5), font, 0.4, black, 1, cv2.LINE_AA)
    cv2.putText(image, "0", (30, top + plot_h), font, 0.4, black, 1, cv2.LINE_AA)
    (text_w, _), _ = cv2.getTextSize(xlabel, font, 0.45, 1)
    cv2.putText(image, xlabel, (left + (plot_w - text_w) // 2, height - 8), font, 0.45, black, 1, cv2.LINE_AA)
    cv2.putText(image, title, (left, 20), font, 0.5, black, 1, cv2.LINE_AA)
    return image
