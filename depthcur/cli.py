"""The ``depthcur`` command: one typer app; each stage registers its own verbs.

Stage CLI modules stay light (no bpy/torch/ray import at module level) so ``--help`` is fast.
"""

from __future__ import annotations

import sys
import traceback
from typing import Any

import typer
from typer.core import TyperGroup

from depthcur.core.exits import MISSING_INPUT, ItemsFailed, UsageError, exit_code_of, one_line
from depthcur.core.options import ARGS_KEY
from depthcur.core.progress import setup_logging

DEBUG_HINT = "run with --debug for the traceback"


class Boundary(TyperGroup):
    """The one error handler of every verb (docs/architecture.md, Exit codes).

    An expected failure is one line ``depthcur VERB: <what> (<where>): <todo>`` on stderr and exit
    code 2 (usage or input) or 1 (items failed); anything else is one line with DEBUG_HINT and exit
    code 1. ``--debug`` prints the traceback first.
    """

    def make_context(self, info_name: str | None, args: list[str], parent: typer.Context | None = None,
                     **extra: Any) -> typer.Context:
        ctx = super().make_context(info_name, args, parent, **extra)
        ctx.meta[ARGS_KEY] = list(args)       # the words as typed: errors name the flag the user wrote
        return ctx

    def invoke(self, ctx: typer.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (typer.Exit, typer.Abort):
            raise
        except Exception as exc:   # noqa: BLE001 - the boundary: every error becomes a line and a code
            if ctx.params.get("debug"):
                traceback.print_exc()
            raise typer.Exit(self.report(ctx, exc)) from None

    def report(self, ctx: typer.Context, exc: Exception) -> int:
        """Print ``exc`` in the convention; its exit code."""
        code = exit_code_of(exc)
        if type(exc).__name__ == "NoArgsIsHelpError":   # a command group without its verb: the help is the answer
            exc.show()
            return exc.exit_code
        if isinstance(exc, UsageError):
            lines = [exc.text()]
        elif isinstance(exc, MISSING_INPUT):
            lines = [str(exc)]
        elif isinstance(exc, ItemsFailed):
            lines = exc.items
        elif isinstance(exc, typer.TyperException):     # typer's own usage errors (click's, vendored)
            lines, code = [click_line(exc)], exc.exit_code
        else:
            lines = [one_line(f"{type(exc).__name__}: {exc}", None, DEBUG_HINT)]
        verb = self.verb_of(ctx)
        for line in lines:
            typer.secho(f"{verb}: {' '.join(line.split())}", err=True, fg="red")   # one line each
        return code

    def verb_of(self, ctx: typer.Context) -> str:
        """``depthcur curate stereo``: the command words among the arguments as typed."""
        words, command = ["depthcur"], self
        for word in ctx.meta.get(ARGS_KEY, []):
            if not isinstance(command, TyperGroup):
                break
            sub = command.get_command(ctx, word)
            if sub is not None:
                words.append(word)
                command = sub
        return " ".join(words)


def click_line(exc: typer.TyperException) -> str:
    """A click usage error (unknown option, missing or bad value) in the convention's shape."""
    ctx = getattr(exc, "ctx", None)
    todo = f"see '{ctx.command_path} --help'" if ctx is not None else None
    if getattr(exc, "option_name", None):           # an unknown option: name it, suggest the near ones
        near = sorted(getattr(exc, "possibilities", None) or [])
        return one_line("no such option", exc.option_name, f"did you mean {' or '.join(near)}?" if near else todo)
    where = getattr(exc, "param_hint", None)
    if where is None and getattr(exc, "param", None) is not None:
        where = exc.param.get_error_hint()
    if isinstance(where, (list, tuple)):
        where = "/".join(where)
    todo = getattr(exc, "todo", None) or todo
    if hasattr(exc, "param_type"):                  # a required option or argument not given
        what = f"missing {exc.param_type or getattr(exc.param, 'param_type_name', None) or 'option'}"
    else:
        what = exc.message if isinstance(exc, typer.BadParameter) else exc.format_message()
    return one_line(what.rstrip("."), where.replace("'", "") if where else None, todo)


app = typer.Typer(name="depthcur", cls=Boundary, no_args_is_help=True, add_completion=False,
                  help="Render, capture, curate, shard, train and evaluate metric RGB-D depth models.",
                  pretty_exceptions_enable=False)


@app.callback()
def _root(log_level: str = typer.Option("INFO", "--log-level", help="DEBUG, INFO, WARNING or ERROR."),
          debug: bool = typer.Option(False, "--debug", help="Print the traceback of an error too.")) -> None:
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


def leaf_commands(command: Any = None, path: tuple[str, ...] = ()) -> dict[str, Any]:
    """Every verb: ``"curate stereo"`` -> its click command (the tests walk their options)."""
    if command is None:
        from typer.main import get_command

        command = get_command(app)
    children = getattr(command, "commands", None)
    if not children:
        return {" ".join(path): command}
    return {name: cmd for child, sub in children.items() for name, cmd in leaf_commands(sub, path + (child,)).items()}


def main() -> None:
    app(prog_name="depthcur")


if __name__ == "__main__":
    sys.exit(main())
