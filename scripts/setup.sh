#!/usr/bin/env bash
# Set up a fresh machine: system libraries, then .venv/ with the pinned dependency chain.
# Idempotent: re-running only installs what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

# System libraries: libusb for pyrealsense2, X/GL runtime libraries for bpy, Chromium for the
# capture-app browser tests. Skipped when already present or when we cannot install.
need_apt=()
for pkg in libusb-1.0-0 libxrender1 libxi6 libxkbcommon0 libsm6 libgl1 libegl1 libxxf86vm1 libxfixes3 chromium; do
  dpkg -s "$pkg" >/dev/null 2>&1 || need_apt+=("$pkg")
done
if [ ${#need_apt[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
  echo "setup: installing system packages: ${need_apt[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
fi

PY=${PYTHON:-python3.11}
command -v "$PY" >/dev/null 2>&1 || PY=python3
if [ ! -x .venv/bin/python ]; then
  echo "setup: creating .venv with $($PY --version)"
  "$PY" -m venv .venv
fi
stamp=.venv/.depthcur-installed
# Strict editable mode links each module file, so the stamp covers the module list too: a new module
# re-runs the (quick) editable install.
want=$( (cat pyproject.toml requirements/constraints.txt; find -L depthcur -name '*.py' | sort) | sha256sum | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "setup: installing depthcur and its pinned dependencies into .venv (first run downloads ~1.5 GB)"
  .venv/bin/python -m pip install -q --upgrade "pip>=24" >/dev/null
  # torch==2.13.0 is pinned: on these machines it resolves to the local CPU wheel; an unpinned
  # torch would pull several GB of CUDA packages.
  # editable_mode=strict: a .pth file points at a tree of links to the sources, which static tools
  # (jedi, pyright, IDEs) follow; the default mode uses an import hook they cannot see.
  .venv/bin/python -m pip install -q -c requirements/constraints.txt -e ".[render,capture,curate,train,evaluate,dev]" \
    --config-settings editable_mode=strict
  # The Orbbec SDK wheel pins old numpy/open3d/opencv; install it without its dependencies.
  .venv/bin/python -m pip install -q --no-deps pyorbbecsdk2==2.1.2 || echo "setup: pyorbbecsdk2 unavailable; the Orbbec driver will say so"
  echo "$want" > "$stamp"
fi
echo "setup: ready (.venv/bin/depthcur)"
