"""``depthcur eval`` (issue #7)."""

import typer

from depthcur.config import ConfigOption


def register(app: typer.Typer) -> None:
    @app.command(name="eval", help="Evaluate models and baselines under protocols (not landed yet).")
    def eval_(config: ConfigOption = None) -> None:
        from depthcur.cli import not_landed

        not_landed("eval", 7)
