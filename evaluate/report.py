"""The HTML report: tables per protocol and dataset, pictures, worst cases, histograms.

Pictures are re-computed from the samples (protocol inputs are seeded, so they are the
same inputs the metrics saw); the numbers come from ``metrics.json``.
"""

from __future__ import annotations

import math
from collections import defaultdict
from pathlib import Path
from typing import Any, Iterable

from depthcur.core.pages import cell, escape, figure, page, row, table, text_table
from depthcur.core.pictures import depth_colormap, histogram_image, robust_range
from depthcur.schemas import Sample, write_bytes_atomic

from .baselines import Predictor
from .benchmarks.table import table_paths
from .pictures import error_image, sparse_depth_image, write_png
from .protocols import KINECT, parse_spec
from .runner import FDE_REGIONS, run_case

COLUMNS = [("samples", "n", "{:d}"), ("absrel", "AbsRel ↓", "{:.4f}"), ("rmse", "RMSE [m] ↓", "{:.4f}"),
           ("mae", "MAE [m] ↓", "{:.4f}"), ("log10", "log10 ↓", "{:.4f}"), ("delta1", "δ1 ↑", "{:.3f}"),
           ("delta2", "δ2 ↑", "{:.3f}"), ("delta3", "δ3 ↑", "{:.3f}"), ("irmse", "iRMSE [1/km] ↓", "{:.2f}"),
           ("boundary_f1", "boundary F1 ↑", "{:.3f}"), ("coverage", "coverage ↑", "{:.1%}"),
           ("epe", "EPE [px] ↓", "{:.3f}"), ("bad2", "bad-2.0 ↓", "{:.1%}"), ("density", "density ↑", "{:.1%}"),
           ("missed_absrel", "missed AbsRel ↓", "{:.4f}"), ("missed_delta1", "missed δ1 ↑", "{:.3f}"),
           ("missed_coverage", "missed coverage ↑", "{:.1%}")]
COVERAGE_KEYS = ("coverage", "density", "missed_coverage")
MASK_RATIO_PICTURE = "mask_ratio_hist.png"   # under img/

STYLE = """
td,th{text-align:right} td:first-child,th:first-child{text-align:left}
tr.baseline td{background:#fff8e6} .best{font-weight:bold;color:#0a5}
.cov{background:#eef6ff} figure img{max-width:220px} .wide figure img{max-width:none}
"""


def _fmt(value: Any, pattern: str) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return pattern.format(value)


def _best_models(rows: list[dict], key: str) -> set[str]:
    higher = key in ("delta1", "delta2", "delta3", "boundary_f1", "missed_delta1") or key in COVERAGE_KEYS
    values = [(r[key], r["model"]) for r in rows if r.get(key) is not None]
    if not values:
        return set()
    best = max(v for v, _ in values) if higher else min(v for v, _ in values)
    return {m for v, m in values if v == best}


def metrics_table(rows: list[dict]) -> str:
    columns = [c for c in COLUMNS if any(r.get(c[0]) is not None for r in rows)]
    best = {key: _best_models(rows, key) for key, _, _ in columns if key != "samples"}
    head = [cell("model", header=True)] + [cell(escape(t), header=True, classes=_coverage_class(k))
                                           for k, t, _ in columns]
    body = []
    for model_row in rows:
        cells = [cell(escape(model_row["model"]))]
        for key, _, pattern in columns:
            best_class = ["best"] if model_row["model"] in best.get(key, ()) else []
            cells.append(cell(_fmt(model_row.get(key), pattern), classes=best_class + _coverage_class(key)))
        body.append(row(cells, classes=["baseline"] if model_row["model"] == "raw-depth" else []))
    return table([row(head), *body])


def _coverage_class(key: str) -> list[str]:
    return ["cov"] if key in COVERAGE_KEYS else []


def fde_table(rows: list[dict]) -> str:
    head = [cell("model", header=True), cell("targets", header=True)] + [
        cell(f"{r} {m}", header=True, classes=["cov"] if m == "coverage" else [])
        for r in FDE_REGIONS for m in ("AbsRel", "δ1", "coverage")]
    body = []
    for model_row in rows:
        fde = model_row.get("fde")
        if not fde:
            continue
        cells = [cell(escape(model_row["model"])), cell(str(fde["targets"]))]
        for r in FDE_REGIONS:
            cells += [cell(_fmt(fde[r]["absrel"], "{:.4f}")), cell(_fmt(fde[r]["delta1"], "{:.3f}")),
                      cell(_fmt(fde[r]["coverage"], "{:.1%}"), classes=["cov"])]
        body.append(row(cells))
    return table([row(head), *body])


def level_table(levels: dict[str, dict]) -> str:
    header = ("level", "masked fraction ≥", "block side (× short side)", "Gaussian σ [m]", "Kinect noise")
    body = [(escape(name), f"{p['mask_fraction']:.0%}", f"{p['block_min']}–{p['block_max']}",
             str(p["gaussian_sigma_m"]), "yes" if p["kinect_noise"] else "no") for name, p in levels.items()]
    kinect = (f"Kinect noise (Nguyen 2012): axial σ_z = {KINECT.axial_a} + {KINECT.axial_b}·(z − {KINECT.axial_z0})² m, "
              f"lateral σ = {KINECT.lateral_sigma_px} px, disparity quantised to {KINECT.disparity_step_px} px "
              f"with baseline {KINECT.baseline_m} m.")
    return f"{text_table(header, body)}<p class='note'>{kinect}</p>"


def _figure(out: Path, name: str, image, caption: str) -> str:
    write_png(out / "img" / name, image)
    return figure(f"img/{name}", caption)


def gallery_prefix(protocol_index: int, sample_index: int) -> str:
    return f"p{protocol_index}_g{sample_index}"


def figure_name(prefix: str, part: str, model_index: int | None = None) -> str:
    """File name (under ``img/``) of one case picture: ``part`` is rgb, gt, in, or pred / err of a model."""
    return f"{prefix}_{part}.png" if model_index is None else f"{prefix}_m{model_index}_{part}.png"


def case_figures(out: Path, prefix: str, computed: tuple, only_model: str | None = None) -> str:
    """RGB, GT, input, and prediction + error per model of one (sample, protocol) case."""
    sample, (case, preds, scores) = computed
    near, far = robust_range(case.gt)
    figures = [_figure(out, figure_name(prefix, "rgb"), case.rgb, f"RGB {sample.key}")]
    if only_model is None:   # worst-case rows show just the one model's prediction and error
        figures += [_figure(out, figure_name(prefix, "gt"), depth_colormap(case.gt, near, far), "GT depth"),
                    _figure(out, figure_name(prefix, "in"), sparse_depth_image(case.depth_in, near, far),
                            f"input ({case.info['mask_ratio']:.0%} masked)")]
    for index, name in enumerate(preds):
        if only_model is not None and name != only_model:
            continue
        absrel = _fmt(scores[name]["absrel"], "{:.3f}")
        figures.append(_figure(out, figure_name(prefix, "pred", index), depth_colormap(preds[name], near, far),
                               f"{name} AbsRel {absrel}"))
        figures.append(_figure(out, figure_name(prefix, "err", index), error_image(preds[name], case.gt),
                               f"{name} |error|/gt (0–20%)"))
    return "<div>" + "".join(figures) + "</div>"


def picture_plan(records: list[dict], gallery: int, worst: int) -> tuple[dict[str, list[str]], dict]:
    """Keys pictured per protocol (first ``gallery`` samples) and the worst AbsRel per protocol × model."""
    keys_in_order: dict[str, list[str]] = defaultdict(list)
    by_pair: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for rec in records:
        if rec["key"] not in keys_in_order[rec["protocol"]]:
            keys_in_order[rec["protocol"]].append(rec["key"])
        if rec.get("absrel") is not None:
            by_pair[(rec["protocol"], rec["model"])].append(rec)
    gallery_keys = {p: keys[:gallery] for p, keys in keys_in_order.items()}
    worst_cases = {pair: sorted(recs, key=lambda r: -r["absrel"])[:worst] for pair, recs in by_pair.items()}
    return gallery_keys, worst_cases


def build_report(result: dict[str, Any], samples: Iterable[Sample], models: dict[str, Predictor],
                 out: Path) -> Path:
    """Write ``out/report.html`` (+ ``out/img``). ``samples`` must include the pictured keys."""
    config = result["config"]
    records, summary = result["records"], result["summary"]
    gallery_keys, worst_cases = picture_plan(records, config["gallery_samples"], config["worst_cases"])
    by_key = {s.key: s for s in samples}
    cache: dict[tuple[str, str], tuple] = {}

    def computed(key: str, protocol: str) -> tuple:
        # a case is pictured in the gallery and as a worst case of several models: run it once
        if (key, protocol) not in cache:
            cache[(key, protocol)] = (by_key[key], run_case(by_key[key], protocol, models, config["seed"],
                                                            config["align"]))
        return cache[(key, protocol)]

    sections = [f"<h1>depthcur evaluation</h1><p>data: {escape(', '.join(map(str, config['data'])))} · "
                f"models: {escape(', '.join(config['models']))} · alignment: {config['align']} · "
                f"seed {config['seed']} · {len({r['key'] for r in records})} samples</p>",
                "<p class='note'>raw-depth (the camera's own depth, holes kept) is always the first row (shaded). "
                "Precision columns use the pixels a model predicts; coverage (blue) is the share of valid GT "
                "pixels it predicts at all. <em>missed</em> columns use only the valid GT pixels the input depth "
                "did not have (sensor holes, masked blocks): where completion is judged. Bold = best in column.</p>"]
    if config.get("benchmark"):
        page_name = table_paths(out, config["benchmark"])["html"].name
        sections.append(f"<p>Benchmark <b>{escape(config['benchmark'])}</b>: the paper-layout table is on "
                        f"<a href='{escape(page_name)}'>{escape(page_name)}</a>.</p>")
    ratios: dict[str, list[float]] = defaultdict(list)
    for rec in records:
        if rec["model"] == "raw-depth":
            ratios[rec["protocol"]].append(rec["input"]["mask_ratio"])
    write_png(out / "img" / MASK_RATIO_PICTURE, histogram_image(
        ratios, xlabel="mask ratio of the input depth"), max_width=520)
    sections.append(f"<h2>Input mask ratio per protocol</h2><div class='wide'>"
                    f"{figure(f'img/{MASK_RATIO_PICTURE}', 'samples per mask-ratio bin, one colour per protocol')}</div>")
    for p_index, protocol in enumerate(config["protocols"]):
        rows = [r for r in summary if r["protocol"] == protocol]
        sections.append(f"<h2 id='p{p_index}'>{escape(protocol)}</h2>")
        skipped = [r for r in result.get("skipped", []) if r["protocol"] == protocol]
        if skipped:
            sections.append(f"<p class='note'>{len(skipped)} sample(s) skipped, e.g. "
                            f"{escape(skipped[0]['skipped'])}</p>")
        if parse_spec(protocol)[0] == "block-mask":
            sections.append(level_table({parse_spec(protocol)[1]: result["block_mask_levels"][parse_spec(protocol)[1]]}))
        cache.clear()   # one protocol's cases at a time keeps memory flat
        for dataset in sorted({r["dataset"] for r in rows}):
            dataset_rows = [r for r in rows if r["dataset"] == dataset]
            sections.append(f"<h3>dataset: {escape(dataset)}</h3>{metrics_table(dataset_rows)}")
            if any(r.get("fde") for r in dataset_rows):
                sections.append(f"<p class='note'>FDE regions, averaged per target (r = 10 px band)</p>"
                                f"{fde_table(dataset_rows)}")
        for k_index, key in enumerate(gallery_keys.get(protocol, [])):
            if key in by_key:
                sections.append(case_figures(out, gallery_prefix(p_index, k_index), computed(key, protocol)))
        worst_html = []
        for m_index, model in enumerate(models):
            for w_index, rec in enumerate(worst_cases.get((protocol, model), [])):
                if rec["key"] in by_key:
                    worst_html.append(case_figures(out, f"p{p_index}_w{m_index}_{w_index}",
                                                   computed(rec["key"], protocol), only_model=model))
        if worst_html:
            sections.append("<details open><summary>worst cases (highest AbsRel) per model</summary>"
                            + "".join(worst_html) + "</details>")
    sections.append("<h2>Block-mask levels</h2>" + level_table(result["block_mask_levels"]))
    path = out / "report.html"
    write_bytes_atomic(path, page("depthcur evaluation", "".join(sections), STYLE).encode())
    return path


def pictured_keys(result: dict[str, Any]) -> set[str]:
    config = result["config"]
    gallery, worst = picture_plan(result["records"], config["gallery_samples"], config["worst_cases"])
    return {k for keys in gallery.values() for k in keys} | {r["key"] for recs in worst.values() for r in recs}
