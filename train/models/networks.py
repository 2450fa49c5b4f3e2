"""The prompt-conditioned teacher and the student (the MDM network is ``lingbot.LingbotDepth``)."""

from __future__ import annotations

import torch
from torch import nn

from .decoders import DPTHead
from .depth_prior import depth_to_log_input
from .vit import BackboneSpec, RGBDViT

#: what the ViT + DPT networks' forward never uses, kept so that DINOv2 and DPT weights load by name:
#: the ViT's mask token (no token is masked here) and the skip unit of the coarsest fusion block
#: (the path starts there, so it has no skip). DDP must be told (``find_unused_parameters``).
DPT_UNUSED_PARAMETERS = ("encoder.backbone.mask_token", "decoder.fusion.3.skip_unit.")

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def normalize_rgb(rgb: torch.Tensor) -> torch.Tensor:
    """(B,3,H,W) in [0,1] -> ImageNet-normalised, as DINOv2 was trained."""
    mean = rgb.new_tensor(IMAGENET_MEAN)[None, :, None, None]
    std = rgb.new_tensor(IMAGENET_STD)[None, :, None, None]
    return (rgb - mean) / std


def dpt_layers(depth: int) -> tuple[int, ...]:
    """Four evenly spaced block indices, shallow to deep, ending at the last block."""
    return tuple(max(0, round(depth * f) - 1) for f in (0.25, 0.5, 0.75, 1.0))


class PromptNet(nn.Module):
    """RGB ViT + DPT head conditioned on the 3-channel [PDSA, GMDR, mask] prompt."""

    stage = "prompt"
    #: names (or name prefixes) of parameters that get no gradient
    unused_parameters = DPT_UNUSED_PARAMETERS

    def __init__(self, spec: BackboneSpec, dpt_features: int, prompt_width: int = 0, prompt_blocks: int = 3):
        super().__init__()
        self.encoder = RGBDViT(spec, use_depth=False)
        self.decoder = DPTHead(spec.embed_dim, dpt_features, prompt_channels=3, prompt_width=prompt_width,
                               prompt_blocks=prompt_blocks)
        self.layers = dpt_layers(spec.depth)

    def forward(self, rgb: torch.Tensor, prompt: torch.Tensor, fx: torch.Tensor | None = None) -> torch.Tensor:
        """``prompt``: (B,3,H,W) = [PDSA depth, GMDR depth, prompt mask] in metres / {0,1}. ``fx`` is
        unused: this network predicts metric depth directly (the multires ones scale by width / fx)."""
        h, w = rgb.shape[2:]
        enc = self.encoder(normalize_rgb(rgb), layers=self.layers)
        cond = torch.cat([depth_to_log_input(prompt[:, :2]), prompt[:, 2:]], 1)
        return self.decoder(enc.rgb_tokens, enc.cls_tokens, enc.grid, (h, w), cond)


class StudentNet(nn.Module):
    """Prompt-free RGB ViT + DPT head with inverted skips (deep features nearest the output)."""

    stage = "distill"
    #: names (or name prefixes) of parameters that get no gradient
    unused_parameters = DPT_UNUSED_PARAMETERS

    def __init__(self, spec: BackboneSpec, dpt_features: int):
        super().__init__()
        self.encoder = RGBDViT(spec, use_depth=False)
        self.decoder = DPTHead(spec.embed_dim, dpt_features, inverted_skips=True)
        self.layers = dpt_layers(spec.depth)

    def forward(self, rgb: torch.Tensor, fx: torch.Tensor | None = None) -> torch.Tensor:
        """``fx`` is unused (see ``PromptNet.forward``)."""
        h, w = rgb.shape[2:]
        enc = self.encoder(normalize_rgb(rgb), layers=self.layers)
        return self.decoder(enc.rgb_tokens, enc.cls_tokens, enc.grid, (h, w))


def count_parameters(module: nn.Module, contains: str = "") -> int:
    return sum(p.numel() for n, p in module.named_parameters() if contains in n)
