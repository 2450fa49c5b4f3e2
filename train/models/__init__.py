"""Models: DINOv2-named RGB-D ViT, ConvStack and (conditioned) DPT decoders, stage networks."""

from .decoders import ConvStackDecoder, DPTHead
from .networks import MDMNet, PromptNet, StudentNet, count_parameters, dpt_layers
from .vit import BackboneSpec, DinoBackbone, RGBDViT, dinov2_key_shapes, load_dinov2_weights

__all__ = ["BackboneSpec", "DinoBackbone", "RGBDViT", "ConvStackDecoder", "DPTHead", "MDMNet", "PromptNet",
           "StudentNet", "count_parameters", "dpt_layers", "dinov2_key_shapes", "load_dinov2_weights"]
