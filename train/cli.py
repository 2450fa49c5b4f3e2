"""``depthcur train`` (issue #6)."""

import typer

from depthcur.config import ConfigOption


def register(app: typer.Typer) -> None:
    train = typer.Typer(help="Train MDM, prompt and distillation stages (not landed yet).", no_args_is_help=True)

    @train.command(help="Masked Depth Modeling (not landed yet).")
    def mdm(config: ConfigOption = None) -> None:
        from depthcur.cli import not_landed

        not_landed("train mdm", 6)

    app.add_typer(train, name="train")
