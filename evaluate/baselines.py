"""Classical baselines with the train stage's Predictor signature; always available.

``raw-depth`` returns the input depth unchanged (holes stay holes, so it is scored on
coverage as well as precision), ``fill-nearest`` copies the nearest valid input pixel into
every hole, ``inpaint`` runs OpenCV's Telea inpainting over the holes.
"""

from __future__ import annotations

from typing import Protocol

import cv2
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


def push_pull_fill(depth: np.ndarray) -> np.ndarray:
    """Fill holes from a pyramid of valid-weighted 2×2 means (pull), then upsample the
    coarse estimate bilinearly into the holes level by level (push). Valid pixels are
    kept exactly; large holes get a smooth interpolation instead of a flat copy."""
    values = np.where(depth > 0, depth, 0).astype(np.float64)
    weights = (depth > 0).astype(np.float64)
    pyramid = [(values, weights)]
    while (weights == 0).any() and min(weights.shape) > 1:
        h, w = weights.shape
        pad = ((0, h % 2), (0, w % 2))
        values, weights = np.pad(values, pad), np.pad(weights, pad)
        shape = (values.shape[0] // 2, 2, values.shape[1] // 2, 2)
        values, weights = values.reshape(shape).sum(axis=(1, 3)), weights.reshape(shape).sum(axis=(1, 3))
        pyramid.append((values, weights))
    values, weights = pyramid[-1]
    filled = np.divide(values, weights, out=np.zeros_like(values), where=weights > 0)
    for values, weights in reversed(pyramid[:-1]):
        h, w = weights.shape
        up = cv2.resize(filled, (2 * filled.shape[1], 2 * filled.shape[0]), interpolation=cv2.INTER_LINEAR)[:h, :w]
        filled = np.where(weights > 0, np.divide(values, weights, out=np.zeros_like(values), where=weights > 0), up)
    return filled.astype(np.float32)


class Inpaint:
    """Classical depth inpainting by push-pull pyramid interpolation.

    OpenCV's Telea inpainting was tried first: on depth with 80-99 % holes it leaves
    near-constant fills (AbsRel ~0.3-0.5 on the synthetic scenes), so the pyramid fill,
    which stays smooth over any hole size, is the classical inpainting baseline.
    """

    name = "inpaint"
    stage = "baseline"

    def predict(self, rgb, depth_raw, K, prompt=None) -> np.ndarray:
        depth = np.asarray(depth_raw, dtype=np.float32)
        if not (depth > 0).any():
            return depth.copy()
        return push_pull_fill(depth)


BASELINES = {cls.name: cls for cls in (RawDepth, FillNearest, Inpaint)}


def load_model(spec: str) -> Predictor:
    """A baseline by name, or a checkpoint through the train stage's contract."""
    if spec in BASELINES:
        return BASELINES[spec]()
    from pathlib import Path

    if not Path(spec).exists():
        raise FileNotFoundError(f"--model {spec}: not a baseline ({', '.join(BASELINES)}) and no such checkpoint file")
    try:
        from depthcur.train.inference import load_predictor
    except ImportError as exc:
        raise RuntimeError(f"--model {spec}: loading checkpoints needs depthcur.train.inference "
                           f"(the train stage, issue #5), which is not importable: {exc}") from exc
    return load_predictor(spec)
