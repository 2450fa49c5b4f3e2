"""``depthcur build-shards`` and ``depthcur shards verify``."""

import typer

from depthcur.config import ConfigOption


def register(app: typer.Typer) -> None:
    @app.command(name="build-shards", help="Pack raw sample folders into Parquet and WebDataset shards.")
    def build_shards(config: ConfigOption = None) -> None:
        raise typer.Exit(2)
