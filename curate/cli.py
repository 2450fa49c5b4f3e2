"""``depthcur curate`` (issue #5)."""

import typer

from depthcur.config import ConfigOption


def register(app: typer.Typer) -> None:
    curate = typer.Typer(help="Pseudo-label, project LiDAR, import/export, filter (not landed yet).",
                         no_args_is_help=True)

    @curate.command(help="Stereo pseudo-labels (not landed yet).")
    def stereo(config: ConfigOption = None) -> None:
        from depthcur.cli import not_landed

        not_landed("curate stereo", 5)

    app.add_typer(curate, name="curate")
