"""``depthcur demo``: the main job on the embedded default (issue #8 completes it)."""

from __future__ import annotations

from pathlib import Path

import typer

from depthcur.config import ConfigOption


def register(app: typer.Typer) -> None:
    @app.command(help="Run the whole pipeline on procedural scenes and write a report.")
    def demo(out: Path = typer.Option(Path("demo_out"), "--out", help="Output folder."),
             quick: bool = typer.Option(False, "--quick", help="Smallest sizes, for a fast look."),
             config: ConfigOption = None) -> None:
        from depthcur.cli import not_landed

        not_landed("demo", 8)
