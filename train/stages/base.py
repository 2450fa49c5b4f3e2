"""What a training stage supplies to the shared loop (its network, batch preparation and loss)
and to inference (how one image runs through its trained network)."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import torch
from torch import nn

from ..augment import TrainItem
from ..config import TrainConfig, config_from_dict


def collate(items: list[TrainItem]) -> dict[str, torch.Tensor]:
    """Stack training items into (B, ...) tensors shared by every stage."""
    return {
        "rgb": torch.from_numpy(np.stack([it.rgb for it in items])),
        "depth_raw": torch.from_numpy(np.stack([it.depth_raw for it in items])),
        "depth_gt": torch.from_numpy(np.stack([it.depth_gt for it in items])),
        "is_synthetic": torch.tensor([it.is_synthetic for it in items]),
    }


class Stage:
    """Subclasses: ``mdm``, ``prompt``, ``distill`` (named in ``depthcur.train.stages.STAGES``)."""

    name: ClassVar[str] = "base"
    #: the run first labels its --data with a --teacher checkpoint and trains on those labels
    trains_on_teacher_labels: ClassVar[bool] = False

    def __init__(self, cfg: TrainConfig):
        self.cfg = cfg

    @classmethod
    def for_training(cls, cfg: TrainConfig, *, prior: str | None = None) -> "Stage":
        """The stage a run trains; ``prior`` is the --prior run or checkpoint, for stages that use one."""
        return cls(cfg)

    def start_from(self, path: str) -> None:
        """Train on from all weights of the network in ``path`` (``--init-from``)."""
        raise ValueError(f"--init-from {path}: only 'train mdm' starts from a whole network")

    @classmethod
    def for_inference(cls, cfg: TrainConfig, extras: dict[str, Any], device: torch.device) -> "Stage":
        """The stage of a checkpoint, with what its ``checkpoint_extras`` saved, ready on ``device``."""
        return cls(cfg)

    @classmethod
    def network_from_checkpoint(cls, state: dict[str, Any]) -> nn.Module:
        """The trained network of checkpoint contents (``config``, ``model``), in eval mode."""
        model = cls(config_from_dict(state["config"])).build_model()
        model.load_state_dict(state["model"])
        return model.eval()

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

    def infer(self, model: nn.Module, rgb: torch.Tensor, depth_raw: np.ndarray | None, prompt: np.ndarray | None,
              rng: np.random.Generator) -> torch.Tensor:
        """(1, h, w) metric depth of one image: ``rgb`` (1, 3, h, w) in [0, 1] at the network's input size,
        ``depth_raw`` and ``prompt`` (metres, 0 = none) at the caller's size."""
        raise NotImplementedError
