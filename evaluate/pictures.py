"""Pictures for the report: depth and error colormaps, mask-ratio histograms (PNG files)."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from depthcur.schemas import write_bytes_atomic
from depthcur.schemas.codecs import encode_png

ERROR_CAP = 0.2            # AbsRel at which the error colormap saturates
INVALID_GREY = (40, 40, 40)


_CV_MAPS = {"turbo": cv2.COLORMAP_TURBO, "inferno": cv2.COLORMAP_INFERNO}


def colorize(values: np.ndarray, valid: np.ndarray, vmin: float, vmax: float, cmap: str,
             reverse: bool = False) -> np.ndarray:
    """RGB uint8 image of ``values`` mapped linearly over [vmin, vmax]; invalid pixels grey."""
    scaled = np.clip((values - vmin) / max(vmax - vmin, 1e-9), 0, 1)
    if reverse:
        scaled = 1.0 - scaled
    image = cv2.cvtColor(cv2.applyColorMap((scaled * 255).astype(np.uint8), _CV_MAPS[cmap]), cv2.COLOR_BGR2RGB)
    image[~valid] = INVALID_GREY
    return image


def depth_range(gt: np.ndarray) -> tuple[float, float]:
    valid = gt[gt > 0]
    return (float(np.percentile(valid, 1)), float(np.percentile(valid, 99))) if valid.size else (0.0, 1.0)


def depth_image(depth: np.ndarray, vmin: float, vmax: float) -> np.ndarray:
    """Turbo reversed over [vmin, vmax]: near = red, far = blue/purple; 0 = grey."""
    return colorize(depth, depth > 0, vmin, vmax, "turbo", reverse=True)


def sparse_depth_image(depth: np.ndarray, vmin: float, vmax: float) -> np.ndarray:
    """Sparse inputs (points, LiDAR lines) dilated 1 px so single points are visible."""
    if (depth > 0).mean() < 0.05:
        depth = cv2.dilate(depth, np.ones((3, 3), np.uint8))
    return depth_image(depth, vmin, vmax)


def error_image(pred: np.ndarray, gt: np.ndarray) -> np.ndarray:
    """|pred - gt| / gt, black (0) to yellow (>= ERROR_CAP); grey where GT or prediction is missing."""
    valid = (gt > 0) & (pred > 0)
    rel = np.where(valid, np.abs(pred - gt) / np.where(gt > 0, gt, 1), 0)
    return colorize(rel, valid, 0.0, ERROR_CAP, "inferno")


def write_png(path: Path, rgb: np.ndarray, max_width: int = 320) -> None:
    """Write an RGB image, downscaled to ``max_width`` so the report stays light."""
    h, w = rgb.shape[:2]
    if w > max_width:
        rgb = cv2.resize(rgb, (max_width, max(1, round(h * max_width / w))), interpolation=cv2.INTER_AREA)
    write_bytes_atomic(path, encode_png(cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)))


def histogram_svg(values: list[float], title: str, bins: int = 20, width: int = 220, height: int = 110) -> str:
    """An inline SVG histogram over [0, 1] (no plotting library needed in the report)."""
    counts, _ = np.histogram(np.asarray(values, dtype=float), bins=bins, range=(0.0, 1.0))
    top = max(int(counts.max()), 1)
    plot_h, bar_w = height - 30, width / bins
    bars = "".join(f"<rect x='{i * bar_w:.1f}' y='{16 + plot_h * (1 - c / top):.1f}' width='{bar_w - 1:.1f}' "
                   f"height='{plot_h * c / top:.1f}' fill='#3b75af'><title>{c}</title></rect>"
                   for i, c in enumerate(counts))
    axis = (f"<line x1='0' y1='{16 + plot_h}' x2='{width}' y2='{16 + plot_h}' stroke='#888'/>"
            f"<text x='0' y='{height - 2}' font-size='9'>0</text>"
            f"<text x='{width / 2 - 20}' y='{height - 2}' font-size='9'>mask ratio</text>"
            f"<text x='{width - 8}' y='{height - 2}' font-size='9'>1</text>")
    return (f"<svg width='{width}' height='{height}' role='img'><text x='0' y='11' font-size='11' "
            f"font-weight='bold'>{title} (n={len(values)}, peak bin {top})</text>{bars}{axis}</svg>")
