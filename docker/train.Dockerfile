# syntax=docker/dockerfile:1
# depthcur GPU training image: `depthcur train {mdm,prompt,distill}` and `depthcur eval` on CUDA,
# also usable as a GPU worker group of the Ray cluster (same Python 3.11 and Ray 2.60 as the
# render/curate worker image, which Ray requires of every node).
#
# Build from the repository root:
#   docker build -f docker/train.Dockerfile -t depthcur-train:0.1.0 .
#
# Base: NVIDIA's official CUDA runtime image plus the torch==2.13.0 wheel from the PyTorch CUDA
# index, rather than a pytorch/pytorch tag, because the constraints pin torch==2.13.0 and
# requires-python is 3.11: the install below must produce exactly that pair. The torch CUDA
# wheels bundle their own CUDA libraries; the base image supplies a matching runtime for
# anything else. Keep TORCH_CUDA and the base image on the same CUDA major.minor.
FROM nvidia/cuda:12.8.1-cudnn-runtime-ubuntu22.04

ARG TORCH_CUDA=cu128

# Ubuntu 22.04 ships Python 3.11 in universe; pyproject.toml requires >=3.11,<3.12.
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        python3.11 python3.11-venv ca-certificates \
    && rm -rf /var/lib/apt/lists/*

# Ray refuses a node whose Python differs from the head's down to the patch level by default.
# The worker (python:3.11-slim) and train (Ubuntu's python3.11) images share 3.11 but not the
# patch, so both relax the check to the minor version, which is what Ray Client uses anyway.
ENV VIRTUAL_ENV=/opt/venv \
    PATH=/opt/venv/bin:$PATH \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONUNBUFFERED=1 \
    RAY_DEFAULT_PYTHON_VERSION_MATCH_LEVEL=minor

WORKDIR /opt/depthcur
COPY . .

# The same pinned install as scripts/setup.sh (README `make demo`), for the train role: training
# and `depthcur eval` of its checkpoints. The constraints file pins torch==2.13.0; the extra
# index only decides which build of that version is fetched (+cu128 rather than PyPI's
# default), so the pin is honoured. The image builds elsewhere, with internet; the dev machines
# use a local CPU wheel instead. ray[client] adds only grpcio (pinned in the constraints).
RUN python3.11 -m venv "$VIRTUAL_ENV" \
    && pip install --no-cache-dir -c requirements/constraints.txt \
        --extra-index-url "https://download.pytorch.org/whl/${TORCH_CUDA}" \
        ".[train,evaluate]" "torch==2.13.0" "ray[client]==2.60.0" \
    && python -c "import torch; assert torch.__version__.startswith('2.13.0'), torch.__version__" \
    && depthcur --help > /dev/null

# Unprivileged user; /data and /runs are where the recipes mount shards and training runs.
RUN useradd --create-home --uid 1000 --shell /bin/bash depthcur \
    && mkdir -p /data /runs \
    && chown depthcur:depthcur /data /runs
# Numeric, so Kubernetes runAsNonRoot can verify it without reading /etc/passwd.
USER 1000:1000
WORKDIR /runs

HEALTHCHECK --interval=60s --timeout=20s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import torch, depthcur.schemas"]
CMD ["depthcur", "train", "--help"]
