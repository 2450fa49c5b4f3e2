"""Pictures of a run: a Fig. 6-like gallery and the mask-ratio statistics with a histogram."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from depthcur.core.pictures import colormap, depth_colormap, histogram_counts, histogram_image, robust_range
from depthcur.schemas import Sample, write_bytes_atomic, write_json_atomic
from depthcur.schemas.codecs import encode_rgb

COLUMNS = ("RGB", "perfect depth", "IR left", "IR right", "GT disparity", "sensor depth (SGM)")
LABEL_HEIGHT = 22


def _tile(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    import cv2

    if image.ndim == 2:
        image = np.repeat(image[:, :, None], 3, axis=2)
    return cv2.resize(image, size, interpolation=cv2.INTER_NEAREST)


def gallery_row(sample: Sample, tile_width: int) -> np.ndarray:
    """One sample: RGB | perfect depth | IR pair | GT disparity | sensor depth, one depth range per row."""
    height = int(round(tile_width * sample.height / sample.width))
    near, far = robust_range(sample.depth_gt)
    tiles = [sample.rgb, depth_colormap(sample.depth_gt, near, far), sample.ir_left, sample.ir_right,
             colormap(sample.disparity_gt), depth_colormap(sample.depth_raw, near, far)]
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
    write_bytes_atomic(path, encode_rgb(image))
    return path


def mask_ratio_summary(ratios: dict[str, float]) -> dict:
    values = np.array(list(ratios.values()), dtype=np.float64)
    summary = {"count": int(values.size), "per_sample": dict(sorted(ratios.items()))}
    if values.size:
        counts, edges = histogram_counts(values, bins=10)
        summary.update(mean=float(values.mean()), median=float(np.median(values)), min=float(values.min()),
                       max=float(values.max()), histogram={"counts": counts.tolist(), "edges": edges.tolist()})
    return summary


def write_mask_ratio_stats(ratios: dict[str, float], json_path: str | Path, png_path: str | Path) -> dict:
    """Per-run mask-ratio statistics (missing fraction of the sensor depth; LingBot-Depth Fig. 5)."""
    summary = mask_ratio_summary(ratios)
    write_json_atomic(json_path, summary)
    mean = summary.get("mean")
    title = f"{summary['count']} samples" + (f", mean mask ratio {mean:.2f}" if mean is not None else "")
    picture = histogram_image({"samples": list(ratios.values())}, xlabel="mask ratio (missing sensor depth)",
                              title=title)
    write_bytes_atomic(png_path, encode_rgb(picture))
    return summary
