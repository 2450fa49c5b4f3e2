"""Output folders: a --out that is a file, and a disk that fills up while writing."""

from __future__ import annotations

import errno
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from .exits import UsageError

#: the errors a write gets when the disk or the user's quota is full
FULL_DISK_ERRNOS = (errno.ENOSPC, errno.EDQUOT)


class DiskFullError(OSError):
    """No space left (disk or quota) while writing ``path``; the writer left nothing partial behind."""

    def __init__(self, path: str | Path):
        super().__init__(errno.ENOSPC, "disk full", str(path))

    def __str__(self) -> str:
        return (f"the disk is full (no space left on device) while writing {self.filename}; nothing partial was "
                f"left behind: free space there or write to another disk, then run again")


@contextmanager
def full_disk_named(path: str | Path) -> Iterator[None]:
    """Turn a full-disk OSError raised inside the block into a :class:`DiskFullError` naming ``path``.

    The block cleans up its own partial files (it sees the error first)."""
    try:
        yield
    except DiskFullError:
        raise
    except OSError as exc:
        if exc.errno in FULL_DISK_ERRNOS:
            raise DiskFullError(path) from exc
        raise


def check_out_folder(path: str | Path, flag: str = "--out") -> Path:
    """``path`` as a folder to write into: a UsageError when a file is in the way."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise UsageError(f"{path} is a file, not a folder", flag, "give a folder (it is created if missing)")
    return path


def size_text(n_bytes: float) -> str:
    """A byte count for people, to three significant digits: ``812 B``, ``4.1 kB``, ``56.3 MB``, ``2.15 GB``."""
    value, units = float(n_bytes), ("B", "kB", "MB", "GB", "TB", "PB")
    unit = 0
    while abs(value) >= 999.5 and unit < len(units) - 1:
        value, unit = value / 1000.0, unit + 1
    return f"{value:.0f} {units[unit]}" if unit == 0 else f"{value:.3g} {units[unit]}"

