"""``depthcur eval``: models × protocols over shards, metrics JSON and an HTML report."""

from __future__ import annotations

import typer

from depthcur.core.config import ConfigOption
from depthcur.core.exits import input_error, items_failed
from depthcur.core.options import options_from

from .config import EvalConfig

#: the flags eval had before its options were generated from EvalConfig
ALIASES = {"models": "--model", "protocols": "--protocol", "gallery_samples": "--gallery", "worst_cases": "--worst"}


def summary_line(row: dict) -> str:
    """One summary row for the terminal; a metric the row lacks (None) prints as nan, a 0.0 as 0."""
    def metric(key: str) -> float:
        value = row.get(key)
        return float("nan") if value is None else value

    return (f"{row['protocol']:<20} {row['dataset']:<12} {row['model']:<16} "
            f"AbsRel {metric('absrel'):.4f}  δ1 {metric('delta1'):.3f}  coverage {row.get('coverage', 0):.1%}")


def register(app: typer.Typer) -> None:
    @app.command(name="eval", help="Evaluate checkpoints and baselines under the papers' protocols.")
    @options_from(EvalConfig, aliases=ALIASES)
    def eval_(cfg: EvalConfig, config: ConfigOption = None) -> None:
        from depthcur.evaluate.pipeline import evaluate

        try:
            result, report = evaluate(cfg)
        except (ValueError, FileNotFoundError) as exc:   # unusable data, models or protocols
            raise input_error("eval", exc) from None
        except RuntimeError as exc:                        # a worker failed during the run
            raise items_failed("eval", [exc]) from None
        first = [r for r in result["summary"] if r["protocol"] == cfg.protocols[0]]
        for row in first:
            typer.echo(summary_line(row))
        typer.echo(f"metrics: {cfg.out / 'metrics.json'}\nreport:  {report}")
        if cfg.benchmark is not None:
            from depthcur.evaluate.benchmarks.table import table_paths

            typer.echo(f"table:   {table_paths(cfg.out, cfg.benchmark)['md']}")
