"""A DINOv3 ViT with the official parameter names (what MetricAnything's Student-DepthMap uses).

DINOv3 differs from DINOv2 (``vit.DinoBackbone``) in what it computes: patch 16, no learned
position embedding but 2-D rotary embeddings on q and k of the patch tokens (``rope_embed.periods``),
``storage_tokens`` (registers) after the class token, a SwiGLU feed-forward (``mlp.w1/w2/w3``) and a
qkv bias whose K third is masked off (``attn.qkv.bias_mask``). The tensors are named as in the
official checkpoint (``cls_token``, ``storage_tokens``, ``mask_token``, ``patch_embed.proj``,
``rope_embed.periods``, ``blocks.N.{norm1,attn.qkv,attn.proj,ls1.gamma,norm2,mlp.w1,mlp.w2,mlp.w3,
ls2.gamma}``, ``norm``), so a released state dict loads strictly.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from .vit import LayerScale, PatchEmbed


@dataclass(frozen=True)
class DinoV3Spec:
    embed_dim: int
    depth: int
    num_heads: int
    ffn_ratio: float = 4.0
    patch_size: int = 16
    n_storage_tokens: int = 4
    rope_base: float = 100.0
    #: "layernormbf16" in the official presets: LayerNorm with eps 1e-5
    norm_eps: float = 1e-5
    layerscale_init: float = 1e-5
    #: the SwiGLU hidden width is int(dim * ffn_ratio * 2/3) rounded up to a multiple of this
    swiglu_align: int = 8


#: ``dinov3_vith16plus`` of the official hub (840M-parameter ViT-H+/16 used by Student-DepthMap)
VITH16PLUS = DinoV3Spec(embed_dim=1280, depth=32, num_heads=20, ffn_ratio=6.0)


def swiglu_hidden(dim: int, ffn_ratio: float, align: int) -> int:
    hidden = int(int(dim * ffn_ratio) * 2 / 3)
    return hidden + (-hidden % align)


class RopeEmbedding(nn.Module):
    """Axial 2-D rotary embedding with coordinates in [-1, 1] per axis ("separate" normalisation)."""

    def __init__(self, head_dim: int, base: float):
        super().__init__()
        if head_dim % 4:
            raise ValueError(f"DINOv3 RoPE needs a head width divisible by 4, got {head_dim}")
        exponents = 2 * torch.arange(head_dim // 4, dtype=torch.float32) / (head_dim // 2)
        self.register_buffer("periods", base ** exponents, persistent=True)

    def forward(self, height: int, width: int) -> tuple[torch.Tensor, torch.Tensor]:
        """(sin, cos), each (height*width, head_dim), for the patch grid in row-major order."""
        dd = {"device": self.periods.device, "dtype": torch.float32}
        ys = torch.arange(0.5, height, **dd) / height
        xs = torch.arange(0.5, width, **dd) / width
        coords = torch.stack(torch.meshgrid(ys, xs, indexing="ij"), -1).flatten(0, 1) * 2.0 - 1.0
        angles = (2 * math.pi * coords[:, :, None] / self.periods[None, None, :]).flatten(1, 2).tile(2)
        return torch.sin(angles), torch.cos(angles)


def rotate_half(x: torch.Tensor) -> torch.Tensor:
    first, second = x.chunk(2, dim=-1)
    return torch.cat([-second, first], dim=-1)


class MaskedBiasLinear(nn.Linear):
    """qkv projection whose bias is multiplied by ``bias_mask`` (ones, zeros over the K third)."""

    def __init__(self, dim_in: int, dim_out: int):
        super().__init__(dim_in, dim_out, bias=True)
        third = dim_out // 3
        mask = torch.ones(dim_out)
        mask[third:2 * third] = 0
        self.register_buffer("bias_mask", mask)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.linear(x, self.weight, self.bias * self.bias_mask.to(self.bias.dtype))


class RopeAttention(nn.Module):
    def __init__(self, dim: int, num_heads: int):
        super().__init__()
        self.num_heads = num_heads
        self.qkv = MaskedBiasLinear(dim, dim * 3)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor, rope: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
        b, n, c = x.shape
        q, k, v = self.qkv(x).reshape(b, n, 3, self.num_heads, c // self.num_heads).permute(2, 0, 3, 1, 4)
        sin, cos = rope
        prefix = n - sin.shape[0]   # class + storage tokens carry no position
        q, k = (torch.cat([t[:, :, :prefix], t[:, :, prefix:] * cos + rotate_half(t[:, :, prefix:]) * sin], 2)
                for t in (q, k))
        out = F.scaled_dot_product_attention(q, k, v)
        return self.proj(out.transpose(1, 2).reshape(b, n, c))


class SwiGLU(nn.Module):
    def __init__(self, dim: int, hidden: int):
        super().__init__()
        self.w1 = nn.Linear(dim, hidden)
        self.w2 = nn.Linear(dim, hidden)
        self.w3 = nn.Linear(hidden, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.w3(F.silu(self.w1(x)) * self.w2(x))


class DinoV3Block(nn.Module):
    def __init__(self, spec: DinoV3Spec):
        super().__init__()
        dim = spec.embed_dim
        self.norm1 = nn.LayerNorm(dim, eps=spec.norm_eps)
        self.attn = RopeAttention(dim, spec.num_heads)
        self.ls1 = LayerScale(dim, spec.layerscale_init)
        self.norm2 = nn.LayerNorm(dim, eps=spec.norm_eps)
        self.mlp = SwiGLU(dim, swiglu_hidden(dim, spec.ffn_ratio, spec.swiglu_align))
        self.ls2 = LayerScale(dim, spec.layerscale_init)

    def forward(self, x: torch.Tensor, rope: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
        x = x + self.ls1(self.attn(self.norm1(x), rope))
        return x + self.ls2(self.mlp(self.norm2(x)))


class DinoV3(nn.Module):
    """The DINOv3 ViT. ``encode`` returns patch-token grids (prefix tokens dropped)."""

    family = "DINOv3"     # whose official checkpoints load by name (``vit.load_vit_weights``)

    def __init__(self, spec: DinoV3Spec):
        super().__init__()
        self.spec = spec
        dim = spec.embed_dim
        self.embed_dim = dim
        self.patch_size = spec.patch_size
        self.cls_token = nn.Parameter(torch.zeros(1, 1, dim))
        self.storage_tokens = nn.Parameter(torch.zeros(1, spec.n_storage_tokens, dim))
        self.mask_token = nn.Parameter(torch.zeros(1, dim))
        self.patch_embed = PatchEmbed(3, dim, spec.patch_size)
        self.rope_embed = RopeEmbedding(dim // spec.num_heads, spec.rope_base)
        self.blocks = nn.ModuleList(DinoV3Block(spec) for _ in range(spec.depth))
        self.norm = nn.LayerNorm(dim, eps=spec.norm_eps)
        nn.init.normal_(self.cls_token, std=0.02)
        nn.init.normal_(self.storage_tokens, std=0.02)
        for module in self.modules():
            if isinstance(module, nn.Linear):
                nn.init.trunc_normal_(module.weight, std=0.02)
                nn.init.zeros_(module.bias)

    @property
    def num_prefix_tokens(self) -> int:
        return 1 + self.spec.n_storage_tokens

    def encode(self, x: torch.Tensor, hook_blocks: tuple[int, ...]) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """(B,3,H,W) -> (final normed patch tokens, [raw patch tokens after each hook block]), each (B,C,h,w)."""
        b, _, height, width = x.shape
        rows, cols = height // self.patch_size, width // self.patch_size
        tokens = self.patch_embed(x)
        # the official adds 0 * mask_token to the class token (keeps it in the graph)
        prefix = torch.cat([self.cls_token + 0 * self.mask_token, self.storage_tokens], 1).expand(b, -1, -1)
        tokens = torch.cat([prefix, tokens], 1)
        rope = self.rope_embed(rows, cols)
        hooks = []
        for i, block in enumerate(self.blocks):
            tokens = block(tokens, rope)
            if i in hook_blocks:
                hooks.append(tokens)
        grid = [self._grid(t, rows, cols) for t in hooks]
        return self._grid(self.norm(tokens), rows, cols), grid

    def _grid(self, tokens: torch.Tensor, rows: int, cols: int) -> torch.Tensor:
        patches = tokens[:, self.num_prefix_tokens:]
        return patches.reshape(patches.shape[0], rows, cols, -1).permute(0, 3, 1, 2)
