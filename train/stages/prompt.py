"""Sparse-prompt pretraining (MetricAnything §3.2).

Each image gets N ~ U[2000, 40000] (scaled to the resolution) valid GT pixels as the metric
prompt. A prior depth from a monocular model (the MDM model with every depth token masked,
given with ``--prior``) is aligned to it with GMDR and PDSA; the conditioned DPT head sees
[PDSA, GMDR, mask]. Without a prior, a flat prior is used (then PDSA is a smooth
interpolation of the prompt), which is logged.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from depthcur.core.progress import get_logger

from ..augment import TrainItem
from ..losses import prompt_loss
from ..models import PromptNet
from ..prompts import prompt_count, prompt_input, sample_prompt
from .base import Stage, collate
from .mdm import MDMStage

log = get_logger(__name__)


class PriorModel:
    """A monocular depth prior: an MDM checkpoint run with every depth token masked."""

    def __init__(self, model: torch.nn.Module | None, source: dict[str, Any] | None = None):
        self.model = model
        self.source = source  # checkpoint contents needed to rebuild it (saved into prompt checkpoints)

    @classmethod
    def from_checkpoint(cls, path: str | None) -> "PriorModel":
        if not path:
            log.warning("prompt stage: no --prior given; using a flat prior (PDSA interpolates the prompt)")
            return cls(None)
        from .. import checkpoint as ckpt

        state = ckpt.load(ckpt.latest_checkpoint(path))
        if state.get("stage") != "mdm":
            raise ValueError(f"--prior {path}: expected an MDM checkpoint, got stage {state.get('stage')!r}")
        model = MDMStage.network_from_checkpoint(state)
        return cls(model, {"stage": "mdm", "config": state["config"], "model": state["model"],
                           "extras": state.get("extras", {})})

    @classmethod
    def from_saved(cls, saved: dict[str, Any] | None) -> "PriorModel":
        if not saved:
            return cls(None)
        return cls(MDMStage.network_from_checkpoint(saved), saved)

    @torch.no_grad()
    def __call__(self, rgb: torch.Tensor) -> np.ndarray:
        """(B,3,H,W) in [0,1] -> (B,H,W) prior depth, metres up to scale."""
        if self.model is None:
            return np.ones((rgb.shape[0], rgb.shape[2], rgb.shape[3]), np.float32)
        self.model.eval()
        rgb = rgb.to(next(self.model.parameters()).device)
        return self.model(rgb)["depth"].float().cpu().numpy()   # no depth: every depth token dropped


def make_prompt_inputs(prior: np.ndarray, sparse_sources: list[np.ndarray], cfg, rng: np.random.Generator,
                       counts: list[int] | None = None) -> np.ndarray:
    """(B,3,H,W) [PDSA, GMDR, mask] from priors and the depth maps prompts are sampled from."""
    out = []
    for i, (pri, src) in enumerate(zip(prior, sparse_sources)):
        h, w = src.shape
        n = counts[i] if counts else prompt_count(cfg.prompt, h, w, rng)
        prompt = sample_prompt(src, n, rng)
        if not (prompt > 0).any():
            out.append(np.stack([pri, pri, np.zeros_like(pri)]))
            continue
        out.append(prompt_input(pri, prompt, cfg.prompt.pdsa_sigma))
    return np.stack(out).astype(np.float32)


def downsample_sparse(prompt: np.ndarray, height: int, width: int) -> np.ndarray:
    """Move each prompt pixel to its nearest cell of the smaller grid (no pixel is lost or blended)."""
    h, w = prompt.shape
    ys, xs = np.nonzero(prompt > 0)
    out = np.zeros((height, width), np.float32)
    ty = np.clip(((ys + 0.5) * height / h).astype(int), 0, height - 1)
    tx = np.clip(((xs + 0.5) * width / w).astype(int), 0, width - 1)
    out[ty, tx] = prompt[ys, xs]
    return out


class PromptStage(Stage):
    name = "prompt"

    def __init__(self, cfg, prior: PriorModel | None = None):
        super().__init__(cfg)
        self.prior = prior or PriorModel(None)

    @classmethod
    def for_training(cls, cfg, *, prior=None):
        return cls(cfg, PriorModel.from_checkpoint(prior))

    @classmethod
    def for_inference(cls, cfg, extras, device):
        """The MDM prior travels inside a prompt checkpoint."""
        prior = PriorModel.from_saved(extras.get("prior"))
        if prior.model is not None:
            prior.model.to(device)
        return cls(cfg, prior)

    def build_model(self) -> PromptNet:
        m = self.cfg.model
        return PromptNet(m.backbone_spec(), m.dpt_features, m.prompt_width, m.prompt_blocks)

    def prepare(self, items: list[TrainItem], rng: np.random.Generator) -> dict[str, torch.Tensor]:
        batch = collate(items)
        prior = self.prior(batch["rgb"])
        batch["prompt"] = torch.from_numpy(make_prompt_inputs(prior, [it.depth_gt for it in items], self.cfg, rng))
        return batch

    def predict(self, model, batch):
        return model(batch["rgb"], batch["prompt"])

    def loss(self, model, batch):
        pred = self.predict(model, batch)
        gt = batch["depth_gt"]
        p = self.cfg.prompt
        return prompt_loss(pred.float(), gt, gt > 0, batch["is_synthetic"], p.alpha_mae, p.beta_ssi).mean()

    def checkpoint_extras(self) -> dict[str, Any]:
        return {"prior": self.prior.source}

    def infer(self, model, rgb, depth_raw, prompt, rng):
        """Metric depth conditioned on ``prompt``, or on one sampled from ``depth_raw`` when it is None."""
        height, width = rgb.shape[-2:]
        if prompt is None:
            if depth_raw is None or not (depth_raw > 0).any():
                raise ValueError("predict: the prompt stage needs a prompt or a depth_raw with valid pixels")
            prompt = sample_prompt(np.asarray(depth_raw, np.float32),
                                   prompt_count(self.cfg.prompt, *depth_raw.shape, rng), rng)
        if not (prompt > 0).any():
            raise ValueError("predict: the prompt has no valid (> 0) pixel")
        small = downsample_sparse(np.asarray(prompt, np.float32), height, width)
        prior = self.prior(rgb)[0]
        cond = torch.from_numpy(prompt_input(prior, small, self.cfg.prompt.pdsa_sigma))[None].to(rgb.device)
        return model(rgb, cond)
