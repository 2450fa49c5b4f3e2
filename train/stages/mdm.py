"""Masked Depth Modeling (LingBot-Depth §2) on the released network: RGB-D ViT, ConvStack neck, depth
and mask heads (:class:`~depthcur.train.models.lingbot.LingbotDepth`). The presets are configs of that
network; ``--init-from`` starts from a released checkpoint. Loss: L1 on valid GT depth plus binary
cross-entropy of the mask head against the valid-GT mask."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import torch
import torch.nn.functional as F

from depthcur.curate.torch_files import load_weights_only

from .. import checkpoint as ckpt
from ..augment import TrainItem
from ..config import ModelConfig, TrainConfig, config_from_dict, preset_config
from ..losses import l1_valid
from ..masking import depth_token_mask
from ..models import dpt_layers
from ..models.lingbot import DEFAULT_NUM_TOKENS_RANGE, LingbotDepth, lingbot_from_state, token_grid
from .base import Stage, collate

#: residual blocks per level, coarse to fine, of the neck and of each head (as the released models)
NECK_BLOCKS = (0, 2, 2, 2, 0)
HEAD_BLOCKS = (0, 1, 1, 1, 0)


def network_config(m: ModelConfig) -> dict[str, Any]:
    """The ``model_config`` of a preset: the released layout at the preset's sizes."""
    channels = list(m.decoder_channels)
    registers = m.num_register_tokens > 0
    backbone = {"embed_dim": m.embed_dim, "depth": m.depth, "num_heads": m.num_heads, "mlp_ratio": m.mlp_ratio,
                "patch_size": m.patch_size, "pos_grid": m.pos_grid, "num_register_tokens": m.num_register_tokens,
                # DINOv2's resize: a scale factor with offset 0.1, or the exact size with antialiasing (registers)
                "interpolate_offset": 0.0 if registers else 0.1, "interpolate_antialias": registers}
    stack = {"dim_res_blocks": channels, "res_block_in_norm": "none", "res_block_hidden_norm": "none",
             "resamplers": ["conv_transpose"] * 3 + ["bilinear"]}
    head = {**stack, "dim_in": channels, "dim_out": [None] * 4 + [1], "num_res_blocks": list(HEAD_BLOCKS)}
    return {
        "encoder": {"backbone": backbone, "intermediate_layers": list(m.intermediate_layers or dpt_layers(m.depth)),
                    "dim_out": m.embed_dim},   # the cls token is added to the summed projections
        "neck": {**stack, "dim_in": [m.embed_dim + 2] + [2] * 4, "dim_out": None, "num_res_blocks": list(NECK_BLOCKS)},
        "depth_head": head, "mask_head": head, "remap_depth_in": "log", "remap_depth_out": "exp",
        "depth_prior": m.depth_prior,
    }


def network_to_start_from(path: str) -> dict[str, Any]:
    """``{"model", "model_config"}`` of a released checkpoint, or of a depthcur MDM run or checkpoint."""
    file = ckpt.latest_checkpoint(Path(path))
    state = load_weights_only(file, "--init-from")
    if isinstance(state, Mapping) and "model_config" in state:
        return dict(state)
    if isinstance(state, Mapping) and state.get("stage") == "mdm" and "model_config" in state.get("extras", {}):
        return {"model": state["model"], "model_config": state["extras"]["model_config"]}
    raise ValueError(f"--init-from {file}: neither a LingBot-Depth checkpoint ('model' + 'model_config') nor a "
                     f"depthcur MDM checkpoint")


class MDMStage(Stage):
    name = "mdm"

    def __init__(self, cfg: TrainConfig, model_config: Mapping[str, Any] | None = None):
        super().__init__(cfg)
        self.model_config = dict(model_config) if model_config is not None else network_config(cfg.model)
        self.initial: dict[str, Any] | None = None   # what --init-from loaded
        self.initial_source = ""

    def start_from(self, path: str) -> None:
        self.initial = network_to_start_from(path)
        self.initial_source = f"--init-from {path}"
        self.model_config = dict(self.initial["model_config"])

    @classmethod
    def run_state_from_released(cls, state: Mapping[str, Any]) -> dict[str, Any]:
        """A released checkpoint as the contents of a depthcur MDM checkpoint: the large preset, with a
        crop of the model's largest token budget (the pixel count evaluation resizes inputs to)."""
        low, high = state["model_config"].get("num_tokens_range", DEFAULT_NUM_TOKENS_RANGE)
        rows, cols = token_grid(int(high), 3, 4)
        cfg = preset_config("large")
        cfg.data.crop = (rows * cfg.model.patch_size, cols * cfg.model.patch_size)
        return {"stage": cls.name, "config": cfg.to_dict(), "model": state["model"],
                "extras": {"model_config": dict(state["model_config"])}}

    @classmethod
    def for_inference(cls, cfg, extras, device):
        return cls(cfg, extras.get("model_config"))

    @classmethod
    def network_from_checkpoint(cls, state: dict[str, Any]) -> LingbotDepth:
        config = state.get("extras", {}).get("model_config") or network_config(config_from_dict(state["config"]).model)
        return lingbot_from_state({"model": state["model"], "model_config": config}, "MDM checkpoint")

    def build_model(self) -> LingbotDepth:
        if self.initial is not None:
            return lingbot_from_state(self.initial, self.initial_source).train()
        return LingbotDepth(**self.model_config)

    def checkpoint_extras(self) -> dict[str, Any]:
        return {"model_config": self.model_config}

    def prepare(self, items: list[TrainItem], rng: np.random.Generator) -> dict[str, torch.Tensor]:
        """Draw the step's token budget, then mask depth tokens on the grid the network will use."""
        batch = collate(items)
        patch = self.cfg.model.patch_size
        height, width = batch["rgb"].shape[2:]
        low, high = self.cfg.model.num_tokens_range
        num_tokens = int(rng.integers(low, high + 1)) if high > 0 else (height // patch) * (width // patch)
        rows, cols = token_grid(num_tokens, height, width)
        grid_depth = F.interpolate(batch["depth_raw"][:, None], (rows * patch, cols * patch), mode="nearest")[:, 0]
        masks = [depth_token_mask(depth, patch, self.cfg.mask, rng) for depth in grid_depth.numpy()]
        batch["depth_mask"] = torch.from_numpy(np.stack(masks))
        batch["num_tokens"] = torch.tensor(num_tokens)
        return batch

    def _forward(self, model, batch) -> dict[str, torch.Tensor]:
        return model(batch["rgb"], batch["depth_raw"], int(batch["num_tokens"]), batch["depth_mask"])

    def predict(self, model, batch):
        return self._forward(model, batch)["depth"]

    def loss(self, model, batch):
        out = self._forward(model, batch)
        gt = batch["depth_gt"]
        valid = gt > 0
        loss = l1_valid(out["depth"].float(), gt, valid).mean()
        if "mask_logits" in out:   # the mask head learns where ground truth exists (as MoGe's)
            loss = loss + F.binary_cross_entropy_with_logits(out["mask_logits"].float(), valid.float())
        return loss

    def infer(self, model, rgb, depth_raw, prompt, rng, fx=None):
        """Depth completion at the input's own token grid; the network drops the depth tokens without a
        valid pixel (monocular when there is none)."""
        height, width = rgb.shape[-2:]
        patch = model.patch_size
        if depth_raw is None:
            depth = torch.zeros(1, height, width)
        else:
            raw = np.asarray(depth_raw, np.float32)
            depth = torch.from_numpy(cv2.resize(raw, (width, height), interpolation=cv2.INTER_NEAREST))[None]
        return model(rgb, depth.to(rgb.device), (height // patch) * (width // patch))["depth"]
