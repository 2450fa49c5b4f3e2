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
            "lr_consistent_ratio": sample.stats.get("lr_consistent_ratio"),
            "precision_curve": sample.provenance.get("stereo_pseudo_label", {}).get("precision_vs_gt")}


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


def precision_curves(summaries: list[dict]) -> dict[str, dict]:
    """Per matcher, the precision-curve counts of its pairs summed (over pixels, not per-pair means)."""
    totals: dict[str, dict] = {}
    for curve in (s["precision_curve"] for s in summaries if s.get("precision_curve")):
        total = totals.setdefault(curve["matcher"], {"n_gt": 0, "points": {}})
        total["n_gt"] += curve["n_gt"]
        for name, rows in curve["points"].items():
            summed = total["points"].setdefault(name, [[threshold, 0, 0] for threshold, _, _ in rows])
            for point, (_, kept, bad) in zip(summed, rows):
                point[1] += kept
                point[2] += bad
    return totals


def density_and_bad(n_kept: int, n_bad: int, n_gt: int) -> tuple[float, float]:
    """(density, bad-2 in %) of an operating point."""
    return n_kept / n_gt if n_gt else 0.0, 100.0 * n_bad / n_kept if n_kept else 0.0


#: single operating points of the precision figure: matplotlib style (the hollow square lets the star show)
OPERATING_POINTS = {"bare": {"marker": "X", "color": "black", "markersize": 9},
                    "lr_check": {"marker": "s", "color": "grey", "markersize": 12, "markerfacecolor": "none"},
                    "configured": {"marker": "*", "color": "red", "markersize": 11}}


def precision_density_figure(curves: dict[str, dict], path: Path) -> None:
    """bad-2 against density: one line per matcher and filter (its thresholds as points) plus the
    bare matcher, the LR check alone and the configured label."""
    fig, ax = pyplot().subplots(figsize=(7, 4.5))
    for matcher, curve in curves.items():
        for name, rows in curve["points"].items():
            points = [density_and_bad(kept, bad, curve["n_gt"]) for _, kept, bad in rows]
            if name in OPERATING_POINTS:
                ax.plot(*points[0], linestyle="none", zorder=5, label=f"{matcher}: {name.replace('_', ' ')}",
                        **OPERATING_POINTS[name])
                continue
            line, = ax.plot(*zip(*points), marker="o", markersize=3, label=f"{matcher} + LR + {name}")
            for (threshold, _, _), (x, y) in zip(rows, points):
                ax.annotate(f"{threshold:g}", (x, y), fontsize=6, color=line.get_color(), xytext=(2, 2),
                            textcoords="offset points")
    ax.set_xlabel("density (share of GT pixels labelled)")
    ax.set_ylabel("bad-2 (% of labelled pixels > 2 px off)")
    ax.set_title("Pseudo-label precision vs density against GT disparity")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="upper left")
    write_bytes_atomic(path, figure_png(fig))


def precision_rows(curves: dict[str, dict]) -> list[list[str]]:
    rows = []
    for matcher, curve in curves.items():
        for name, points in curve["points"].items():
            label = name.replace("_", " ") if name in OPERATING_POINTS else f"LR + {name}"
            for threshold, kept, bad in points:
                density, bad_percent = density_and_bad(kept, bad, curve["n_gt"])
                rows.append([escape(matcher), escape(label), "" if threshold is None else f"{threshold:g}",
                             f"{density:.3f}", f"{bad_percent:.2f}"])
    return rows


def precision_section(curves: dict[str, dict]) -> str:
    if not curves:
        return ""
    return ("<h2>Pseudo-label precision against GT disparity</h2>"
            "<p>bad-2: labelled pixels more than 2 px from the GT disparity; density: GT pixels labelled. "
            "Each filter is swept alone on top of the LR check and range filter.</p>"
            "<img src='precision_density.png' alt='bad-2 against density per matcher and filter'>"
            + text_table(["matcher", "label", "threshold", "density", "bad-2 (%)"], precision_rows(curves)))


def render_html(summaries: list[dict], table: dict[str, list[float]], gallery: list[tuple[str, str]],
                curves: dict[str, dict] | None = None) -> str:
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
{precision_section(curves or {})}
<h2>Gallery (RGB | sensor depth | target depth)</h2>{tiles}""")


def write_report(summaries: list[dict], gallery_samples: list[Sample], out: Path) -> Path:
    mask_ratio_figure(summaries, out / "mask_ratio_hist.png")
    table = percentile_table(summaries)
    depth_range_figure(table, out / "depth_range.png")
    curves = precision_curves(summaries)
    if curves:
        precision_density_figure(curves, out / "precision_density.png")
    gallery = []
    for index, sample in enumerate(gallery_samples):
        name = f"gallery/{index:03d}_{flatten_key(sample.key)}.png"
        write_bytes_atomic(out / name, encode_rgb(gallery_tile(sample)))
        gallery.append((sample.key, name))
    path = out / "index.html"
    write_bytes_atomic(path, render_html(summaries, table, gallery, curves).encode())
    return path
