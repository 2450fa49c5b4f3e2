"""Distillation (MetricAnything §3.3): a prompt-free student on teacher label shards.

``DistillStage`` trains the student with gamma * distance-balanced loss + delta * SSI-MAGE, both
on D_log = 1 - ln(D)/ln(C). The teacher labels are made first by
``depthcur.train.teacher_labels.label_shards`` (it runs inference, which builds on the stages).
"""

from __future__ import annotations

from ..losses import distill_loss
from ..models import StudentNet
from .base import Stage


class DistillStage(Stage):
    name = "distill"
    trains_on_teacher_labels = True

    def build_model(self) -> StudentNet:
        return StudentNet(self.cfg.model.backbone_spec(), self.cfg.model.dpt_features)

    def predict(self, model, batch):
        return model(batch["rgb"])

    def loss(self, model, batch):
        pred = self.predict(model, batch)
        gt = batch["depth_gt"]
        d = self.cfg.distill
        return distill_loss(pred.float(), gt, gt > 0, d.log_base, d.gamma_balanced, d.delta_ssi).mean()

    def infer(self, model, rgb, depth_raw, prompt, rng):
        """Prompt-free monocular metric depth: ``depth_raw`` and ``prompt`` are ignored."""
        return model(rgb)
