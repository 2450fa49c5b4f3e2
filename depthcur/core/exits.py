"""One exit-code and error-message convention for every verb.

0: everything done. 1: the run went through but some items failed (each is named on stderr).
2: usage or input error: a bad option or config file, a missing or unreadable input; nothing ran.

Verbs and the code below them *raise*; the one handler at the CLI boundary (``depthcur.cli``)
prints and exits, so no verb needs its own try/except to reformat an error:

- ``UsageError(what, where, todo)``: bad usage or input -> one line
  ``depthcur VERB: <what> (<where>): <todo>`` and exit 2. It is a ``ValueError``, so Python API
  callers can catch it as one.
- ``ItemsFailed(items)``: the run went through but these items failed -> one line per item, exit 1.
- ``FieldValueError(field, what, todo)``: a config dataclass refused a value (``core/validate.py``);
  a ``UsageError`` whose ``where`` is the field name, which the CLI replaces with the flag or the
  config-file key the value came from.
- ``FileNotFoundError``, ``NotADirectoryError``, ``IsADirectoryError`` (``MISSING_INPUT``): a named
  input is missing -> its message as one line, exit 2.
- any other exception: one line ending "run with --debug for the traceback", exit 1.
  ``depthcur --debug VERB ...`` prints the traceback of any of them as well.
"""

from __future__ import annotations

from typing import Iterable

OK = 0
ITEMS_FAILED = 1
USAGE_ERROR = 2


class UsageError(ValueError):
    """Bad usage or input; nothing (more) ran. Exit code 2."""

    exit_code = USAGE_ERROR

    def __init__(self, what: object, where: object = None, todo: object = None):
        self.what = str(what)
        self.where = None if where is None else str(where)
        self.todo = None if todo is None else str(todo)
        super().__init__(self.text())

    def text(self) -> str:
        """``<what> (<where>): <todo>``, leaving out the parts that are not known."""
        return one_line(self.what, self.where, self.todo)


class FieldValueError(UsageError):
    """A config field's value breaks its declared constraint; ``where`` is the field's name
    (and ``other``'s, the field it is checked against)."""

    def __init__(self, field: str, what: object, todo: object = None, other: str | None = None):
        self.field, self.other = field, other
        super().__init__(what, field if other is None else f"{field}, {other}", todo)


class ItemsFailed(Exception):
    """Some items failed during the run (each one a line naming the item); the rest is done. Exit code 1."""

    exit_code = ITEMS_FAILED

    def __init__(self, items: Iterable[object]):
        self.items = [str(item) for item in items]
        super().__init__("; ".join(self.items) or "some items failed")


def one_line(what: str, where: str | None = None, todo: str | None = None) -> str:
    """``<what> (<where>): <todo>``; the CLI boundary also folds it onto one line."""
    text = str(what)
    if where:
        text += f" ({where})"
    if todo:
        text += f": {todo}"
    return text


#: besides UsageError, the exceptions that mean a named input is missing: exit code 2 at the CLI
MISSING_INPUT = (FileNotFoundError, NotADirectoryError, IsADirectoryError)


def exit_code_of(exc: BaseException) -> int:
    """The exit code the CLI boundary gives an exception that ended a verb."""
    if isinstance(exc, (UsageError, *MISSING_INPUT)):
        return USAGE_ERROR
    return ITEMS_FAILED


def input_error(verb: str, problem: object) -> UsageError:
    """``raise input_error(verb, problem)``: the usage or input error ``problem`` (exit code 2).

    Kept for the verbs that wrap an exception type of their own; the boundary names the verb.
    """
    return problem if isinstance(problem, UsageError) else UsageError(problem)


def items_failed(verb: str, problems: Iterable[object]) -> ItemsFailed:
    """``raise items_failed(verb, problems)``: name each item that failed (exit code 1)."""
    return ItemsFailed(problems)
