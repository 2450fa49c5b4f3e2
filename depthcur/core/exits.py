"""One exit-code convention for every verb.

0: everything done. 1: the run went through but some items failed (each is named on stderr).
2: usage or input error: a bad option or config file, a missing or unreadable input; nothing ran.
"""

from __future__ import annotations

from typing import Iterable

import typer

OK = 0
ITEMS_FAILED = 1
USAGE_ERROR = 2


def input_error(verb: str, problem: object) -> typer.Exit:
    """Say what is wrong with the input or the options; ``raise`` the result (exit code 2)."""
    typer.secho(f"depthcur {verb}: {problem}", err=True, fg="red")
    return typer.Exit(code=USAGE_ERROR)


def items_failed(verb: str, problems: Iterable[object]) -> typer.Exit:
    """Name each item that failed; ``raise`` the result (exit code 1)."""
    for problem in problems:
        typer.secho(f"depthcur {verb}: {problem}", err=True, fg="red")
    return typer.Exit(code=ITEMS_FAILED)
