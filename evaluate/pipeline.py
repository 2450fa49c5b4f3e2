"""``depthcur eval`` end to end: evaluate, then write the HTML report."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

from depthcur.core.outputs import check_out_folder
from depthcur.core.progress import get_logger
from depthcur.schemas import Sample

from .benchmarks import BENCHMARKS, Benchmark
from .benchmarks.page import write_page
from .benchmarks.table import benchmark_table, write_table
from .data import iter_samples
from .report import build_report, pictured_keys
from .runner import EvalConfig, load_models, run_evaluation

log = get_logger(__name__)


def evaluate(config: EvalConfig, samples: Sequence[Sample] | None = None) -> tuple[dict[str, Any], Path]:
    """Metrics JSON and report path. In-memory ``samples`` replace reading ``config.data``."""
    check_out_folder(config.out)
    result = run_evaluation(config, samples)
    keys = pictured_keys(result)
    pictured = ([s for s in samples if s.key in keys] if samples is not None
                else list(iter_samples(config.data, max_samples=config.max_samples, keys=keys)))
    report = build_report(result, pictured, load_models(config.models), config.out)
    if config.benchmark is not None:
        write_benchmark(BENCHMARKS[config.benchmark], result, config.out)
    log.info("metrics: %s  report: %s", config.out / "metrics.json", report)
    return result, report


def write_benchmark(benchmark: Benchmark, result: dict[str, Any], out: Path) -> dict[str, Path]:
    """The benchmark's table as JSON, Markdown and an HTML page beside report.html."""
    table = benchmark_table(benchmark, result)
    paths = write_table(table, out)
    write_page(table, paths["html"])
    log.info("benchmark %s: %s", benchmark.name, paths["html"])
    return paths
