"""``depthcur build-shards`` and ``depthcur shards verify``."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

from depthcur.core.config import ConfigOption


def register(app: typer.Typer) -> None:
    @app.command(name="build-shards", help="Pack raw sample folders into Parquet and WebDataset shards.")
    def build_shards(
        inputs: List[Path] = typer.Option(..., "--in", help="Raw sample folder(s)."),
        out: Path = typer.Option(..., "--out", help="Output shard folder."),
        formats: str = typer.Option("parquet,webdataset", "--formats", help="Comma-separated: parquet,webdataset."),
        samples_per_shard: int = typer.Option(256, "--samples-per-shard", min=1),
        ray_address: Optional[str] = typer.Option(None, "--ray-address", help="Join a Ray cluster (default: local)."),
        allow_bad: bool = typer.Option(False, "--allow-bad", help="Exit 0 even when samples were quarantined."),
        config: ConfigOption = None,
    ) -> None:
        from depthcur.curate.shards import build_shards as build
        from depthcur.core.progress import console

        result = build(inputs, out, formats=[f.strip() for f in formats.split(",") if f.strip()],
                       samples_per_shard=samples_per_shard, ray_address=ray_address)
        counts = result.manifest["counts"]
        console.print(f"build-shards: {counts['total']} samples in {len(result.manifest['shards'])} shards "
                      f"({result.shards_written} written, {result.shards_skipped} already complete) -> {out}")
        if result.quarantined:
            console.print(f"[red]build-shards: {len(result.quarantined)} bad samples quarantined, see "
                          f"{out / 'quarantine.jsonl'}[/red]")
            for q in result.quarantined[:10]:
                console.print(f"  {q['reason']}")
            if not allow_bad:
                raise typer.Exit(code=1)

    shards = typer.Typer(help="Inspect and verify shard folders.", no_args_is_help=True)

    @shards.command(help="Check checksums, decodability and counts against manifest.json.")
    def verify(directory: Path = typer.Argument(..., help="Shard folder holding manifest.json."),
               no_decode: bool = typer.Option(False, "--no-decode", help="Checksums and sizes only."),
               config: ConfigOption = None) -> None:
        from depthcur.curate.shards import verify_shards
        from depthcur.core.progress import console
        from depthcur.schemas import SchemaError

        try:
            report = verify_shards(directory, decode=not no_decode)
        except SchemaError as exc:
            console.print(f"[red]shards verify: {exc}[/red]")
            raise typer.Exit(code=1)
        for problem in report.problems:
            console.print(f"[red]{problem}[/red]")
        console.print(f"shards verify: {report.shards_checked} shard files, {report.samples_decoded} samples "
                      f"decoded, {'OK' if report.ok else f'{len(report.problems)} problems'}")
        if not report.ok:
            raise typer.Exit(code=1)

    app.add_typer(shards, name="shards")
