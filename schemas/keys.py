"""Sample keys: the one place that builds, checks, sanitises and flattens them, and maps them to folders.

A key is ``part/part/...``; it may only hold ``[a-z0-9_-/]``, so no dots (WebDataset splits member names
on the first dot), and no empty part. Its slashes become sub-folders of a raw sample root, and ``__`` in
flat file names (done markers, JSONL parts, pictures).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from .errors import SchemaError

KEY_PATTERN = re.compile(r"^[a-z0-9_\-/]+$")
KEY_SEPARATOR = "/"
#: what a key's slashes become in a flat file name: ``sim/a/0001`` -> ``sim__a__0001``
FILE_NAME_SEPARATOR = "__"
#: what a run of characters a key cannot hold becomes in a sanitised key part
REPLACEMENT = "_"
_UNSAFE_RUN = re.compile(r"[^a-z0-9_-]+")


def key_problems(key: str) -> list[str]:
    """Why ``key`` is not a valid sample key; empty when it is."""
    if not key:
        return ["key is empty"]
    problems = []
    if not KEY_PATTERN.match(key):
        bad = sorted({c for c in key if not KEY_PATTERN.match(c)})
        problems.append(f"key may only hold [a-z0-9_-/]; found {bad} (dots and spaces break "
                        f"WebDataset member names)")
    if key.startswith(KEY_SEPARATOR) or key.endswith(KEY_SEPARATOR) or KEY_SEPARATOR * 2 in key:
        problems.append("key must not start or end with '/' or hold '//'")
    return problems


def check_key(key: str) -> str:
    """``key`` itself; a :class:`SchemaError` naming the key when it is not a valid sample key."""
    problems = key_problems(key)
    if problems:
        raise SchemaError("; ".join(problems), key=key, field="key")
    return key


def build_key(*parts: str) -> str:
    """The key of ``parts`` joined by '/' (a part may itself be a key); checked."""
    return check_key(KEY_SEPARATOR.join(parts))


def sanitise_key_part(text: str, fallback: str = "x") -> str:
    """``text`` made into one key part: lower case, each run of other characters than [a-z0-9_-]
    replaced by '_', no '_' at either end; ``fallback`` when nothing is left."""
    return _UNSAFE_RUN.sub(REPLACEMENT, text.lower()).strip(REPLACEMENT) or fallback


def key_from_names(*names: str) -> str:
    """The key of arbitrary names (folder names, file stems), each sanitised into one part."""
    return build_key(*(sanitise_key_part(name) for name in names))


def flatten_key(key: str, separator: str = FILE_NAME_SEPARATOR) -> str:
    """``key`` as one file name (without extension). Foreign layouts that name frames with single
    underscores pass ``separator="_"``; only the default can be read back by :func:`unflatten_key`."""
    return key.replace(KEY_SEPARATOR, separator)


def unflatten_key(name: str) -> str:
    """The key a :func:`flatten_key` file name came from. Exact for keys whose parts hold no '__' and do
    not end in '_'; for others the flat name is ambiguous ('a_/b' and 'a/_b' both give 'a___b')."""
    return name.replace(FILE_NAME_SEPARATOR, KEY_SEPARATOR)


def sample_dir(root: str | os.PathLike, key: str) -> Path:
    """The folder of sample ``key`` under a raw sample root: one sub-folder per part."""
    return Path(root).joinpath(*key.split(KEY_SEPARATOR))


def key_of_folder(root: str | os.PathLike, folder: str | os.PathLike) -> str:
    """The key of the sample folder ``folder`` under ``root`` (the inverse of :func:`sample_dir`)."""
    return Path(folder).relative_to(root).as_posix()
