"""``depthcur eval``: models × protocols over shards, metrics JSON and an HTML report."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

from depthcur.core.config import ConfigOption

PROTOCOL_HELP = ("Comma-separated protocols: raw, block-mask:{easy,medium,hard,extreme}, points:N, "
                 "downsample:{8,16}, lidar:L, sfm[:N], fde, depthlm. Default: all of them.")


def register(app: typer.Typer) -> None:
    @app.command(name="eval", help="Evaluate checkpoints and baselines under the papers' protocols.")
    def eval_(
        model: List[str] = typer.Option(..., "--model", help="Checkpoint path or raw-depth|fill-nearest|inpaint; "
                                        "repeat for a comparison table (raw-depth is always added)."),
        data: List[str] = typer.Option(..., "--data", help="Shard folder/file or raw sample folder; repeatable."),
        protocol: Optional[str] = typer.Option(None, "--protocol", help=PROTOCOL_HELP),
        out: Path = typer.Option(..., "--out", help="Output folder (metrics.json, report.html, img/, records/)."),
        max_samples: Optional[int] = typer.Option(None, "--max-samples", min=1, help="Evaluate the first N samples."),
        seed: int = typer.Option(0, "--seed", help="Seed of every protocol's randomness."),
        align: str = typer.Option("none", "--align", help="none|scale|scale_l1|affine|disparity_affine."),
        gallery: int = typer.Option(2, "--gallery", min=0, help="Samples pictured per protocol."),
        worst: int = typer.Option(1, "--worst", min=0, help="Worst cases pictured per protocol and model."),
        workers: int = typer.Option(0, "--workers", min=0, help="Evaluate in this many Ray tasks, one data part "
                                    "each (0 = in this process)."),
        ray_address: Optional[str] = typer.Option(None, "--ray-address", help="Join a Ray cluster (default: local)."),
        config: ConfigOption = None,
    ) -> None:
        from depthcur.evaluate.pipeline import evaluate
        from depthcur.evaluate.protocols import DEFAULT_PROTOCOLS
        from depthcur.evaluate.runner import EvalConfig

        protocols = [p for p in protocol.split(",") if p.strip()] if protocol else list(DEFAULT_PROTOCOLS)
        try:
            cfg = EvalConfig(models=list(model), data=list(data), out=out, protocols=protocols,
                             max_samples=max_samples, seed=seed, align=align, gallery_samples=gallery,
                             worst_cases=worst, workers=workers, ray_address=ray_address)
            result, report = evaluate(cfg)
        except (ValueError, FileNotFoundError, RuntimeError) as exc:
            typer.secho(f"depthcur eval: {exc}", err=True, fg="red")
            raise typer.Exit(code=1) from exc
        raw = [r for r in result["summary"] if r["protocol"] == protocols[0]]
        for row in raw:
            typer.echo(f"{row['protocol']:<20} {row['dataset']:<12} {row['model']:<16} "
                       f"AbsRel {row.get('absrel') or float('nan'):.4f}  δ1 {row.get('delta1') or float('nan'):.3f}  "
                       f"coverage {row.get('coverage', 0):.1%}")
        typer.echo(f"metrics: {cfg.out / 'metrics.json'}\nreport:  {report}")
