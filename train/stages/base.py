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
        "fx": torch.tensor([it.K.fx for it in items], dtype=torch.float32),   # px, at the crop's size
        "gt_rendered": torch.tensor([it.gt_rendered for it in items]),
    }


def native_targets(items: list[TrainItem]) -> dict[str, torch.Tensor]:
    """Each item's depth_gt at the dataset's resolution, zero-padded (0 = invalid) to the largest in the
    batch, ``depth_gt_native`` (B, H, W), with each one's (height, width), ``native_shape`` (B, 2)."""
    shapes = [it.depth_gt_native.shape for it in items]
    height, width = max(h for h, _ in shapes), max(w for _, w in shapes)
    padded = np.zeros((len(items), height, width), np.float32)
    for i, it in enumerate(items):
        padded[i, :shapes[i][0], :shapes[i][1]] = it.depth_gt_native
    return {"depth_gt_native": torch.from_numpy(padded), "native_shape": torch.tensor(shapes, dtype=torch.int64)}


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

    def move_to(self, device: torch.device) -> None:
        """Put the networks the stage runs besides the trained one (the prompt stage's prior) on the
        training ``device``."""

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
              rng: np.random.Generator, fx: float | None = None) -> torch.Tensor:
        """(1, h, w) metric depth of one image: ``rgb`` (1, 3, h, w) in [0, 1] at the network's input size,
        ``depth_raw`` and ``prompt`` (metres, 0 = none) at the caller's size; ``fx`` the focal length in
        pixels at ``rgb``'s size, when known (the multires networks scale their output by width / fx)."""
        raise NotImplementedError
