"""``depthcur capture`` (issue #4)."""

import typer

from depthcur.config import ConfigOption


def register(app: typer.Typer) -> None:
    capture = typer.Typer(help="Record from cameras and run the touchscreen capture app (not landed yet).",
                          no_args_is_help=True)

    @capture.command(help="Record frames headless (not landed yet).")
    def record(config: ConfigOption = None) -> None:
        from depthcur.cli import not_landed

        not_landed("capture record", 4)

    app.add_typer(capture, name="capture")
