"""``depthcur build-shards`` and ``depthcur shards verify``."""

from __future__ import annotations

import typer

from depthcur.core.config import ConfigOption
from depthcur.core.exits import input_error, items_failed
from depthcur.core.options import options_from

from .build import BuildShardsConfig
from .verify import VerifyConfig


def register(app: typer.Typer) -> None:
    @app.command(name="build-shards", help="Pack raw sample folders into Parquet and WebDataset shards.")
    @options_from(BuildShardsConfig, aliases={"inputs": "--in"})
    def build_shards(cfg: BuildShardsConfig, config: ConfigOption = None) -> None:
        from depthcur.curate.shards import build_shards as build
        from depthcur.core.progress import console
        from depthcur.schemas import SchemaError

        try:
            result = build(cfg.inputs, cfg.out, formats=list(cfg.formats), samples_per_shard=cfg.samples_per_shard,
                           ray_address=cfg.ray_address)
        except (SchemaError, FileNotFoundError, NotADirectoryError, ValueError) as exc:
            raise input_error("build-shards", exc) from None
        manifest = result.manifest
        console.print(f"build-shards: {manifest.counts.total} samples in {len(manifest.shards)} shards "
                      f"({result.shards_written} written, {result.shards_skipped} already complete, "
                      f"{result.shards_repaired} repaired) -> {cfg.out}")
        if result.quarantined:
            console.print(f"[red]build-shards: {len(result.quarantined)} bad samples quarantined, see "
                          f"{cfg.out / 'quarantine.jsonl'}[/red]")
            for q in result.quarantined[:10]:
                console.print(f"  {q['reason']}")
            if not cfg.allow_bad:
                raise items_failed("build-shards", [])

    shards = typer.Typer(help="Inspect and verify shard folders.", no_args_is_help=True)

    @shards.command(help="Check checksums, decodability and counts against manifest.json.")
    @options_from(VerifyConfig)
    def verify(cfg: VerifyConfig, config: ConfigOption = None) -> None:
        from depthcur.curate.shards import verify_shards
        from depthcur.core.progress import console
        from depthcur.schemas import SchemaError

        try:
            report = verify_shards(cfg.directory, decode=cfg.decode)
        except SchemaError as exc:
            raise input_error("shards verify", exc) from None
        for problem in report.problems:
            console.print(f"[red]{problem}[/red]")
        console.print(f"shards verify: {report.shards_checked} shard files, {report.samples_decoded} samples "
                      f"decoded, {'OK' if report.ok else f'{len(report.problems)} problems'}")
        if not report.ok:
            raise items_failed("shards verify", [])

    app.add_typer(shards, name="shards")
