"""``depthcur render`` (issue #3)."""

import typer

from depthcur.config import ConfigOption


def register(app: typer.Typer) -> None:
    @app.command(help="Render procedural or file scenes with Blender (not landed yet).")
    def render(config: ConfigOption = None) -> None:
        from depthcur.cli import not_landed

        not_landed("render", 3)
