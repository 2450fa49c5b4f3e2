"""Distillation (MetricAnything §3.3): a prompt-free student on teacher label shards.

``DistillStage`` trains the student with gamma * distance-balanced loss + delta * SSI-MAGE, both
on D_log = 1 - ln(D)/ln(C). The teacher labels are made first by
``depthcur.train.teacher_labels.label_shards`` (it runs inference, which builds on the stages).
"""

from __future__ import annotations

from typing import Any, Mapping

import torch

from .. import checkpoint as ckpt
from ..config import config_from_dict, preset_config
from ..losses import distill_loss
from ..models import StudentNet
from ..models.metric_anything import (MetricAnythingStudent, is_student_state_dict, load_student_strictly,
                                      student_from_state_dict, unwrap_state_dict)
from .base import Stage


class DistillStage(Stage):
    name = "distill"
    trains_on_teacher_labels = True

    def __init__(self, cfg):
        super().__init__(cfg)
        self.initial: dict[str, Any] | None = None   # the released student --init-from loaded
        self.initial_source = ""

    def start_from(self, path: str) -> None:
        """Fine-tune a released Student-DepthMap (``--init-from``): the released multires network."""
        file = ckpt.latest_checkpoint(path)
        tensors = unwrap_state_dict(ckpt.load(file))
        if not is_student_state_dict(tensors):
            raise ValueError(f"--init-from {file}: not a MetricAnything Student-DepthMap state dict "
                             f"(no encoder.patch_encoder / encoder.fuse_lowres tensors)")
        self.initial, self.initial_source = dict(tensors), f"--init-from {file}"
        self.cfg.model.network, self.cfg.model.multires, self.cfg.model.vit = "multires", "released", "dinov3"

    @classmethod
    def run_state_from_released(cls, tensors: Mapping[str, Any]) -> dict[str, Any]:
        """A released Student-DepthMap state dict as the contents of a depthcur distill checkpoint, for
        ``depthcur eval --model STUDENT.pt``: the released network, inputs of about 1536 x 1536 pixels."""
        cfg = preset_config("large")
        cfg.model.network, cfg.model.multires, cfg.model.vit = "multires", "released", "dinov3"
        cfg.data.crop = (1536, 1536)
        return {"stage": cls.name, "config": cfg.to_dict(), "model": dict(tensors), "extras": {}}

    @classmethod
    def network_from_checkpoint(cls, state: dict[str, Any]):
        model_cfg = config_from_dict(state["config"]).model
        if model_cfg.network != "multires":
            return super().network_from_checkpoint(state)
        with torch.device("meta"):   # no throw-away initialisation of up to 876M parameters
            model = MetricAnythingStudent(model_cfg.multires_spec())
        return load_student_strictly(model, state["model"], "distill checkpoint").eval()

    def build_model(self) -> StudentNet | MetricAnythingStudent:
        m = self.cfg.model
        if self.initial is not None:
            return student_from_state_dict(self.initial, self.initial_source).train()
        if m.network == "multires":
            return MetricAnythingStudent(m.multires_spec())
        return StudentNet(m.backbone_spec(), m.dpt_features)

    def predict(self, model, batch):
        return model(batch["rgb"], fx=batch["fx"])

    def loss(self, model, batch):
        pred = self.predict(model, batch)
        gt = batch["depth_gt"]
        d = self.cfg.distill
        return distill_loss(pred.float(), gt, gt > 0, d.log_base, d.gamma_balanced, d.delta_ssi).mean()

    def infer(self, model, rgb, depth_raw, prompt, rng, fx=None):
        """Prompt-free monocular metric depth: ``depth_raw`` and ``prompt`` are ignored."""
        return model(rgb, fx=fx)
