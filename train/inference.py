"""The inference contract the evaluate stage codes against.

    predictor = load_predictor("runs/mdm_tiny")          # a run folder or a .pt checkpoint
    depth = predictor.predict(rgb, depth_raw, K, prompt=None)   # float32 HxW metres

``rgb`` is uint8 HxWx3, ``depth_raw`` float32 HxW metres (0 = invalid), ``K`` the RGB
intrinsics, ``prompt`` an optional sparse float32 HxW depth (0 = no prompt). The input is
resized to a patch-aligned size near the training pixel count and the output resized back.
Stage behaviour:
- ``mdm``: depth completion from RGB + raw depth (all-invalid patches masked as in training);
- ``prompt``: metric depth conditioned on ``prompt`` (sampled from ``depth_raw`` if None);
- ``distill``: prompt-free monocular metric depth; ``depth_raw`` and ``prompt`` are ignored.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import torch

from depthcur.schemas import Intrinsics

from . import checkpoint as ckpt
from .config import TrainConfig, config_from_dict
from .masking import sensor_hole_mask


def build_network(state: dict[str, Any]) -> torch.nn.Module:
    """Rebuild a stage network from checkpoint contents (``stage``, ``config``, ``model``)."""
    from .stages import STAGES

    cfg = config_from_dict(state["config"])
    stage = state["stage"]
    if stage not in STAGES:
        raise ValueError(f"checkpoint stage {stage!r} is not one of {sorted(STAGES)}")
    model = STAGES[stage](cfg).build_model()
    model.load_state_dict(state["model"])
    return model.eval()


def inference_size(height: int, width: int, target_pixels: int, patch: int) -> tuple[int, int]:
    scale = (target_pixels / (height * width)) ** 0.5
    return (max(patch, int(round(height * scale / patch)) * patch), max(patch, int(round(width * scale / patch)) * patch))


@dataclass
class Predictor:
    model: torch.nn.Module
    config: TrainConfig
    stage: str
    name: str
    checkpoint_sha256: str
    device: torch.device
    prior: Any = None     # PriorModel for the prompt stage
    seed: int = 0

    @torch.no_grad()
    def predict(self, rgb: np.ndarray, depth_raw: np.ndarray | None, K: Intrinsics,
                prompt: np.ndarray | None = None) -> np.ndarray:
        rgb = np.asarray(rgb)
        if rgb.dtype != np.uint8 or rgb.ndim != 3 or rgb.shape[2] != 3:
            raise ValueError(f"predict: rgb must be uint8 HxWx3, got {rgb.dtype} {rgb.shape}")
        h, w = rgb.shape[:2]
        for label, arr in (("depth_raw", depth_raw), ("prompt", prompt)):
            if arr is not None and np.asarray(arr).shape != (h, w):
                raise ValueError(f"predict: {label} shape {np.asarray(arr).shape} does not match rgb {(h, w)}")
        crop = self.config.crop
        ih, iw = inference_size(h, w, crop[0] * crop[1], self.config.model.patch_size)
        rgb_t = torch.from_numpy(cv2.resize(rgb, (iw, ih), interpolation=cv2.INTER_AREA).transpose(2, 0, 1).copy())
        rgb_t = (rgb_t.float() / 255.0)[None].to(self.device)
        if self.stage == "mdm":
            out = self._predict_mdm(rgb_t, depth_raw, (ih, iw))
        elif self.stage == "prompt":
            out = self._predict_prompt(rgb_t, depth_raw, prompt, (ih, iw))
        else:
            out = self.model(rgb_t)
        depth = out[0].float().cpu().numpy()
        return cv2.resize(depth, (w, h), interpolation=cv2.INTER_LINEAR).astype(np.float32)

    def _predict_mdm(self, rgb_t: torch.Tensor, depth_raw: np.ndarray | None, size: tuple[int, int]) -> torch.Tensor:
        ih, iw = size
        p = self.config.model.patch_size
        if depth_raw is None or not (depth_raw > 0).any():
            return self.model(rgb_t, None, None)  # monocular
        raw = cv2.resize(np.asarray(depth_raw, np.float32), (iw, ih), interpolation=cv2.INTER_NEAREST)
        hole_mask = sensor_hole_mask(raw, p)
        return self.model(rgb_t, torch.from_numpy(raw)[None].to(self.device),
                          torch.from_numpy(hole_mask)[None].to(self.device))

    def _predict_prompt(self, rgb_t: torch.Tensor, depth_raw: np.ndarray | None, prompt: np.ndarray | None,
                        size: tuple[int, int]) -> torch.Tensor:
        from .prompts import prompt_count, prompt_input, sample_prompt

        ih, iw = size
        rng = np.random.default_rng(self.seed)
        if prompt is None:
            if depth_raw is None or not (depth_raw > 0).any():
                raise ValueError("predict: the prompt stage needs a prompt or a depth_raw with valid pixels")
            prompt = sample_prompt(np.asarray(depth_raw, np.float32),
                                   prompt_count(self.config.prompt, *depth_raw.shape, rng), rng)
        if not (prompt > 0).any():
            raise ValueError("predict: the prompt has no valid (> 0) pixel")
        small = _downsample_sparse(np.asarray(prompt, np.float32), ih, iw)
        prior = self.prior(rgb_t)[0]
        cond = torch.from_numpy(prompt_input(prior, small, self.config.prompt.pdsa_sigma))[None].to(self.device)
        return self.model(rgb_t, cond)


def _downsample_sparse(prompt: np.ndarray, height: int, width: int) -> np.ndarray:
    """Move each prompt pixel to its nearest cell of the smaller grid (no pixel is lost or blended)."""
    h, w = prompt.shape
    ys, xs = np.nonzero(prompt > 0)
    out = np.zeros((height, width), np.float32)
    ty = np.clip(((ys + 0.5) * height / h).astype(int), 0, height - 1)
    tx = np.clip(((xs + 0.5) * width / w).astype(int), 0, width - 1)
    out[ty, tx] = prompt[ys, xs]
    return out


def load_predictor(checkpoint_path_or_run_dir: str | Path, device: str | None = None) -> Predictor:
    """Load the newest checkpoint of a run folder (or a given ``.pt``) as a :class:`Predictor`."""
    from .stages.prompt import PriorModel

    path = ckpt.latest_checkpoint(Path(checkpoint_path_or_run_dir))
    state = ckpt.load(path)
    for field in ("stage", "config", "model"):
        if field not in state:
            raise ValueError(f"checkpoint {path}: field {field!r} is missing; not a depthcur training checkpoint")
    dev = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
    model = build_network(state).to(dev)
    prior = PriorModel.from_saved(state.get("extras", {}).get("prior")) if state["stage"] == "prompt" else None
    if prior is not None and prior.model is not None:
        prior.model.to(dev)
    run_name = path.parent.parent.name if path.parent.name == ckpt.CHECKPOINT_DIR else path.stem
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    return Predictor(model=model, config=config_from_dict(state["config"]), stage=state["stage"],
                     name=f"{state['stage']}:{run_name}@{state.get('step', 0)}", checkpoint_sha256=digest,
                     device=dev, prior=prior)
