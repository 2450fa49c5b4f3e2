"""MetricAnything's networks on the DepthPro-style multi-resolution encoder/decoder (``depthpro.py``).

- ``MetricAnythingStudent``: encoder + decoder (inverted skips) + head, predicting canonical inverse
  depth; at the released configuration (``RELEASED``: DINOv3 ViT-H+/16, 384 px tiles, hooks at blocks
  7/13/19/25, 1536 px input) its state dict has exactly the keys and shapes of the released
  Student-DepthMap, and ``infer`` follows the official ``infer``: resize to the square input, metric
  inverse depth = canonical x width / f_px (f_px 1000 when not given), resize back, depth =
  1 / clamp(inverse, 1e-3, 1e3).
- ``MetricAnythingTeacher``: the same network plus ``prompt_layers`` (zero-initialised, so a fresh
  teacher computes exactly what its student-shaped part does) that read the 3-channel
  [PDSA, GMDR, mask] prompt and add to every decoder skip.

Small presets (``tiny``, ``small``) keep the same architecture with a narrow, shallow ViT.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Mapping

import torch
import torch.nn.functional as F
from torch import nn

from .depth_prior import depth_to_log_input
from .depthpro import MultiresDecoder, MultiresDims, MultiresEncoder, depth_head, level_sizes
from .dinov3 import VITH16PLUS, DinoV3, DinoV3Spec
from .networks import normalize_rgb
from .vit import BackboneSpec, DinoBackbone

VIT_FAMILIES = ("dinov3", "dinov2")
#: the official clamp of metric inverse depth (metres^-1): depth lies in [1e-3, 1e3] m
INVERSE_DEPTH_RANGE = (1e-3, 1e3)
#: f_px the official ``infer`` assumes when none is given
DEFAULT_F_PX = 1000.0


class DinoV2Tiles(DinoBackbone):
    """DINOv2 (``vit.DinoBackbone`` names) with the ``encode`` the multi-resolution encoder calls."""

    @property
    def embed_dim(self) -> int:
        return self.spec.embed_dim

    @property
    def patch_size(self) -> int:
        return self.spec.patch_size

    def encode(self, x: torch.Tensor, hook_blocks: tuple[int, ...]) -> tuple[torch.Tensor, list[torch.Tensor]]:
        b, _, height, width = x.shape
        rows, cols = height // self.patch_size, width // self.patch_size
        tokens = self.patch_embed(x) + self.patch_pos_embed(rows, cols)
        prefix = [self.cls_token.expand(b, -1, -1) + self.pos_embed[:, :1]]
        if self.register_tokens is not None:
            prefix.append(self.register_tokens.expand(b, -1, -1))
        tokens = torch.cat([*prefix, tokens], 1)
        hooks = []
        for i, block in enumerate(self.blocks):
            tokens = block(tokens)
            if i in hook_blocks:
                hooks.append(tokens)

        def grid(t: torch.Tensor) -> torch.Tensor:
            return t[:, self.num_prefix_tokens:].reshape(b, rows, cols, -1).permute(0, 3, 1, 2)

        return grid(self.norm(tokens)), [grid(t) for t in hooks]


@dataclass(frozen=True)
class MultiresSpec:
    """A multi-resolution network: its ViT, tile size, hook blocks and channel widths."""

    vit: DinoV3Spec | BackboneSpec
    vit_size: int
    hook_blocks: tuple[int, int, int, int]
    dims: MultiresDims = field(default_factory=MultiresDims)
    #: teacher prompt layers: width and residual blocks per decoder level
    prompt_width: int = 64
    prompt_blocks: int = 1

    @property
    def img_size(self) -> int:
        return 4 * self.vit_size


#: prompt layers of 256 channels, 10 conv blocks per level: 4.8 % of the student's parameters (the paper: ~5 %)
RELEASED = MultiresSpec(VITH16PLUS, 384, (7, 13, 19, 25), MultiresDims(), prompt_width=256, prompt_blocks=10)
MULTIRES_PRESETS: dict[str, MultiresSpec] = {
    "tiny": MultiresSpec(DinoV3Spec(embed_dim=32, depth=4, num_heads=2), 128, (0, 1, 2, 3),
                         MultiresDims(latent=16, full=16, half=16, low=32, decoder=16, head_last=8),
                         prompt_width=8, prompt_blocks=1),
    "small": MultiresSpec(DinoV3Spec(embed_dim=192, depth=8, num_heads=4), 128, (1, 3, 5, 7),
                          MultiresDims(latent=64, full=64, half=64, low=128, decoder=64, head_last=16),
                          prompt_width=32, prompt_blocks=1),
    "released": RELEASED,
}


def multires_spec(preset: str, vit_family: str = "dinov3") -> MultiresSpec:
    """A preset, with its ViT swapped for a DINOv2 of the same width/depth/heads when asked."""
    if preset not in MULTIRES_PRESETS:
        raise ValueError(f"unknown multi-resolution preset {preset!r}: use {', '.join(MULTIRES_PRESETS)}")
    if vit_family not in VIT_FAMILIES:
        raise ValueError(f"unknown ViT family {vit_family!r}: use {', '.join(VIT_FAMILIES)}")
    spec = MULTIRES_PRESETS[preset]
    if vit_family == "dinov2":
        v3 = spec.vit
        patch = 14
        grid = spec.vit_size // v3.patch_size
        vit = BackboneSpec(v3.embed_dim, v3.depth, v3.num_heads, v3.ffn_ratio, patch, pos_grid=grid,
                           num_register_tokens=v3.n_storage_tokens)
        spec = replace(spec, vit=vit, vit_size=grid * patch)
    return spec


def build_vit(spec: DinoV3Spec | BackboneSpec) -> nn.Module:
    return DinoV3(spec) if isinstance(spec, DinoV3Spec) else DinoV2Tiles(spec)


def inverse_to_depth(inverse_depth: torch.Tensor) -> torch.Tensor:
    return 1.0 / inverse_depth.clamp(*INVERSE_DEPTH_RANGE)


class MetricAnythingStudent(nn.Module):
    """Multi-resolution encoder + decoder + head -> canonical inverse depth at ``img_size``."""

    stage = "distill"

    def __init__(self, spec: MultiresSpec = RELEASED):
        super().__init__()
        self.spec = spec
        self.encoder = MultiresEncoder(build_vit(spec.vit), spec.vit_size, spec.hook_blocks, spec.dims)
        self.decoder = MultiresDecoder(spec.dims)
        self.head = depth_head(spec.dims.decoder, spec.dims.head_last)

    @property
    def img_size(self) -> int:
        return self.spec.img_size

    def canonical_inverse_depth(self, x: torch.Tensor, extra: list | None = None) -> torch.Tensor:
        """(B,3,S,S) ImageNet-normalised -> (B,1,S,S)."""
        if x.shape[-2:] != (self.img_size, self.img_size):
            raise ValueError(f"input {tuple(x.shape[-2:])}: the network takes {self.img_size}x{self.img_size}")
        out = self.head(self.decoder(self.encoder(x), extra))
        if out.shape[-2:] != x.shape[-2:]:   # patch sizes other than 16 (DINOv2's 14) give 64 px per token
            out = F.interpolate(out, size=x.shape[-2:], mode="bilinear", align_corners=False)
        return out

    def forward(self, rgb: torch.Tensor, fx: torch.Tensor | float | None = None) -> torch.Tensor:
        """Training/inference on depthcur batches: (B,3,H,W) in [0,1], focal lengths (B,) px at that size
        (None: the official default, 1000 px) -> (B,H,W) metres."""
        return self.metric_depth(normalize_rgb(rgb), DEFAULT_F_PX if fx is None else fx)

    def metric_depth(self, x: torch.Tensor, f_px: torch.Tensor | float, extra_fn=None) -> torch.Tensor:
        """The official ``infer`` computation, batched and differentiable: (B,3,H,W) normalised -> (B,H,W)."""
        height, width = x.shape[-2:]
        size = (self.img_size, self.img_size)
        resized = F.interpolate(x, size=size, mode="bilinear", align_corners=False) if (height, width) != size else x
        extra = extra_fn(size) if extra_fn else None
        canonical = self.canonical_inverse_depth(resized, extra)
        f_px = torch.as_tensor(f_px, dtype=canonical.dtype, device=canonical.device).reshape(-1, 1, 1, 1)
        inverse = canonical * (width / f_px)
        if (height, width) != size:
            inverse = F.interpolate(inverse, size=(height, width), mode="bilinear", align_corners=False)
        return inverse_to_depth(inverse)[:, 0]

    @torch.no_grad()
    def infer(self, x: torch.Tensor, f_px: float | torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        """As the official ``infer``: ``x`` (3,H,W) or (B,3,H,W) ImageNet-normalised -> {"depth": squeezed}."""
        if x.ndim == 3:
            x = x[None]
        return {"depth": self.metric_depth(x, DEFAULT_F_PX if f_px is None else f_px).squeeze()}


class PromptLayers(nn.Module):
    """[log PDSA, log GMDR, mask] -> one zero-initialised addition per decoder level."""

    def __init__(self, spec: MultiresSpec):
        super().__init__()
        width, dim = spec.prompt_width, spec.dims.decoder
        self.sizes = level_sizes(spec.vit_size // spec.vit.patch_size)
        self.stem = nn.Sequential(nn.Conv2d(3, width, 3, padding=1), nn.ReLU())
        self.levels = nn.ModuleList(
            nn.Sequential(*[m for _ in range(spec.prompt_blocks)
                            for m in (nn.Conv2d(width, width, 3, padding=1), nn.ReLU())])
            for _ in self.sizes)
        self.zero_convs = nn.ModuleList(nn.Conv2d(width, dim, 1) for _ in self.sizes)
        for conv in self.zero_convs:
            nn.init.zeros_(conv.weight)
            nn.init.zeros_(conv.bias)

    def forward(self, prompt: torch.Tensor) -> list[torch.Tensor]:
        """``prompt``: (B,3,S,S) [PDSA m, GMDR m, mask {0,1}] at the network's input size."""
        cond = torch.cat([depth_to_log_input(prompt[:, :2]), prompt[:, 2:]], 1)
        out = []
        for side, level, zero in zip(self.sizes, self.levels, self.zero_convs):
            small = F.interpolate(cond, size=(side, side), mode="area")
            out.append(zero(level(self.stem(small))))
        return out


class MetricAnythingTeacher(MetricAnythingStudent):
    """The student network plus ``prompt_layers`` reading the [PDSA, GMDR, mask] prompt."""

    stage = "prompt"

    def __init__(self, spec: MultiresSpec = RELEASED):
        super().__init__(spec)
        self.prompt_layers = PromptLayers(spec)

    def forward(self, rgb: torch.Tensor, prompt: torch.Tensor, fx: torch.Tensor | float | None = None
                ) -> torch.Tensor:
        """(B,3,H,W) in [0,1], (B,3,H,W) [PDSA, GMDR, mask] prompt, (B,) px -> (B,H,W) metres."""
        def extra(size):
            resized = F.interpolate(prompt[:, :2], size=size, mode="nearest")
            mask = F.interpolate(prompt[:, 2:], size=size, mode="area")
            return self.prompt_layers(torch.cat([resized, mask], 1))

        return self.metric_depth(normalize_rgb(rgb), DEFAULT_F_PX if fx is None else fx, extra)


def unwrap_state_dict(state: Mapping) -> Mapping:
    """The tensors of a released checkpoint: a plain state dict, or one under "state_dict"/"model"."""
    for key in ("state_dict", "model"):
        if key in state and isinstance(state[key], Mapping):
            return state[key]
    return state


def is_student_state_dict(state: Mapping) -> bool:
    return "encoder.patch_encoder.patch_embed.proj.weight" in state and "encoder.fuse_lowres.weight" in state


def load_student_strictly(model: nn.Module, state: Mapping[str, torch.Tensor], where: str) -> nn.Module:
    """``load_state_dict(strict=True)`` with an error that names the missing, unexpected or misshapen keys."""
    own = model.state_dict()
    missing = sorted(set(own) - set(state))
    unexpected = sorted(set(state) - set(own))
    misshapen = sorted(k for k in set(own) & set(state) if tuple(own[k].shape) != tuple(state[k].shape))
    if missing or unexpected or misshapen:
        parts = [f"{name}: {', '.join(keys[:5])}{' ...' if len(keys) > 5 else ''} ({len(keys)})"
                 for name, keys in (("missing keys", missing), ("unexpected keys", unexpected),
                                    ("shape mismatch", misshapen)) if keys]
        raise ValueError(f"{where}: not a MetricAnything Student-DepthMap state dict; " + "; ".join(parts))
    # assign: the model is built on the meta device, so its tensors become the loaded ones (no copy)
    model.load_state_dict({k: v.float() for k, v in state.items()}, strict=True, assign=True)
    return model


def student_from_state_dict(state: Mapping[str, torch.Tensor], where: str) -> MetricAnythingStudent:
    """The released-configuration student with every tensor of ``state`` loaded strictly."""
    with torch.device("meta"):
        model = MetricAnythingStudent(RELEASED)
    return load_student_strictly(model, state, where).eval()
