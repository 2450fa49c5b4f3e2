"""What a training stage supplies to the shared loop: its network, batch preparation and loss."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn

from ..augment import TrainItem
from ..config import TrainConfig


def collate(items: list[TrainItem]) -> dict[str, torch.Tensor]:
    """Stack training items into (B, ...) tensors shared by every stage."""
    return {
        "rgb": torch.from_numpy(np.stack([it.rgb for it in items])),
        "depth_raw": torch.from_numpy(np.stack([it.depth_raw for it in items])),
        "depth_gt": torch.from_numpy(np.stack([it.depth_gt for it in items])),
        "is_synthetic": torch.tensor([it.is_synthetic for it in items]),
    }


class Stage:
    """Subclasses: ``mdm``, ``prompt``, ``distill``."""

    name = "base"

    def __init__(self, cfg: TrainConfig):
        self.cfg = cfg

    def build_model(self) -> nn.Module:
        raise NotImplementedError

    def prepare(self, items: list[TrainItem], rng: np.random.Generator) -> dict[str, torch.Tensor]:
        """CPU tensors for one step; ``rng`` derives from (seed, step) so resume replays it."""
        return collate(items)

    def predict(self, model: nn.Module, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        """(B, H, W) metric depth for a prepared batch."""
        raise NotImplementedError

    def loss(self, model: nn.Module, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        raise NotImplementedError

    def checkpoint_extras(self) -> dict[str, Any]:
        """Extra state the inference side needs (e.g. the prompt stage's prior model)."""
        return {}
