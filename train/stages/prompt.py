"""Sparse-prompt pretraining (MetricAnything §3.2).

Each image gets N ~ U[2000, 40000] valid GT pixels at 1536 x 1536 (scaled by pixel count) as
the metric prompt. A prior depth P_d from a pluggable monocular model (``depthcur.train.priors``:
``--prompt-prior`` with ``--prior PATH``; flat when none is given, which is logged) is aligned
to it with GMDR and PDSA as Prior Depth Anything defines them; the conditioned DPT head sees
[PDSA, GMDR, mask].
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from ..augment import TrainItem
from ..losses import prompt_loss_native
from ..models import PromptNet
from ..models.metric_anything import MetricAnythingTeacher
from ..priors import PriorModel, prior_for_training, prior_from_saved
from ..prompts import prompt_count, prompt_input, sample_prompt
from .base import Stage, collate, native_targets


def make_prompt_inputs(prior: np.ndarray, sparse_sources: list[np.ndarray], cfg, rng: np.random.Generator,
                       counts: list[int] | None = None) -> np.ndarray:
    """(B,3,H,W) [PDSA, GMDR, mask] from priors and the depth maps prompts are sampled from."""
    out = []
    for i, (pri, src) in enumerate(zip(prior, sparse_sources)):
        h, w = src.shape
        n = counts[i] if counts else prompt_count(cfg.prompt, h, w, rng)
        prompt = sample_prompt(src, n, rng)
        if not ((prompt > 0) & (pri > 0)).any():     # nothing to align to: the prior as it is
            out.append(np.stack([pri, pri, (prompt > 0).astype(np.float32)]))
            continue
        out.append(prompt_input(pri, prompt, cfg.prompt.pdsa_neighbours))
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
        self.prior = prior or PriorModel()

    @classmethod
    def for_training(cls, cfg, *, prior=None):
        return cls(cfg, prior_for_training(cfg.prompt.prior, prior))

    @classmethod
    def for_inference(cls, cfg, extras, device):
        """A depthcur prior network travels inside a prompt checkpoint; Depth Pro is reloaded from its path."""
        return cls(cfg, prior_from_saved(extras.get("prior")).to(device))

    def build_model(self) -> PromptNet | MetricAnythingTeacher:
        m = self.cfg.model
        if m.network == "multires":
            return MetricAnythingTeacher(m.multires_spec())
        return PromptNet(m.backbone_spec(), m.dpt_features, m.prompt_width, m.prompt_blocks)

    def move_to(self, device: torch.device) -> None:
        self.prior.to(device)   # it takes CPU batches and returns numpy: only where it runs changes

    def prepare(self, items: list[TrainItem], rng: np.random.Generator) -> dict[str, torch.Tensor]:
        batch = collate(items)
        prior = self.prior(batch["rgb"])
        batch["prompt"] = torch.from_numpy(make_prompt_inputs(prior, [it.depth_gt for it in items], self.cfg, rng))
        batch.update(native_targets(items))   # the loss is taken at each dataset's own resolution
        return batch

    def predict(self, model, batch):
        return model(batch["rgb"], batch["prompt"], fx=batch["fx"])

    def loss(self, model, batch):
        pred = self.predict(model, batch)
        p = self.cfg.prompt
        return prompt_loss_native(pred.float(), batch["depth_gt_native"], batch["native_shape"], batch["gt_rendered"],
                                  p.alpha_mae, p.beta_ssi).mean()

    def checkpoint_extras(self) -> dict[str, Any]:
        return {"prior": self.prior.source}

    def infer(self, model, rgb, depth_raw, prompt, rng, fx=None):
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
        cond = torch.from_numpy(prompt_input(prior, small, self.cfg.prompt.pdsa_neighbours))[None].to(rgb.device)
        return model(rgb, cond, fx=fx)
