"""The DPT head (with optional prompt injection) of the prompt and distill networks, and the UV map
the MDM network's ConvStack (``lingbot.py``) takes at every level.

The DPT head ends in a positive metric depth map at the input resolution: it predicts log
depth, which keeps the output positive and makes near and far errors comparable in scale.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def uv_grid(height: int, width: int, aspect: float, like: torch.Tensor) -> torch.Tensor:
    """(1, 2, H, W) normalised image-plane coordinates, aspect-aware as in MoGe."""
    span_x = aspect / (1 + aspect ** 2) ** 0.5
    span_y = 1 / (1 + aspect ** 2) ** 0.5
    u = torch.linspace(-span_x * (width - 1) / width, span_x * (width - 1) / width, width,
                       device=like.device, dtype=like.dtype)
    v = torch.linspace(-span_y * (height - 1) / height, span_y * (height - 1) / height, height,
                       device=like.device, dtype=like.dtype)
    vv, uu = torch.meshgrid(v, u, indexing="ij")
    return torch.stack([uu, vv])[None]


class ResidualConvBlock(nn.Module):
    def __init__(self, channels: int):
        super().__init__()
        groups = max(1, channels // 32) if channels % 32 == 0 else 1
        self.body = nn.Sequential(
            nn.GroupNorm(groups, channels), nn.ReLU(), nn.Conv2d(channels, channels, 3, padding=1),
            nn.GroupNorm(groups, channels), nn.ReLU(), nn.Conv2d(channels, channels, 3, padding=1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


def log_depth_to_metric(log_depth: torch.Tensor) -> torch.Tensor:
    return torch.exp(log_depth.clamp(-8.0, 8.0))


class FeatureFusionBlock(nn.Module):
    """DPT refinement: add the skip (after a residual unit), residual unit, upsample x2."""

    def __init__(self, channels: int):
        super().__init__()
        self.skip_unit = ResidualConvBlock(channels)
        self.out_unit = ResidualConvBlock(channels)
        self.out_conv = nn.Conv2d(channels, channels, 1)

    def forward(self, x: torch.Tensor, skip: torch.Tensor | None, size: tuple[int, int]) -> torch.Tensor:
        if skip is not None:
            x = x + self.skip_unit(skip)
        x = self.out_unit(x)
        return self.out_conv(F.interpolate(x, size=size, mode="bilinear", align_corners=False))


class DPTHead(nn.Module):
    """DPT head over four ViT layers, optionally conditioned on a prompt image.

    ``inverted_skips=True`` is the prompt-free student's layout: the deepest ViT features are
    reassembled at the finest scale and feed the fusion blocks nearest the output.
    ``prompt_channels>0`` adds a prompt encoder whose features enter every fusion stage
    through zero-initialised 1x1 convs, so the conditioned head starts as the plain head.
    """

    def __init__(self, embed_dim: int, features: int = 64, inverted_skips: bool = False,
                 prompt_channels: int = 0, prompt_width: int = 0, prompt_blocks: int = 3):
        super().__init__()
        self.inverted_skips = inverted_skips
        self.scales = (4.0, 2.0, 1.0, 0.5)  # resize factors of the token grid, finest first
        self.reassemble = nn.ModuleList(nn.Sequential(nn.Conv2d(embed_dim, features, 1),
                                                      nn.Conv2d(features, features, 3, padding=1))
                                        for _ in self.scales)
        self.fusion = nn.ModuleList(FeatureFusionBlock(features) for _ in self.scales)
        self.head = nn.Sequential(nn.Conv2d(features, features // 2, 3, padding=1), nn.ReLU(),
                                  nn.Conv2d(features // 2, 32, 3, padding=1), nn.ReLU(), nn.Conv2d(32, 1, 1))
        nn.init.zeros_(self.head[-1].weight)
        nn.init.constant_(self.head[-1].bias, 0.7)
        self.prompt_channels = prompt_channels
        if prompt_channels:
            width = prompt_width or features
            # a conv encoder per fusion scale; sized so the branch adds ~5% to a ViT-L model
            self.prompt_encoder = nn.ModuleList(
                nn.Sequential(nn.Conv2d(prompt_channels, width, 3, padding=1), nn.ReLU(),
                              *(ResidualConvBlock(width) for _ in range(prompt_blocks)))
                for _ in self.scales)
            self.prompt_inject = nn.ModuleList(nn.Conv2d(width, features, 1) for _ in self.scales)
            for conv in self.prompt_inject:
                nn.init.zeros_(conv.weight)
                nn.init.zeros_(conv.bias)

    def forward(self, layer_tokens: list[torch.Tensor], cls_tokens: list[torch.Tensor], grid: tuple[int, int],
                out_size: tuple[int, int], prompt: torch.Tensor | None = None) -> torch.Tensor:
        """``layer_tokens``: 4 tensors (B, N, C), shallow to deep. ``prompt``: (B, P, H, W)."""
        if self.prompt_channels and prompt is None:
            raise ValueError("this DPT head is prompt-conditioned: pass the [PDSA, GMDR, mask] prompt")
        gh, gw = grid
        b = layer_tokens[0].shape[0]
        ordered = list(zip(layer_tokens, cls_tokens))
        if self.inverted_skips:
            ordered = ordered[::-1]
        maps = []
        for (tok, cls), scale, reassemble in zip(ordered, self.scales, self.reassemble):
            x = (tok + cls[:, None]).transpose(1, 2).reshape(b, -1, gh, gw)
            size = (max(1, round(gh * scale)), max(1, round(gw * scale)))
            maps.append(reassemble(F.interpolate(x, size=size, mode="bilinear", align_corners=False)))
        if self.prompt_channels:
            for i, (enc, inject) in enumerate(zip(self.prompt_encoder, self.prompt_inject)):
                p = F.interpolate(prompt, size=maps[i].shape[2:], mode="area")
                maps[i] = maps[i] + inject(enc(p))
        # coarse to fine: the coarsest map starts the path, each finer map is a skip
        x = None
        for i in reversed(range(len(maps))):
            target = maps[i - 1].shape[2:] if i > 0 else (maps[0].shape[2] * 2, maps[0].shape[3] * 2)
            x = self.fusion[i](maps[i] if x is None else x, None if x is None else maps[i], tuple(target))
        log_depth = F.interpolate(self.head(x), size=out_size, mode="bilinear", align_corners=False)
        return log_depth_to_metric(log_depth)[:, 0]
