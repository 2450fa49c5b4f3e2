"""The per-benchmark HTML page of the eval report: the paper-layout table with the published rows."""

from __future__ import annotations

from itertools import groupby
from pathlib import Path
from typing import Any

from depthcur.core.pages import cell, escape, page, row, table
from depthcur.schemas import write_bytes_atomic

from .table import HIGHER_IS_BETTER, METRIC_TITLES, NO_DATA, row_cells, shown_columns

STYLE = """
td,th{text-align:right} td:first-child,th:first-child{text-align:left;white-space:nowrap}
th[colspan],th[rowspan]{text-align:center} th{white-space:nowrap} .scroll{overflow-x:auto}
tr.baseline td{background:#fff8e6} tr.paper td{color:#555;font-style:italic;background:#f6f6f6}
td.nodata{color:#aaa} .best{font-weight:bold;color:#0a5}
"""


def _best_rows(table_data: dict[str, Any], key: str, metric: str) -> set[str]:
    """Our models with the best value in a column (published rows are not ranked)."""
    values = [(r["values"][key], r["model"]) for r in table_data["rows"] if r["values"][key] is not None]
    if len(values) < 2:
        return set()
    best = (max if metric in HIGHER_IS_BETTER else min)(v for v, _ in values)
    return {m for v, m in values if v == best}


def _spanning(label: str, span: int) -> str:
    return f"<th colspan='{span}'>{escape(label)}</th>"


def _metric_title(metric: str) -> str:
    return METRIC_TITLES.get(metric, metric) + (" ↑" if metric in HIGHER_IS_BETTER else " ↓")


def header_rows(columns: list[dict[str, Any]]) -> list[str]:
    """Three header rows: dataset, group (level / pattern / region), metric; a collapsed dataset spans
    the three rows in one column."""
    datasets, groups, metrics = [], [], []
    for dataset, dataset_columns in groupby(columns, key=lambda c: c["dataset"]):
        dataset_columns = list(dataset_columns)
        if dataset_columns[0].get("collapsed"):
            datasets.append(f"<th rowspan='3'>{escape(dataset)}</th>")
            continue
        datasets.append(_spanning(dataset, len(dataset_columns)))
        groups += [_spanning(g, len(list(n))) for g, n in groupby(c["group"] for c in dataset_columns)]
        metrics += [cell(escape(_metric_title(c["metric"])), header=True) for c in dataset_columns]
    return [row(["<th rowspan='3'>model</th>", *datasets]), row(groups), row(metrics)]


def body_row(table_data: dict[str, Any], model_row: dict[str, Any], columns: list[dict[str, Any]],
             best: dict[str, set[str]]) -> str:
    cells = [cell(escape(model_row["model"]))]
    for column, text in zip(columns, row_cells(table_data, model_row, columns)):
        classes = ["nodata"] if text == NO_DATA else []
        if model_row["model"] in best.get(column.get("key"), ()):
            classes.append("best")
        cells.append(cell(escape(text), classes=classes))
    kind = ["paper"] if model_row.get("published") else (["baseline"] if model_row["model"] == "raw-depth" else [])
    return row(cells, classes=kind)


def split_text(splits: dict[str, list[str]]) -> str:
    """One list when every dataset has the same splits, else the splits per dataset."""
    texts = {", ".join(names) for names in splits.values()}
    if len(texts) == 1:
        return texts.pop()
    return "; ".join(f"{dataset}: {', '.join(names)}" for dataset, names in splits.items())


def benchmark_html(table_data: dict[str, Any]) -> str:
    columns = shown_columns(table_data)
    best = {c["key"]: _best_rows(table_data, c["key"], c["metric"]) for c in columns if not c.get("collapsed")}
    body = [body_row(table_data, model_row, columns, best)
            for model_row in table_data["rows"] + table_data["published"]]
    samples = ", ".join(f"{escape(d)}: {n}" for d, n in table_data["samples"].items()) or "none"
    facts = [f"<p>{escape(table_data['description'])}</p>",
             f"<p class='note'>paper: {escape(table_data['paper'])} · protocols: "
             f"{escape(', '.join(table_data['protocols']))} · splits: {escape(split_text(table_data['splits']))} · "
             f"alignment: {escape(table_data['align'])} · resolution: {escape(table_data['resolution'])}</p>",
             f"<p class='note'>samples per dataset: {samples}"
             + (f" · no data: {escape(', '.join(table_data['no_data']))}" if table_data["no_data"] else "") + "</p>"]
    legend = ("<p class='note'>raw-depth (shaded) is the input depth itself, scored on the pixels it has. "
              "Grey italic rows are the paper's published numbers (– where the paper gives none or it was "
              "not entered); bold = best of our rows.</p>")
    sources = "".join(f"<li>{escape(p['model'])}: {escape(p['source'])}</li>" for p in table_data["published"])
    notes = "".join(f"<li>{escape(n)}</li>" for n in table_data["notes"])
    footer = (f"<ul class='note'>{sources}{notes}</ul>" if sources or notes else "")
    return page(f"depthcur benchmark {table_data['benchmark']}",
                f"<h1>{escape(table_data['title'])}</h1>{''.join(facts)}"
                f"<div class='scroll'>{table([*header_rows(columns), *body])}</div>{legend}{footer}"
                "<p class='note'><a href='report.html'>full evaluation report</a></p>", STYLE)


def write_page(table_data: dict[str, Any], path: Path) -> Path:
    write_bytes_atomic(path, benchmark_html(table_data).encode())
    return path
