"""Models: LingBot-Depth (MDM), DINOv2-named ViT, (conditioned) DPT decoders, stage networks, and
MetricAnything's multi-resolution student/teacher on a DINOv3 (or DINOv2) ViT."""

from .decoders import DPTHead
from .lingbot import LingbotDepth
from .metric_anything import MetricAnythingStudent, MetricAnythingTeacher
from .networks import PromptNet, StudentNet, count_parameters, dpt_layers
from .vit import BackboneSpec, DinoBackbone, RGBDViT, dinov2_key_shapes, load_dinov2_weights

__all__ = ["LingbotDepth", "BackboneSpec", "DinoBackbone", "RGBDViT", "DPTHead", "PromptNet",
           "StudentNet", "MetricAnythingStudent", "MetricAnythingTeacher", "count_parameters", "dpt_layers",
           "dinov2_key_shapes", "load_dinov2_weights"]
