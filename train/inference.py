"""The inference contract the evaluate stage codes against.

    predictor = load_predictor("runs/mdm_tiny")          # a run folder or a .pt checkpoint
    depth = predictor.predict(rgb, depth_raw, K, prompt=None)   # float32 HxW metres

``rgb`` is uint8 HxWx3, ``depth_raw`` float32 HxW metres (0 = invalid), ``K`` the RGB
intrinsics, ``prompt`` an optional sparse float32 HxW depth (0 = no prompt). The input is
resized to a patch-aligned size near the training pixel count and the output resized back.
Stage behaviour (each stage's ``infer``):
- ``mdm``: depth completion from RGB + raw depth (all-invalid patches masked as in training);
- ``prompt``: metric depth conditioned on ``prompt`` (sampled from ``depth_raw`` if None);
- ``distill``: prompt-free monocular metric depth; ``depth_raw`` and ``prompt`` are ignored.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import torch

from depthcur.curate.shards.manifest import sha256_of
from depthcur.schemas import Intrinsics

from . import checkpoint as ckpt
from .config import TrainConfig, config_from_dict
from .device import torch_device
from .models.metric_anything import is_student_state_dict, unwrap_state_dict
from .stages import Stage, stage_class


def inference_size(height: int, width: int, target_pixels: int, patch: int) -> tuple[int, int]:
    scale = (target_pixels / (height * width)) ** 0.5
    return (max(patch, int(round(height * scale / patch)) * patch), max(patch, int(round(width * scale / patch)) * patch))


@dataclass
class Predictor:
    model: torch.nn.Module
    trained: Stage        # the checkpoint's stage: its config and its own inference step
    name: str
    checkpoint_sha256: str
    device: torch.device
    seed: int = 0

    @property
    def stage(self) -> str:
        return self.trained.name

    @property
    def config(self) -> TrainConfig:
        return self.trained.cfg

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
        ih, iw = inference_size(h, w, crop[0] * crop[1], self.config.model.input_patch)
        rgb_t = torch.from_numpy(cv2.resize(rgb, (iw, ih), interpolation=cv2.INTER_AREA).transpose(2, 0, 1).copy())
        rgb_t = (rgb_t.float() / 255.0)[None].to(self.device)
        out = self.trained.infer(self.model, rgb_t, depth_raw, prompt, np.random.default_rng(self.seed),
                                 fx=K.fx * iw / w)
        depth = out[0].float().cpu().numpy()
        return cv2.resize(depth, (w, h), interpolation=cv2.INTER_LINEAR).astype(np.float32)


def load_predictor(checkpoint_path_or_run_dir: str | Path, device: str | None = None) -> Predictor:
    """Load the newest checkpoint of a run folder (or a given ``.pt``) as a :class:`Predictor`."""
    dev = torch_device(device)
    path = ckpt.latest_checkpoint(Path(checkpoint_path_or_run_dir))
    state = ckpt.load(path)
    if "model_config" in state:   # a released LingBot-Depth checkpoint: an MDM network
        state = stage_class("mdm").run_state_from_released(state)
    elif is_student_state_dict(unwrap_state_dict(state)):   # a released MetricAnything Student-DepthMap
        state = stage_class("distill").run_state_from_released(unwrap_state_dict(state))
    for field in ("stage", "config", "model"):
        if field not in state:
            raise ValueError(f"checkpoint {path}: field {field!r} is missing; not a depthcur training checkpoint")
    try:
        stage_cls = stage_class(state["stage"])
    except ValueError as exc:
        raise ValueError(f"checkpoint {path}: {exc}") from None
    model = stage_cls.network_from_checkpoint(state).to(dev)
    trained = stage_cls.for_inference(config_from_dict(state["config"]), state.get("extras", {}), dev)
    run_name = path.parent.parent.name if path.parent.name == ckpt.CHECKPOINT_DIR else path.stem
    digest = sha256_of(path)      # streamed: a released checkpoint can be gigabytes
    return Predictor(model=model, trained=trained, name=f"{state['stage']}:{run_name}@{state.get('step', 0)}",
                     checkpoint_sha256=digest, device=dev)
