"""The ``depthcur`` command: one typer app; each stage registers its own verbs.

Stage CLI modules stay light (no bpy/torch/ray import at module level) so ``--help`` is fast.
"""

from __future__ import annotations

import sys

import typer

from depthcur.core.progress import setup_logging

app = typer.Typer(name="depthcur", no_args_is_help=True, add_completion=False,
                  help="Render, capture, curate, shard, train and evaluate metric RGB-D depth models.",
                  pretty_exceptions_enable=False)


@app.callback()
def _root(log_level: str = typer.Option("INFO", "--log-level", help="DEBUG, INFO, WARNING or ERROR.")) -> None:
    setup_logging(log_level.upper())


def _register_stages() -> None:
    from depthcur.capture.cli import register as capture
    from depthcur.curate.cli import register as curate
    from depthcur.curate.shards.cli import register as shards
    from depthcur.evaluate.cli import register as evaluate
    from depthcur.render.cli import register as render
    from depthcur.train.cli import register as train

    from .demo import register as demo

    for register in (render, capture, curate, shards, train, evaluate, demo):
        register(app)


_register_stages()


def main() -> None:
    app(prog_name="depthcur")


if __name__ == "__main__":
    sys.exit(main())
