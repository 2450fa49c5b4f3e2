"""RGB-D ViT whose backbone uses DINOv2's parameter names.

``DinoBackbone`` holds exactly the tensors of an official DINOv2 ViT checkpoint
(``patch_embed.proj``, ``cls_token``, ``pos_embed``, ``register_tokens``, ``mask_token``,
``blocks.N.{norm1,attn.qkv,attn.proj,ls1.gamma,norm2,mlp.fc1,mlp.fc2,ls2.gamma}``, ``norm``),
so ``load_state_dict(official, strict=True)`` works. ``RGBDViT`` adds what MDM needs on top:
a 1-channel depth patch embedding and a modality embedding, sharing the backbone's
position embedding, and hides masked depth tokens from attention.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from depthcur.curate.torch_files import load_weights_only


class PatchEmbed(nn.Module):
    def __init__(self, in_chans: int, embed_dim: int, patch_size: int):
        super().__init__()
        self.patch_size = patch_size
        self.proj = nn.Conv2d(in_chans, embed_dim, kernel_size=patch_size, stride=patch_size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.proj(x).flatten(2).transpose(1, 2)  # B, N, C


class Attention(nn.Module):
    def __init__(self, dim: int, num_heads: int):
        super().__init__()
        self.num_heads = num_heads
        self.qkv = nn.Linear(dim, dim * 3, bias=True)
        self.proj = nn.Linear(dim, dim, bias=True)

    def forward(self, x: torch.Tensor, attn_mask: torch.Tensor | None = None) -> torch.Tensor:
        b, n, c = x.shape
        q, k, v = self.qkv(x).reshape(b, n, 3, self.num_heads, c // self.num_heads).permute(2, 0, 3, 1, 4)
        x = F.scaled_dot_product_attention(q, k, v, attn_mask=attn_mask)
        return self.proj(x.transpose(1, 2).reshape(b, n, c))


class Mlp(nn.Module):
    def __init__(self, dim: int, hidden: int):
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.act = nn.GELU()
        self.fc2 = nn.Linear(hidden, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(self.act(self.fc1(x)))


class LayerScale(nn.Module):
    def __init__(self, dim: int, init_values: float):
        super().__init__()
        self.gamma = nn.Parameter(torch.full((dim,), float(init_values)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.gamma


class Block(nn.Module):
    def __init__(self, dim: int, num_heads: int, mlp_ratio: float, layerscale_init: float):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=1e-6)
        self.attn = Attention(dim, num_heads)
        self.ls1 = LayerScale(dim, layerscale_init)
        self.norm2 = nn.LayerNorm(dim, eps=1e-6)
        self.mlp = Mlp(dim, int(dim * mlp_ratio))
        self.ls2 = LayerScale(dim, layerscale_init)

    def forward(self, x: torch.Tensor, attn_mask: torch.Tensor | None = None) -> torch.Tensor:
        x = x + self.ls1(self.attn(self.norm1(x), attn_mask))
        return x + self.ls2(self.mlp(self.norm2(x)))


@dataclass(frozen=True)
class BackboneSpec:
    embed_dim: int
    depth: int
    num_heads: int
    mlp_ratio: float = 4.0
    patch_size: int = 14
    pos_grid: int = 37            # DINOv2 is pretrained at 518 px = 37 x 37 patches
    num_register_tokens: int = 0
    layerscale_init: float = 1e-5
    #: DINOv2's position-embedding resize: with an offset > 0 a bicubic scale factor of
    #: (grid + offset) / pos_grid (DINOv2 without registers uses 0.1), else the exact grid size
    interpolate_offset: float = 0.0
    interpolate_antialias: bool = False


class DinoBackbone(nn.Module):
    """The DINOv2 ViT parameter layout (RGB only); RGBDViT drives the forward pass."""

    family = "DINOv2"     # whose official checkpoints load by name (``load_vit_weights``)

    def __init__(self, spec: BackboneSpec):
        super().__init__()
        self.spec = spec
        dim = spec.embed_dim
        self.patch_embed = PatchEmbed(3, dim, spec.patch_size)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, dim))
        self.pos_embed = nn.Parameter(torch.zeros(1, 1 + spec.pos_grid ** 2, dim))
        self.register_tokens = (nn.Parameter(torch.zeros(1, spec.num_register_tokens, dim))
                                if spec.num_register_tokens else None)
        self.mask_token = nn.Parameter(torch.zeros(1, dim))
        self.blocks = nn.ModuleList(Block(dim, spec.num_heads, spec.mlp_ratio, spec.layerscale_init)
                                    for _ in range(spec.depth))
        self.norm = nn.LayerNorm(dim, eps=1e-6)
        nn.init.trunc_normal_(self.pos_embed, std=0.02)
        nn.init.normal_(self.cls_token, std=1e-6)
        if self.register_tokens is not None:
            nn.init.normal_(self.register_tokens, std=1e-6)
        self.apply(_init_linear)

    def patch_pos_embed(self, grid_h: int, grid_w: int) -> torch.Tensor:
        """Patch position embedding bicubically resized to ``grid_h x grid_w`` (1, h*w, C)."""
        g = self.spec.pos_grid
        pos = self.pos_embed[:, 1:]
        if (grid_h, grid_w) == (g, g):
            return pos
        pos = pos.reshape(1, g, g, -1).permute(0, 3, 1, 2)
        offset = self.spec.interpolate_offset
        # the scale factor, not the size, sets the sampling positions: they differ by up to ~3e-2
        resize = ({"scale_factor": ((grid_h + offset) / g, (grid_w + offset) / g)} if offset > 0
                  else {"size": (grid_h, grid_w)})
        pos = F.interpolate(pos.float(), mode="bicubic", align_corners=False,
                            antialias=self.spec.interpolate_antialias, **resize)
        return pos.to(self.pos_embed.dtype).permute(0, 2, 3, 1).reshape(1, grid_h * grid_w, -1)

    @property
    def num_prefix_tokens(self) -> int:
        return 1 + self.spec.num_register_tokens


def _init_linear(module: nn.Module) -> None:
    if isinstance(module, nn.Linear):
        nn.init.trunc_normal_(module.weight, std=0.02)
        if module.bias is not None:
            nn.init.zeros_(module.bias)


#: modality ids of the shared embedding table (RGB = 1, depth = 2; 0 = prefix tokens)
MODALITY_RGB, MODALITY_DEPTH = 1, 2


@dataclass
class EncoderOutput:
    """Per requested layer: (B, N_rgb, C) RGB patch tokens and (B, C) cls token; the grid size."""

    rgb_tokens: list[torch.Tensor]
    cls_tokens: list[torch.Tensor]
    grid: tuple[int, int]


class RGBDViT(nn.Module):
    """ViT over RGB tokens plus (visible) depth tokens, patch 14, shared 2D position embedding."""

    def __init__(self, spec: BackboneSpec, use_depth: bool = True):
        super().__init__()
        self.spec = spec
        self.use_depth = use_depth
        self.backbone = DinoBackbone(spec)
        if use_depth:
            self.depth_patch_embed = PatchEmbed(1, spec.embed_dim, spec.patch_size)
            self.modality_embed = nn.Embedding(3, spec.embed_dim)
            nn.init.normal_(self.modality_embed.weight, std=0.02)

    def forward(self, rgb: torch.Tensor, depth: torch.Tensor | None = None,
                depth_mask: torch.Tensor | None = None, layers: tuple[int, ...] = (-1,)) -> EncoderOutput:
        """``rgb`` (B,3,H,W) normalised; ``depth`` (B,1,H,W) metres; ``depth_mask`` (B, N) True = masked.

        Masked depth tokens are excluded as attention keys, so they never influence the RGB
        tokens (the MAE-style "not seen" semantics, batched). ``depth=None`` is monocular.
        """
        bb = self.backbone
        b, _, h, w = rgb.shape
        p = self.spec.patch_size
        gh, gw = h // p, w // p
        pos = bb.patch_pos_embed(gh, gw)
        rgb_tok = bb.patch_embed(rgb) + pos
        if self.use_depth:
            rgb_tok = rgb_tok + self.modality_embed.weight[MODALITY_RGB]
        prefix = [bb.cls_token.expand(b, -1, -1) + bb.pos_embed[:, :1]]
        if bb.register_tokens is not None:
            prefix.append(bb.register_tokens.expand(b, -1, -1))
        tokens = [*prefix, rgb_tok]
        attn_mask = None
        n_rgb = gh * gw
        if self.use_depth and depth is not None:
            dep_tok = self.depth_patch_embed(depth) + pos + self.modality_embed.weight[MODALITY_DEPTH]
            if depth_mask is not None:
                # masked tokens also get DINOv2's mask_token content, and are hidden as keys
                dep_tok = torch.where(depth_mask[..., None], bb.mask_token.to(dep_tok.dtype), dep_tok)
                visible = torch.cat([torch.ones(b, bb.num_prefix_tokens + n_rgb, dtype=torch.bool,
                                                device=rgb.device), ~depth_mask], dim=1)
                attn_mask = visible[:, None, None, :]
            tokens.append(dep_tok)
        x = torch.cat(tokens, dim=1)
        wanted = {i % len(bb.blocks) for i in layers}
        feats: dict[int, torch.Tensor] = {}
        for i, blk in enumerate(bb.blocks):
            x = blk(x, attn_mask)
            if i in wanted:
                feats[i] = bb.norm(x)
        start = bb.num_prefix_tokens
        order = [i % len(bb.blocks) for i in layers]
        return EncoderOutput(rgb_tokens=[feats[i][:, start:start + n_rgb] for i in order],
                             cls_tokens=[feats[i][:, 0] for i in order], grid=(gh, gw))


def dinov2_key_shapes(spec: BackboneSpec) -> dict[str, tuple[int, ...]]:
    """The tensor names and shapes of an official DINOv2 ViT checkpoint with this spec.

    Written from DINOv2's published layout (not from this module) so tests can check that an
    independently built state dict loads strictly.
    """
    d, hidden = spec.embed_dim, int(spec.embed_dim * spec.mlp_ratio)
    shapes: dict[str, tuple[int, ...]] = {
        "cls_token": (1, 1, d), "pos_embed": (1, 1 + spec.pos_grid ** 2, d), "mask_token": (1, d),
        "patch_embed.proj.weight": (d, 3, spec.patch_size, spec.patch_size), "patch_embed.proj.bias": (d,),
        "norm.weight": (d,), "norm.bias": (d,),
    }
    if spec.num_register_tokens:
        shapes["register_tokens"] = (1, spec.num_register_tokens, d)
    for i in range(spec.depth):
        pre = f"blocks.{i}."
        shapes.update({
            pre + "norm1.weight": (d,), pre + "norm1.bias": (d,),
            pre + "attn.qkv.weight": (3 * d, d), pre + "attn.qkv.bias": (3 * d,),
            pre + "attn.proj.weight": (d, d), pre + "attn.proj.bias": (d,),
            pre + "ls1.gamma": (d,), pre + "norm2.weight": (d,), pre + "norm2.bias": (d,),
            pre + "mlp.fc1.weight": (hidden, d), pre + "mlp.fc1.bias": (hidden,),
            pre + "mlp.fc2.weight": (d, hidden), pre + "mlp.fc2.bias": (d,), pre + "ls2.gamma": (d,),
        })
    return shapes


#: an official checkpoint of each ViT family (``family`` of the ViT classes), named in errors
OFFICIAL_CHECKPOINT_EXAMPLE = {"DINOv2": "dinov2_vitl14_pretrain.pth",
                               "DINOv3": "dinov3_vith16plus_pretrain_lvd1689m-7c1da9a5.pth"}


def load_dinov2_weights(backbone: DinoBackbone, path: str) -> None:
    """Load an official DINOv2 checkpoint (local path) strictly into ``backbone`` (``load_vit_weights``)."""
    load_vit_weights(backbone, path)


def load_vit_weights(vit: nn.Module, path: str) -> None:
    """Load an official checkpoint (local path) of ``vit.family`` (DINOv2: ``DinoBackbone``; DINOv3:
    ``dinov3.DinoV3``) strictly into ``vit``, whose tensors carry that family's official names.

    Accepts a bare state dict, or one nested under ``model``/``teacher``/``state_dict``, with
    optional ``backbone.`` or ``module.`` prefixes. Any mismatch is an error naming the file.
    """
    family = vit.family
    example = OFFICIAL_CHECKPOINT_EXAMPLE[family]
    try:
        state = load_weights_only(path, "--init-backbone")
    except FileNotFoundError:
        raise FileNotFoundError(f"--init-backbone {path}: file not found. {family} weights cannot be downloaded "
                                f"here; download e.g. {example} elsewhere and pass its path")
    for nest in ("model", "teacher", "state_dict"):
        if isinstance(state, dict) and nest in state and isinstance(state[nest], dict):
            state = state[nest]
    if not isinstance(state, dict):
        raise ValueError(f"--init-backbone {path}: holds a {type(state).__name__}, not a state dict of "
                         f"{family} weights; pass an official checkpoint such as {example}")
    state = {_strip_prefix(k): v for k, v in state.items()}
    # what DINOv2 does not have (MDM's depth patch embedding) keeps its initial values
    own = {k: v for k, v in vit.state_dict().items() if k.startswith("depth_patch_embed.")}
    try:
        vit.load_state_dict({**own, **state}, strict=True)
    except RuntimeError as exc:
        raise ValueError(f"--init-backbone {path}: not a {family} checkpoint matching this config "
                         f"({spec_summary(vit.spec)}): {exc}") from exc


def spec_summary(spec: object) -> str:
    """The sizes of a ViT spec (``BackboneSpec`` or ``DinoV3Spec``) a checkpoint must match."""
    shown = {"embed_dim": "embed_dim", "depth": "depth", "num_register_tokens": "registers",
             "n_storage_tokens": "storage_tokens", "pos_grid": "pos_grid", "patch_size": "patch_size"}
    return ", ".join(f"{label}={getattr(spec, name)}" for name, label in shown.items() if hasattr(spec, name))


def _strip_prefix(key: str) -> str:
    for prefix in ("module.", "backbone."):
        if key.startswith(prefix):
            key = key[len(prefix):]
    return key
