"""Shared fixtures. Test data is generated here, never downloaded."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent
os.environ.setdefault("RAY_ENABLE_UV_RUN_RUNTIME_ENV", "0")


@pytest.fixture(scope="session")
def depthcur_cmd() -> list[str]:
    """The installed console script, as a user would run it."""
    return [str(VENV_BIN / "depthcur")]


@pytest.fixture(scope="session")
def ray_local():
    """One local Ray instance for the whole session (starting Ray costs seconds)."""
    from depthcur.core.ray_runner import init_ray, shutdown_ray

    init_ray(None, num_cpus=2)
    yield
    shutdown_ray()
