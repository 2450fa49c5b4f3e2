"""Curation report: mask-ratio histogram per source (LingBot-Depth Fig. 5), depth-range
percentiles per dataset (MetricAnything Fig. 3) and a sample gallery, as PNGs plus one HTML page."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from depthcur.core.pages import escape, figure, page, text_table
from depthcur.core.pictures import depth_colormap, histogram_image, robust_range
from depthcur.schemas import Sample, flatten_key, write_bytes_atomic
from depthcur.schemas.codecs import encode_rgb

from .charts import figure_png, pyplot

PERCENTILES = (1, 5, 50, 95, 99)


def sample_summary(sample: Sample) -> dict:
    """What the report needs of one sample (small; computed in a Ray task)."""
    raw = sample.depth_raw
    target = sample.depth_gt if sample.depth_gt is not None else raw
    values = target[target > 0] if target is not None else np.zeros(0)
    return {"key": sample.key, "source": getattr(sample.source, "value", sample.source), "dataset": sample.dataset,
            "mask_ratio": None if raw is None else float(1.0 - np.mean(raw > 0)),
            "depth_percentiles": [float(p) for p in np.percentile(values, PERCENTILES)] if values.size else None,
            "lr_consistent_ratio": sample.stats.get("lr_consistent_ratio")}


def gallery_tile(sample: Sample, height: int = 120) -> np.ndarray:
    """RGB | sensor depth | target depth, side by side at one height and on the target's depth range."""
    import cv2

    depths = [d for d in (sample.depth_raw, sample.depth_gt) if d is not None]
    near, far = robust_range(depths[-1]) if depths else (None, None)
    panels = [sample.rgb] + [depth_colormap(depth, near, far) for depth in depths]
    width = int(round(sample.width * height / sample.height))
    return np.concatenate([cv2.resize(p, (width, height), interpolation=cv2.INTER_NEAREST) for p in panels], axis=1)


def mask_ratio_figure(summaries: list[dict], path: Path) -> None:
    by_source: dict[str, list[float]] = {}
    for s in summaries:
        if s["mask_ratio"] is not None:
            by_source.setdefault(s["source"], []).append(s["mask_ratio"])
    picture = histogram_image(dict(sorted(by_source.items())), title="Mask-ratio distribution per source",
                              xlabel="mask ratio (missing fraction of sensor depth)")
    write_bytes_atomic(path, encode_rgb(picture))


def percentile_table(summaries: list[dict]) -> dict[str, list[float]]:
    """Per dataset, the median over samples of each depth percentile."""
    by_dataset: dict[str, list[list[float]]] = {}
    for s in summaries:
        if s["depth_percentiles"]:
            by_dataset.setdefault(s["dataset"], []).append(s["depth_percentiles"])
    return {name: np.median(np.array(rows), axis=0).tolist() for name, rows in sorted(by_dataset.items())}


def depth_range_figure(table: dict[str, list[float]], path: Path) -> None:
    fig, ax = pyplot().subplots(figsize=(max(4, 1.2 * len(table) + 2), 3.5))
    for i, (name, (p1, p5, p50, p95, p99)) in enumerate(table.items()):
        ax.vlines(i, p1, p99, color="tab:blue", linewidth=2)
        ax.vlines(i, p5, p95, color="tab:blue", linewidth=9, alpha=0.6)
        ax.plot(i, p50, "o", color="white", markeredgecolor="black")
    ax.set_xticks(range(len(table)), list(table), rotation=20)
    values = [v for row in table.values() for v in row if v > 0]
    if values and max(values) / min(values) > 20:  # indoor and outdoor together: log axis
        from matplotlib.ticker import ScalarFormatter

        ax.set_yscale("log")
        ax.yaxis.set_major_formatter(ScalarFormatter())
    ax.set_ylabel("depth (m)")
    ax.set_title("Depth range per dataset: p1–p99 (thin), p5–p95 (thick), median")
    write_bytes_atomic(path, figure_png(fig))


def render_html(summaries: list[dict], table: dict[str, list[float]], gallery: list[tuple[str, str]]) -> str:
    rows = [[escape(name)] + [f"{v:.2f}" for v in values] for name, values in table.items()]
    counts: dict[str, int] = {}
    for s in summaries:
        counts[s["source"]] = counts.get(s["source"], 0) + 1
    tiles = "".join(figure(src, key) for key, src in gallery)
    return page("depthcur curation report", f"""<h1>Curation report</h1>
<p>{len(summaries)} samples; by source: {escape(str(counts))}</p>
<h2>Mask ratio per source</h2><img src='mask_ratio_hist.png' alt='mask ratio histogram per source'>
<h2>Depth range per dataset</h2><img src='depth_range.png' alt='depth range per dataset'>
{text_table(["dataset", *(f"p{p}" for p in PERCENTILES)], rows)}
<h2>Gallery (RGB | sensor depth | target depth)</h2>{tiles}""")


def write_report(summaries: list[dict], gallery_samples: list[Sample], out: Path) -> Path:
    mask_ratio_figure(summaries, out / "mask_ratio_hist.png")
    table = percentile_table(summaries)
    depth_range_figure(table, out / "depth_range.png")
    gallery = []
    for index, sample in enumerate(gallery_samples):
        name = f"gallery/{index:03d}_{flatten_key(sample.key)}.png"
        write_bytes_atomic(out / name, encode_rgb(gallery_tile(sample)))
        gallery.append((sample.key, name))
    path = out / "index.html"
    write_bytes_atomic(path, render_html(summaries, table, gallery).encode())
    return path
