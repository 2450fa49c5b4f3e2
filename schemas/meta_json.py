"""The one parser of a sample record's JSON: ``meta.json`` in a sample folder, the ``meta.json`` member
of a WebDataset sample, and the JSON columns of a Parquet row.

Nesting is bounded, so a hostile file (``[[[[...]]]]`` 100000 deep) is a :class:`SchemaError` naming
the file, never a ``RecursionError`` that depends on how deep the reader's own call stack happens to be.
"""

from __future__ import annotations

import json
from typing import Any

from .errors import SchemaError

#: how deeply objects and lists may nest in a record's JSON; the record's own fields need 3 levels,
#: the rest is room for free-form provenance
MAX_JSON_NESTING = 32


def json_nesting(value: Any) -> int:
    """How many objects/lists deep ``value`` is (a scalar: 0), without recursion. ``value`` must be
    acyclic, as anything ``json.loads`` returns or ``json.dumps`` accepts is."""
    deepest, todo = 0, [(value, 1)]
    while todo:
        item, depth = todo.pop()
        if isinstance(item, (dict, list, tuple)):
            deepest = max(deepest, depth)
            todo.extend((child, depth + 1) for child in (item.values() if isinstance(item, dict) else item))
    return deepest


def nesting_problem(value: Any, *, inside: int = 0) -> str | None:
    """Why ``value`` nests too deeply for a record, or None; ``inside``: the levels it sits in
    (provenance sits in meta.json's object: 1)."""
    depth = inside + json_nesting(value)
    return f"nests {depth} levels deep, more than the {MAX_JSON_NESTING} levels a record allows" \
        if depth > MAX_JSON_NESTING else None


def parse_record_json(raw: bytes | str, *, name: str, key: str | None = None, field: str | None = None,
                      path: str | None = None) -> Any:
    """``raw`` parsed as JSON; SchemaError (naming ``name``, the key, field and file) if it is not
    valid JSON or nests deeper than :data:`MAX_JSON_NESTING`."""
    try:
        value = json.loads(raw)
    except RecursionError:     # the C parser's depth limit: far deeper than a record allows
        raise SchemaError(f"{name} nests deeper than the {MAX_JSON_NESTING} levels a record allows; rewrite or "
                          "remove this sample", key=key, field=field, path=path) from None
    except ValueError as exc:   # JSONDecodeError, or UnicodeDecodeError for bytes that are not UTF-8
        raise SchemaError(f"{name} is not valid JSON ({exc})", key=key, field=field, path=path) from None
    problem = nesting_problem(value)
    if problem:
        raise SchemaError(f"{name} {problem}; rewrite or remove this sample", key=key, field=field, path=path)
    return value
