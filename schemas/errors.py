"""Errors that name the sample, the field and (when there is one) the file."""

from __future__ import annotations

from depthcur.core.exits import UsageError


class SchemaError(UsageError):
    """A record, file or shard that does not follow the sample schema (a ValueError; exit code 2
    when it reaches the CLI)."""

    def __init__(self, message: str, *, key: str | None = None, field: str | None = None,
                 path: str | None = None):
        self.key, self.field, self.path, self.reason = key, field, path, message
        where = []
        if path:
            where.append(f"file {path}")
        if key:
            where.append(f"sample {key!r}")
        if field:
            where.append(f"field {field!r}")
        super().__init__(f"{', '.join(where)}: {message}" if where else message)


class ValidationError(SchemaError):
    """One or more problems found by :func:`depthcur.schemas.validate`."""

    def __init__(self, problems: list[SchemaError]):
        self.problems = problems
        first = problems[0]
        more = f" (+{len(problems) - 1} more: " + "; ".join(str(p) for p in problems[1:]) + ")" \
            if len(problems) > 1 else ""
        super().__init__(first.reason + more, key=first.key, field=first.field, path=first.path)
