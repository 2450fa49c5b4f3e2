"""Pictures of a run: a Fig. 6-like gallery and the mask-ratio statistics with a histogram."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from depthcur.schemas import Sample, write_bytes_atomic, write_json_atomic
from depthcur.schemas.codecs import encode_png

COLUMNS = ("RGB", "perfect depth", "IR left", "IR right", "GT disparity", "sensor depth (SGM)")
LABEL_HEIGHT = 22


def colorize(values: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """Turbo colormap of ``values`` in [lo, hi] (RGB uint8); 0 (invalid) is black."""
    import cv2

    scaled = np.clip((values - lo) / max(hi - lo, 1e-6), 0, 1)
    colour = cv2.applyColorMap(np.rint(scaled * 255).astype(np.uint8), cv2.COLORMAP_TURBO)
    colour = cv2.cvtColor(colour, cv2.COLOR_BGR2RGB)
    colour[values <= 0] = 0
    return colour


def _tile(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    import cv2

    if image.ndim == 2:
        image = np.repeat(image[:, :, None], 3, axis=2)
    return cv2.resize(image, size, interpolation=cv2.INTER_NEAREST)


def gallery_row(sample: Sample, tile_width: int) -> np.ndarray:
    """One sample: RGB | perfect depth | IR pair | GT disparity | sensor depth, one depth range per row."""
    height = int(round(tile_width * sample.height / sample.width))
    valid = sample.depth_gt[sample.depth_gt > 0]
    lo, hi = (np.percentile(valid, [1, 99]) if valid.size else (0.0, 1.0))
    disparity = sample.disparity_gt
    dvalid = disparity[disparity > 0]
    dlo, dhi = (np.percentile(dvalid, [1, 99]) if dvalid.size else (0.0, 1.0))
    tiles = [sample.rgb, colorize(sample.depth_gt, lo, hi), sample.ir_left, sample.ir_right,
             colorize(disparity, dlo, dhi), colorize(sample.depth_raw, lo, hi)]
    return np.concatenate([_tile(t, (tile_width, height)) for t in tiles], axis=1)


def _header(width: int, tile_width: int) -> np.ndarray:
    import cv2

    header = np.full((LABEL_HEIGHT, width, 3), 255, np.uint8)
    for i, name in enumerate(COLUMNS):
        cv2.putText(header, name, (i * tile_width + 4, LABEL_HEIGHT - 7), cv2.FONT_HERSHEY_SIMPLEX,
                    0.4 * max(tile_width, 160) / 240, (0, 0, 0), 1, cv2.LINE_AA)
    return header


def write_gallery(samples: list[Sample], path: str | Path, *, tile_width: int = 240) -> Path:
    """A PNG grid, one row per sample (paper Fig. 6 layout)."""
    if not samples:
        raise ValueError("no samples to put in a gallery")
    rows = [gallery_row(s, tile_width) for s in samples]
    separator = np.full((3, rows[0].shape[1], 3), 255, np.uint8)
    body = [rows[0]]
    for row in rows[1:]:
        body += [separator, row]
    image = np.concatenate([_header(rows[0].shape[1], tile_width)] + body, axis=0)
    path = Path(path)
    write_bytes_atomic(path, encode_png(np.ascontiguousarray(image[:, :, ::-1])))   # encode_png takes BGR
    return path


def mask_ratio_summary(ratios: dict[str, float]) -> dict:
    values = np.array(list(ratios.values()), dtype=np.float64)
    summary = {"count": int(values.size), "per_sample": dict(sorted(ratios.items()))}
    if values.size:
        counts, edges = np.histogram(values, bins=10, range=(0.0, 1.0))
        summary.update(mean=float(values.mean()), median=float(np.median(values)), min=float(values.min()),
                       max=float(values.max()), histogram={"counts": counts.tolist(), "edges": edges.tolist()})
    return summary


def histogram_image(values: list[float], *, bins: int = 20, size: tuple[int, int] = (520, 320),
                    title: str = "") -> np.ndarray:
    """A bar chart of ``values`` in [0, 1] as an RGB image (no plotting library needed)."""
    import cv2

    width, height = size
    left, right, top, bottom = 50, 15, 30, 45
    counts, _ = np.histogram(values, bins=bins, range=(0.0, 1.0))
    image = np.full((height, width, 3), 255, np.uint8)
    plot_w, plot_h = width - left - right, height - top - bottom
    peak = max(int(counts.max()), 1)
    bar_w = plot_w / bins
    for i, count in enumerate(counts):
        bar_h = int(round(plot_h * count / peak))
        x0, x1 = int(left + i * bar_w) + 1, int(left + (i + 1) * bar_w) - 1
        cv2.rectangle(image, (x0, top + plot_h - bar_h), (x1, top + plot_h), (165, 110, 59), -1)
    cv2.line(image, (left, top + plot_h), (left + plot_w, top + plot_h), (0, 0, 0), 1)
    cv2.line(image, (left, top), (left, top + plot_h), (0, 0, 0), 1)
    font = cv2.FONT_HERSHEY_SIMPLEX
    for tick in np.linspace(0, 1, 6):
        x = int(left + tick * plot_w)
        cv2.line(image, (x, top + plot_h), (x, top + plot_h + 4), (0, 0, 0), 1)
        cv2.putText(image, f"{tick:.1f}", (x - 10, top + plot_h + 17), font, 0.4, (0, 0, 0), 1, cv2.LINE_AA)
    cv2.putText(image, str(peak), (8, top + 5), font, 0.4, (0, 0, 0), 1, cv2.LINE_AA)
    cv2.putText(image, "0", (30, top + plot_h), font, 0.4, (0, 0, 0), 1, cv2.LINE_AA)
    cv2.putText(image, "mask ratio (missing sensor depth)", (left + plot_w // 2 - 120, height - 8), font, 0.45,
                (0, 0, 0), 1, cv2.LINE_AA)
    cv2.putText(image, title, (left, 20), font, 0.5, (0, 0, 0), 1, cv2.LINE_AA)
    return image   # BGR, as drawn


def write_mask_ratio_stats(ratios: dict[str, float], json_path: str | Path, png_path: str | Path) -> dict:
    """Per-run mask-ratio statistics (missing fraction of the sensor depth; LingBot-Depth Fig. 5)."""
    summary = mask_ratio_summary(ratios)
    write_json_atomic(json_path, summary)
    mean = summary.get("mean")
    title = f"{summary['count']} samples" + (f", mean mask ratio {mean:.2f}" if mean is not None else "")
    write_bytes_atomic(png_path, encode_png(histogram_image(list(ratios.values()), title=title)))
    return summary
