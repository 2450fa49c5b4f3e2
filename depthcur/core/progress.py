"""Progress bars and logging shared by every stage (rich)."""

from __future__ import annotations

import logging
import os
from contextlib import contextmanager
from typing import Iterator

from rich.console import Console
from rich.logging import RichHandler
from rich.progress import (BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn,
                           TimeElapsedColumn, TimeRemainingColumn)

# soft_wrap: long paths and messages stay on one line, so logs can be grepped
console = Console(stderr=True, soft_wrap=True)


def setup_logging(level: str | int = "INFO") -> None:
    level = os.environ.get("DEPTHCUR_LOG_LEVEL", level)
    logging.basicConfig(level=level, format="%(message)s", datefmt="[%X]",
                        handlers=[RichHandler(console=console, show_path=False, rich_tracebacks=False)],
                        force=True)


def get_logger(name: str) -> logging.Logger:
    return logging.getLogger(name)


def make_progress() -> Progress:
    """A progress display; on a non-terminal it still prints, refreshing rarely."""
    return Progress(SpinnerColumn(), TextColumn("[bold]{task.description}"), BarColumn(),
                    MofNCompleteColumn(), TimeElapsedColumn(), TimeRemainingColumn(),
                    console=console, transient=False,
                    refresh_per_second=10 if console.is_terminal else 0.5)


@contextmanager
def progress_task(description: str, total: int | None) -> Iterator["callable"]:
    """``with progress_task("render", n) as advance: ... advance(1)``."""
    with make_progress() as progress:
        task = progress.add_task(description, total=total)
        yield lambda n=1: progress.advance(task, n)
