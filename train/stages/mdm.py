"""Masked Depth Modeling (LingBot-Depth §2): RGB-D ViT + ConvStack, L1 on valid GT."""

from __future__ import annotations

import cv2
import numpy as np
import torch

from ..augment import TrainItem
from ..losses import l1_valid
from ..masking import depth_token_mask, sensor_hole_mask
from ..models import MDMNet
from .base import Stage, collate


class MDMStage(Stage):
    name = "mdm"

    def build_model(self) -> MDMNet:
        m = self.cfg.model
        return MDMNet(m.backbone_spec(), m.decoder_channels, m.depth_prior)

    def prepare(self, items: list[TrainItem], rng: np.random.Generator) -> dict[str, torch.Tensor]:
        batch = collate(items)
        patch = self.cfg.model.patch_size
        masks = [depth_token_mask(it.depth_raw, patch, self.cfg.mask, rng) for it in items]
        batch["depth_mask"] = torch.from_numpy(np.stack(masks))
        return batch

    def predict(self, model, batch):
        return model(batch["rgb"], batch["depth_raw"], batch["depth_mask"])

    def loss(self, model, batch):
        pred = self.predict(model, batch)
        gt = batch["depth_gt"]
        return l1_valid(pred.float(), gt, gt > 0).mean()

    def infer(self, model, rgb, depth_raw, prompt, rng):
        """Depth completion: only the sensor's empty patches are masked; monocular without valid depth."""
        if depth_raw is None or not (depth_raw > 0).any():
            return model(rgb, None, None)
        height, width = rgb.shape[-2:]
        raw = cv2.resize(np.asarray(depth_raw, np.float32), (width, height), interpolation=cv2.INTER_NEAREST)
        hole_mask = sensor_hole_mask(raw, self.cfg.model.patch_size)
        return model(rgb, torch.from_numpy(raw)[None].to(rgb.device), torch.from_numpy(hole_mask)[None].to(rgb.device))
