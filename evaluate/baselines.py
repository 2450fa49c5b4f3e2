"""Classical baselines with the train stage's Predictor signature; always available.

``raw-depth`` returns the input depth unchanged (holes stay holes, so it is scored on
coverage as well as precision), ``fill-nearest`` copies the nearest valid input pixel into
every hole, ``inpaint`` interpolates the holes with a push-pull pyramid.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np
from scipy import ndimage

from depthcur.schemas import Intrinsics


class Predictor(Protocol):
    name: str
    stage: str

    def predict(self, rgb: np.ndarray, depth_raw: np.ndarray, K: Intrinsics,
                prompt: np.ndarray | None = None) -> np.ndarray: ...


class RawDepth:
    name = "raw-depth"
    stage = "baseline"

    def predict(self, rgb, depth_raw, K, prompt=None) -> np.ndarray:
        return np.asarray(depth_raw, dtype=np.float32).copy()


class FillNearest:
    name = "fill-nearest"
    stage = "baseline"

    def predict(self, rgb, depth_raw, K, prompt=None) -> np.ndarray:
        depth = np.asarray(depth_raw, dtype=np.float32)
        holes = ~(depth > 0)
        if holes.all() or not holes.any():
            return depth.copy()
        _, (rows, cols) = ndimage.distance_transform_edt(holes, return_indices=True)
        return depth[rows, cols]


class Inpaint:
    """Classical depth inpainting by push-pull pyramid interpolation.

    OpenCV's Telea inpainting was tried first: on depth with 80-99 % holes it leaves
    near-constant fills (AbsRel ~0.3-0.5 on the synthetic scenes), so the pyramid fill,
    which stays smooth over any hole size, is the classical inpainting baseline.
    """

    name = "inpaint"
    stage = "baseline"

    def predict(self, rgb, depth_raw, K, prompt=None) -> np.ndarray:
        import torch

        from depthcur.train.models.depth_prior import push_pull_fill   # the MDM depth prior's fill

        depth = np.asarray(depth_raw, dtype=np.float32)
        if not (depth > 0).any():
            return depth.copy()
        tensor = torch.from_numpy(depth)[None]
        return push_pull_fill(tensor, tensor > 0)[0].numpy()


BASELINES = {cls.name: cls for cls in (RawDepth, FillNearest, Inpaint)}


def load_model(spec: str) -> Predictor:
    """A baseline by name, a released model with its own code (``cdm:PATH``, see adapters.py), or a
    checkpoint through the train stage's contract."""
    if spec in BASELINES:
        return BASELINES[spec]()
    from .adapters import adapter_for   # released models with their own code: cdm:PATH

    adapted = adapter_for(spec)
    if adapted is not None:
        return adapted
    from pathlib import Path

    if not Path(spec).exists():
        raise FileNotFoundError(f"--model {spec}: not a baseline ({', '.join(BASELINES)}) and no such checkpoint file")
    try:
        from depthcur.train.inference import load_predictor
    except ImportError as exc:
        raise RuntimeError(f"--model {spec}: loading checkpoints needs depthcur.train.inference "
                           f"(the train stage), which is not importable: {exc}") from exc
    return load_predictor(spec)
