# syntax=docker/dockerfile:1
# depthcur render/curate worker: Blender (bpy) rendering, SGM sensor simulation, curation and
# shard building, and a Ray node (head or worker) for `depthcur ... --ray-address`.
#
# Build from the repository root (the context must hold pyproject.toml and the stage folders):
#   docker build -f docker/worker.Dockerfile -t depthcur-worker:0.1.0 .
#
# Python 3.11 because bpy 5.0.1 only ships for 3.11; every Ray node and
# every Ray client must run the same Python minor and the same Ray version.
FROM python:3.11-slim-bookworm

# The system libraries scripts/setup.sh installs, minus Chromium (only the capture app's
# browser tests need it): libusb for pyrealsense2, the X/GL runtime bpy links against.
RUN apt-get update \
    && apt-get install -y --no-install-recommends \
        libusb-1.0-0 libxrender1 libxi6 libxkbcommon0 libsm6 libgl1 libegl1 libxxf86vm1 libxfixes3 \
    && rm -rf /var/lib/apt/lists/*

# Ray refuses a node whose Python differs from the head's down to the patch level by default.
# The worker (python:3.11-slim) and train (Ubuntu's python3.11) images share 3.11 but not the
# patch, so both relax the check to the minor version, which is what Ray Client uses anyway.
# GPU rendering: the bpy wheel carries Cycles' CUDA/OptiX/HIP kernels, so this same image renders on
# NVIDIA GPUs (`depthcur render --device gpu`) when the NVIDIA container runtime mounts the driver;
# OptiX needs the driver's "graphics" libraries besides compute. The variables are ignored elsewhere.
# A build arg of the same name narrows what the runtime mounts (e.g. compute,utility: CUDA only, no OptiX).
ARG NVIDIA_DRIVER_CAPABILITIES=compute,utility,graphics
ENV NVIDIA_VISIBLE_DEVICES=all \
    NVIDIA_DRIVER_CAPABILITIES=${NVIDIA_DRIVER_CAPABILITIES}

ENV VIRTUAL_ENV=/opt/venv \
    PATH=/opt/venv/bin:$PATH \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONUNBUFFERED=1 \
    RAY_DEFAULT_PYTHON_VERSION_MATCH_LEVEL=minor

WORKDIR /opt/depthcur
COPY . .

# The same pinned install as scripts/setup.sh (README `make demo`), for this image's role:
# the numpy<2 chain (bpy -> numpy 1.26 -> pyarrow 25 / opencv-contrib 4.11) comes from the
# constraints file. torch is not installed here (it is the train extra); should a derived image
# add it, torch==2.13.0 must come from https://download.pytorch.org/whl/cpu via
# --extra-index-url: images build on machines with internet, unlike the dev machines, and a bare
# PyPI torch pulls several GB of CUDA wheels. ray[client] adds only grpcio (pinned in the
# constraints) so drivers can connect with --ray-address ray://HOST:10001.
RUN python -m venv "$VIRTUAL_ENV" \
    && pip install --no-cache-dir -c requirements/constraints.txt \
        ".[render,capture,curate]" "ray[client]==2.60.0" \
    && depthcur --help > /dev/null

# Run as an unprivileged user; /data is where the compose/KubeRay recipes mount the shared
# dataset volume, so it must be writable by that user (a fresh named volume copies this owner).
RUN useradd --create-home --uid 1000 --shell /bin/bash depthcur \
    && mkdir -p /data \
    && chown depthcur:depthcur /data
# Numeric, so Kubernetes runAsNonRoot can verify it without reading /etc/passwd.
USER 1000:1000
WORKDIR /data

# 6379 GCS, 10001 Ray client server, 8265 dashboard (only when ray[default] is added).
EXPOSE 6379 10001 8265
HEALTHCHECK --interval=30s --timeout=10s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import depthcur.schemas, ray"]
CMD ["depthcur", "--help"]
