"""Curation report: mask-ratio histogram per source (LingBot-Depth Fig. 5), depth-range
percentiles per dataset (MetricAnything Fig. 3) and a sample gallery, as PNGs plus one HTML page."""

from __future__ import annotations

import html
from pathlib import Path

import numpy as np

from depthcur.schemas import Sample, write_bytes_atomic
from depthcur.schemas.codecs import encode_png

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


def depth_colormap(depth: np.ndarray, lo: float | None = None, hi: float | None = None) -> np.ndarray:
    """RGB uint8 turbo colouring of inverse depth (near = warm); invalid pixels black."""
    import matplotlib

    valid = depth > 0
    out = np.zeros((*depth.shape, 3), np.uint8)
    if not valid.any():
        return out
    inv = np.where(valid, 1.0 / np.where(valid, depth, 1), 0)
    lo_inv = 1.0 / hi if hi else np.percentile(inv[valid], 2)
    hi_inv = 1.0 / lo if lo else np.percentile(inv[valid], 98)
    t = np.clip((inv - lo_inv) / max(hi_inv - lo_inv, 1e-9), 0, 1)
    out[valid] = (matplotlib.colormaps["turbo"](t[valid])[:, :3] * 255).astype(np.uint8)
    return out


def gallery_tile(sample: Sample, height: int = 120) -> np.ndarray:
    """RGB | sensor depth | target depth, side by side at one height."""
    import cv2

    panels = [sample.rgb]
    for depth in (sample.depth_raw, sample.depth_gt):
        if depth is not None:
            panels.append(depth_colormap(depth))
    width = int(round(sample.width * height / sample.height))
    return np.concatenate([cv2.resize(p, (width, height), interpolation=cv2.INTER_NEAREST) for p in panels], axis=1)


def save_figure(fig, path: Path) -> None:
    import io

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    write_bytes_atomic(path, buf.getvalue())


def mask_ratio_figure(summaries: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3.5))
    by_source: dict[str, list[float]] = {}
    for s in summaries:
        if s["mask_ratio"] is not None:
            by_source.setdefault(s["source"], []).append(s["mask_ratio"])
    bins = np.linspace(0, 1, 21)
    for source, ratios in sorted(by_source.items()):
        ax.hist(ratios, bins=bins, histtype="stepfilled", alpha=0.45, label=f"{source} (n={len(ratios)})")
    ax.set_xlabel("mask ratio (missing fraction of sensor depth)")
    ax.set_ylabel("samples")
    ax.set_title("Mask-ratio distribution per source")
    if by_source:
        ax.legend()
    save_figure(fig, path)
    plt.close(fig)


def percentile_table(summaries: list[dict]) -> dict[str, list[float]]:
    """Per dataset, the median over samples of each depth percentile."""
    by_dataset: dict[str, list[list[float]]] = {}
    for s in summaries:
        if s["depth_percentiles"]:
            by_dataset.setdefault(s["dataset"], []).append(s["depth_percentiles"])
    return {name: np.median(np.array(rows), axis=0).tolist() for name, rows in sorted(by_dataset.items())}


def depth_range_figure(table: dict[str, list[float]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(max(4, 1.2 * len(table) + 2), 3.5))
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
    save_figure(fig, path)
    plt.close(fig)


def render_html(summaries: list[dict], table: dict[str, list[float]], gallery: list[tuple[str, str]]) -> str:
    rows = "".join(f"<tr><td>{html.escape(name)}</td>" + "".join(f"<td>{v:.2f}</td>" for v in values) + "</tr>"
                   for name, values in table.items())
    counts: dict[str, int] = {}
    for s in summaries:
        counts[s["source"]] = counts.get(s["source"], 0) + 1
    tiles = "".join(f'<figure><img src="{src}"><figcaption>{html.escape(key)}</figcaption></figure>'
                    for key, src in gallery)
    return f"""<!doctype html><html><head><meta charset="utf-8"><title>depthcur curation report</title>
<style>body{{font-family:sans-serif;margin:2em}}table{{border-collapse:collapse}}td,th{{border:1px solid #ccc;
padding:4px 8px}}figure{{display:inline-block;margin:6px}}figcaption{{font-size:small}}</style></head><body>
<h1>Curation report</h1><p>{len(summaries)} samples; by source: {html.escape(str(counts))}</p>
<h2>Mask ratio per source</h2><img src="mask_ratio_hist.png">
<h2>Depth range per dataset</h2><img src="depth_range.png">
<table><tr><th>dataset</th>{''.join(f'<th>p{p}</th>' for p in PERCENTILES)}</tr>{rows}</table>
<h2>Gallery (RGB | sensor depth | target depth)</h2>{tiles}</body></html>"""


def write_report(summaries: list[dict], gallery_samples: list[Sample], out: Path) -> Path:
    mask_ratio_figure(summaries, out / "mask_ratio_hist.png")
    table = percentile_table(summaries)
    depth_range_figure(table, out / "depth_range.png")
    gallery = []
    import cv2

    for index, sample in enumerate(gallery_samples):
        name = f"gallery/{index:03d}_{sample.key.replace('/', '__')}.png"
        write_bytes_atomic(out / name, encode_png(cv2.cvtColor(gallery_tile(sample), cv2.COLOR_RGB2BGR)))
        gallery.append((sample.key, name))
    page = out / "index.html"
    write_bytes_atomic(page, render_html(summaries, table, gallery).encode())
    return page
