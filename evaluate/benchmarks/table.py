"""A benchmark's table from the runner's summary: rows = models (then the papers' published rows),
columns = the preset's datasets × groups × metrics; written as JSON and Markdown."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from depthcur.schemas import write_bytes_atomic, write_json_atomic

from .presets import Benchmark

#: how a metric is printed (the runner's summary keys; units in the column titles)
METRIC_TITLES = {"absrel": "AbsRel", "rmse": "RMSE [m]", "mae": "L1 [m]", "delta1": "δ1", "coverage": "coverage"}
HIGHER_IS_BETTER = ("delta1", "coverage")
NO_DATA = "no data"


def format_value(metric: str, value: float | None) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if metric == "coverage":
        return f"{value:.1%}"
    return f"{value:.3f}" if metric == "delta1" else f"{value:.4f}"


def benchmark_table(benchmark: Benchmark, result: dict[str, Any]) -> dict[str, Any]:
    """The table as data: per model row the value of every column (None where the model has no value),
    the datasets with no sample, sample counts per dataset, and the published rows."""
    summary = result["summary"]
    by_cell = {(r["protocol"], r["dataset"], r["model"]): r for r in summary}
    samples: dict[str, int] = {}
    for row in summary:
        if row["protocol"] in benchmark.protocols and row["dataset"] in benchmark.datasets:
            samples[row["dataset"]] = max(samples.get(row["dataset"], 0), row["samples"])
    columns = benchmark.columns()
    rows = []
    for model in result["config"]["models"]:
        values = {}
        for column in columns:
            cell = by_cell.get((column.protocol, column.dataset, model))
            values[column.key] = None if cell is None else cell.get(column.metric)
        rows.append({"model": model, "values": values})
    return {
        "benchmark": benchmark.name, "title": benchmark.title, "paper": benchmark.paper,
        "description": benchmark.description, "align": benchmark.align,
        "splits": {dataset: list(benchmark.splits_of(dataset)) for dataset in benchmark.datasets},
        "resolution": benchmark.resolution, "protocols": benchmark.protocols, "notes": list(benchmark.notes),
        "columns": [{"key": c.key, "dataset": c.dataset, "group": c.group, "protocol": c.protocol,
                     "metric": c.metric} for c in columns],
        "samples": samples,
        "no_data": [d for d in benchmark.datasets if d not in samples],
        "rows": rows,
        "published": [{"model": f"paper: {p.model}", "source": p.source, "published": True,
                       "values": {c.key: p.values.get(c.key) for c in columns}} for p in benchmark.published],
    }


def column_title(column: dict[str, Any]) -> str:
    if column.get("collapsed"):
        return column["dataset"]
    return f"{column['dataset']} {column['group']} {METRIC_TITLES.get(column['metric'], column['metric'])}"


def collapsed_datasets(table: dict[str, Any]) -> set[str]:
    """Datasets with neither a sample nor a published number: shown as one "no data" column."""
    published = {c["dataset"] for p in table["published"] for c in table["columns"]
                 if p["values"][c["key"]] is not None}
    return set(table["no_data"]) - published


def shown_columns(table: dict[str, Any]) -> list[dict[str, Any]]:
    """The printed columns: every column, except one ``collapsed`` column per empty dataset."""
    collapsed = collapsed_datasets(table)
    shown: list[dict[str, Any]] = []
    for column in table["columns"]:
        if column["dataset"] not in collapsed:
            shown.append(column)
        elif not shown or shown[-1]["dataset"] != column["dataset"]:
            shown.append({"dataset": column["dataset"], "collapsed": True})
    return shown


def row_cells(table: dict[str, Any], row: dict[str, Any], columns: list[dict[str, Any]]) -> list[str]:
    """A row's printed cells; a published row shows the paper's numbers whether or not we have data."""
    cells = []
    for column in columns:
        if column.get("collapsed") or (column["dataset"] in table["no_data"] and not row.get("published")):
            cells.append(NO_DATA)
        else:
            cells.append(format_value(column["metric"], row["values"][column["key"]]))
    return cells


def markdown_table(table: dict[str, Any]) -> str:
    columns = shown_columns(table)
    lines = [f"# {table['title']}", "", f"Paper: {table['paper']}", "",
             "| model | " + " | ".join(column_title(c) for c in columns) + " |",
             "|---|" + "---:|" * len(columns)]
    for row in table["rows"] + table["published"]:
        lines.append(f"| {row['model']} | " + " | ".join(row_cells(table, row, columns)) + " |")
    lines += ["", "Samples per dataset: " + (", ".join(f"{d} {n}" for d, n in table["samples"].items()) or "none")]
    if table["no_data"]:
        lines.append(f"No data: {', '.join(table['no_data'])}")
    lines += [f"Source of '{p['model']}': {p['source']}" for p in table["published"]]
    lines += [f"Note: {note}" for note in table["notes"]]
    return "\n".join(lines) + "\n"


def table_paths(out: Path, name: str) -> dict[str, Path]:
    stem = f"benchmark-{name}"
    return {"json": out / f"{stem}.json", "md": out / f"{stem}.md", "html": out / f"{stem}.html"}


def write_table(table: dict[str, Any], out: Path) -> dict[str, Path]:
    paths = table_paths(out, table["benchmark"])
    write_json_atomic(paths["json"], table)
    write_bytes_atomic(paths["md"], markdown_table(table).encode())
    return paths
