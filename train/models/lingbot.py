"""LingBot-Depth's Masked Depth Modeling network, built from a released checkpoint's ``model_config``.

The computation is that of the official model (github Robbyant/lingbot-depth, ``mdm/model/v2.py``
with its RGB-D DINOv2 encoder and ConvStack decoder); this is depthcur's own code. Module paths
and tensor names equal the released state dicts, so a released ``checkpoint["model"]`` loads
strictly (see :func:`lingbot_from_state`).

- **Encoder**: image and depth are resized to a grid of ``rows x cols`` 14-px patches chosen from the
  token budget and the aspect ratio. One DINOv2 ViT runs over ``[cls, registers, RGB tokens, depth
  tokens]``; RGB tokens carry the resized position embedding plus the constant 1, depth tokens the
  same plus 2 (fixed modality codes, not learned). Depth tokens whose patch has no valid pixel, and
  those the caller masks, are **dropped** from the sequence, so attention cost falls with the mask
  ratio and SDPA needs no mask. Samples that keep different numbers of tokens are **packed**: the
  token-wise layers run on all tokens of the batch at once and attention runs once per group of
  samples with the same sequence length (one group, one SDPA call, when the counts agree).
- The RGB tokens of the chosen layers (``intermediate_layers``: the last n, or a list of block
  indices) are layer-normed, projected by 1x1 convs to ``dim_out`` and summed; the cls token of the
  last of them is added everywhere.
- **Neck and heads**: ConvStacks from the token grid up 16x, an aspect-aware UV map entering at every
  level; the depth head's last level is log depth (``remap_depth_out="exp"``), the mask head's a
  validity logit; both are resized bilinearly to the input.
"""

from __future__ import annotations

import itertools
import warnings
from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from .decoders import uv_grid
from .depth_prior import DEFAULT_LOG_DEPTH, DEPTH_PRIORS, log_depth_prior
from .networks import IMAGENET_MEAN, IMAGENET_STD
from .vit import Attention, BackboneSpec, Block, DinoBackbone, PatchEmbed

#: DINOv2 hub names -> (embed_dim, depth, num_heads); a "_reg" suffix adds 4 registers
DINOV2_SIZES: dict[str, tuple[int, int, int]] = {"vits14": (384, 12, 6), "vitb14": (768, 12, 12),
                                                 "vitl14": (1024, 24, 16)}
#: the official token budget when a config does not set one
DEFAULT_NUM_TOKENS_RANGE = (1200, 3600)
#: encoder keys that only the official training code reads
_TRAINING_ONLY_ENCODER_KEYS = {"ignore_layers", "strict", "depth_mask_ratio"}


def backbone_spec(backbone: str | Mapping[str, Any]) -> BackboneSpec:
    """The ViT of ``encoder.backbone``: a DINOv2 hub name (``dinov2_vitl14``, ``dinov2_vits14_reg`` ...)
    or, for depthcur's small presets, a mapping of :class:`BackboneSpec` fields."""
    if isinstance(backbone, Mapping):
        return BackboneSpec(**backbone)
    size = str(backbone).removeprefix("dinov2_")
    registers = size.endswith("_reg")
    size = size.removesuffix("_reg")
    if not str(backbone).startswith("dinov2_") or size not in DINOV2_SIZES:
        names = ", ".join(f"dinov2_{s}{r}" for s in DINOV2_SIZES for r in ("", "_reg"))
        raise ValueError(f"encoder.backbone {backbone!r} is not supported; use one of {names}")
    dim, depth, heads = DINOV2_SIZES[size]
    # the hub models: layer scale on; with registers DINOv2 resizes to the exact size with antialiasing
    return BackboneSpec(dim, depth, heads, 4.0, 14, 37, 4 if registers else 0, layerscale_init=1.0,
                        interpolate_offset=0.0 if registers else 0.1, interpolate_antialias=registers)


def taken_layers(intermediate_layers: int | Sequence[int], depth: int) -> list[int]:
    """Block indices whose outputs are used, in block order: the last n, or the listed ones."""
    if isinstance(intermediate_layers, int):
        if not 1 <= intermediate_layers <= depth:
            raise ValueError(f"encoder.intermediate_layers {intermediate_layers}: must be 1..{depth}")
        return list(range(depth - intermediate_layers, depth))
    layers = sorted(set(int(i) for i in intermediate_layers))
    if not layers or layers[0] < 0 or layers[-1] >= depth:
        raise ValueError(f"encoder.intermediate_layers {list(intermediate_layers)}: block indices 0..{depth - 1}")
    return layers


def remap_depth_input(depth: torch.Tensor, remap: str) -> torch.Tensor:
    """Metres (0, NaN, inf and <= 1 cm invalid) -> the encoder's depth input, 0 where invalid."""
    depth = torch.nan_to_num(depth, nan=0.0, posinf=0.0, neginf=0.0)
    valid = depth > 0.01
    if remap == "log":
        return torch.where(valid, torch.log(depth.clamp_min(0.01)), torch.zeros_like(depth))
    if remap == "linear":
        return torch.where(valid, depth, torch.zeros_like(depth))
    raise ValueError(f"remap_depth_in {remap!r}: use 'log' or 'linear'")


def patches_without_depth(depth_in: torch.Tensor, patch: int) -> torch.Tensor:
    """(B, rows*cols) True where a patch of the remapped depth (B, 1, H, W) has no usable pixel.

    As in the official masking, a value of exactly 0 is missing (so is a log depth of exactly
    1 m), and so is one outside [-9.5, 200] (a linear depth beyond 200 m)."""
    b, _, h, w = depth_in.shape
    usable = (depth_in != 0) & (depth_in >= -9.5) & (depth_in <= 200.0)
    usable = usable.view(b, h // patch, patch, w // patch, patch)
    return ~usable.any(dim=4).any(dim=2).flatten(1)


def packed_attention(attn: Attention, x: torch.Tensor, lengths: list[int]) -> torch.Tensor:
    """Self-attention within each sample of packed tokens ``x`` (T, C), samples ``lengths`` long.

    Samples of equal length share one SDPA call without a mask (flash/memory-efficient kernels)."""
    total, dim = x.shape
    heads = attn.num_heads
    per_sample = attn.qkv(x).view(total, 3, heads, dim // heads).split(lengths)
    by_length: dict[int, list[int]] = defaultdict(list)
    for index, length in enumerate(lengths):
        by_length[length].append(index)
    outputs: list[torch.Tensor | None] = [None] * len(lengths)
    for length, indices in by_length.items():
        q, k, v = torch.stack([per_sample[i] for i in indices]).permute(2, 0, 3, 1, 4)  # 3 x (G, heads, L, d)
        out = F.scaled_dot_product_attention(q, k, v).transpose(1, 2).reshape(len(indices), length, dim)
        for i, sample_out in zip(indices, out):
            outputs[i] = sample_out
    return attn.proj(torch.cat(outputs))


def packed_block(block: Block, x: torch.Tensor, lengths: list[int]) -> torch.Tensor:
    """A DINOv2 block over packed tokens (the token-wise layers see all samples at once)."""
    x = x + block.ls1(packed_attention(block.attn, block.norm1(x), lengths))
    return x + block.ls2(block.mlp(block.norm2(x)))


class RGBDBackbone(DinoBackbone):
    """DINOv2's tensors plus the 1-channel depth patch embedding, at the official module path."""

    def __init__(self, spec: BackboneSpec):
        super().__init__(spec)
        self.depth_patch_embed = PatchEmbed(1, spec.embed_dim, spec.patch_size)


class LingbotEncoder(nn.Module):
    """RGB-D DINOv2 encoder: summed projections of intermediate layers (B, dim_out, rows, cols) and cls."""

    def __init__(self, backbone: str | Mapping[str, Any], intermediate_layers: int | Sequence[int], dim_out: int,
                 img_depth_fuse_mode: str = "cat_token", depth_emb_mode: str = "conv_1c", in_chans: int = 3,
                 img_mask_ratio: float = 0.0, **training_only: Any):
        super().__init__()
        unknown = set(training_only) - _TRAINING_ONLY_ENCODER_KEYS
        if unknown:   # the official encoder ignores them too
            warnings.warn(f"model_config encoder: ignoring unknown keys {sorted(unknown)}", stacklevel=2)
        for ok, what in ((img_depth_fuse_mode == "cat_token", f"img_depth_fuse_mode {img_depth_fuse_mode!r}"),
                         (depth_emb_mode == "conv_1c", f"depth_emb_mode {depth_emb_mode!r}"),
                         (in_chans == 3, f"in_chans {in_chans}"), (img_mask_ratio == 0, "img_mask_ratio > 0")):
            if not ok:
                raise ValueError(f"encoder: {what} is not supported (the released models use cat_token, "
                                 f"conv_1c, 3 channels and no image masking)")
        spec = backbone_spec(backbone)
        if dim_out != spec.embed_dim:
            raise ValueError(f"encoder.dim_out {dim_out} must equal the ViT width {spec.embed_dim} "
                             f"(the cls token is added to the projected features)")
        self.spec = spec
        self.backbone = RGBDBackbone(spec)
        self.layers = taken_layers(intermediate_layers, spec.depth)
        self.output_projections = nn.ModuleList(nn.Conv2d(spec.embed_dim, dim_out, 1) for _ in self.layers)
        self.register_buffer("image_mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1))
        self.register_buffer("image_std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1))
        #: False hides masked depth tokens with an attention mask over the full sequence instead of
        #: dropping them (same result, full cost); kept for benchmarks and the equivalence test
        self.drop_masked_tokens = True

    def forward(self, image: torch.Tensor, depth: torch.Tensor, rows: int, cols: int, remap_depth_in: str = "log",
                depth_mask: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """``image`` (B, 3, H, W) in [0, 1], ``depth`` (B, 1, H, W) metres; ``depth_mask`` (B, rows*cols)
        True = depth token hidden (on top of the tokens without valid depth). Returns the features,
        the cls token and which depth tokens were hidden (B, rows*cols)."""
        bb = self.backbone
        p = self.spec.patch_size
        size = (rows * p, cols * p)
        image = F.interpolate(image, size, mode="bilinear", align_corners=False, antialias=True)
        image = (image - self.image_mean) / self.image_std
        depth = remap_depth_input(F.interpolate(depth, size, mode="nearest"), remap_depth_in)
        hidden = patches_without_depth(depth, p)
        if depth_mask is not None:
            hidden = hidden | depth_mask.to(hidden.device).view_as(hidden)

        rgb_tokens = bb.patch_embed(image)
        pos = bb.patch_pos_embed(rows, cols).to(rgb_tokens.dtype)
        rgb_tokens = rgb_tokens + (1 + pos)                     # modality code 1: RGB
        depth_tokens = bb.depth_patch_embed(depth) + (2 + pos)  # modality code 2: depth
        prefix = bb.cls_token[0] + bb.pos_embed[0, :1]
        if bb.register_tokens is not None:
            prefix = torch.cat([prefix, bb.register_tokens[0]])
        encode = self._encode_dropped if self.drop_masked_tokens else self._encode_attention_masked
        taken_rgb, taken_cls = encode(prefix, rgb_tokens, depth_tokens, hidden)
        grids = [bb.norm(tokens).transpose(1, 2).unflatten(2, (rows, cols)) for tokens in taken_rgb]
        features = torch.stack([proj(grid) for proj, grid in zip(self.output_projections, grids)]).sum(0)
        return features, bb.norm(taken_cls[-1]), hidden

    def _encode_dropped(self, prefix, rgb_tokens, depth_tokens, hidden):
        b, n, _ = rgb_tokens.shape
        sequences = [torch.cat([prefix.to(rgb_tokens.dtype), rgb_tokens[i], depth_tokens[i][~hidden[i]]])
                     for i in range(b)]
        lengths = [len(s) for s in sequences]
        starts = torch.tensor([0, *itertools.accumulate(lengths)][:-1], device=rgb_tokens.device)
        rgb_index = (starts[:, None] + len(prefix) + torch.arange(n, device=rgb_tokens.device)).flatten()
        x = torch.cat(sequences)
        taken_rgb, taken_cls = [], []
        for i, block in enumerate(self.backbone.blocks):
            x = packed_block(block, x, lengths)
            if i in self.layers:
                taken_rgb.append(x[rgb_index].view(b, n, -1))
                taken_cls.append(x[starts])
        return taken_rgb, taken_cls

    def _encode_attention_masked(self, prefix, rgb_tokens, depth_tokens, hidden):
        b, n, _ = rgb_tokens.shape
        x = torch.cat([prefix.to(rgb_tokens.dtype).expand(b, -1, -1), rgb_tokens, depth_tokens], 1)
        visible = torch.cat([torch.ones(b, len(prefix) + n, dtype=torch.bool, device=x.device), ~hidden], 1)
        attn_mask = visible[:, None, None, :]
        taken_rgb, taken_cls = [], []
        for i, block in enumerate(self.backbone.blocks):
            x = block(x, attn_mask)
            if i in self.layers:
                taken_rgb.append(x[:, len(prefix):len(prefix) + n])
                taken_cls.append(x[:, 0])
        return taken_rgb, taken_cls


class ResidualConvBlock(nn.Module):
    """norm -> act -> 3x3 conv -> norm -> act -> 3x3 conv, plus the input (1x1-projected if widths differ)."""

    def __init__(self, channels_in: int, channels_out: int, hidden: int, in_norm: str, hidden_norm: str,
                 activation: str):
        super().__init__()
        self.layers = nn.Sequential(
            _norm(in_norm, channels_in), _activation(activation),
            nn.Conv2d(channels_in, hidden, 3, padding=1, padding_mode="replicate"),
            _norm(hidden_norm, hidden), _activation(activation),
            nn.Conv2d(hidden, channels_out, 3, padding=1, padding_mode="replicate"))
        self.skip_connection = nn.Conv2d(channels_in, channels_out, 1) if channels_in != channels_out else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.skip_connection(x) + self.layers(x)


def _norm(kind: str, channels: int) -> nn.Module:
    if kind == "group_norm":
        return nn.GroupNorm(channels // 32, channels)
    if kind == "layer_norm":
        return nn.GroupNorm(1, channels)
    if kind == "instance_norm":
        return nn.InstanceNorm2d(channels)
    return nn.Identity()


def _activation(kind: str) -> nn.Module:
    makers = {"relu": nn.ReLU, "silu": nn.SiLU, "elu": nn.ELU, "leaky_relu": lambda: nn.LeakyReLU(0.2)}
    if kind not in makers:
        raise ValueError(f"activation {kind!r}: use one of {', '.join(makers)}")
    return makers[kind]()


def upsampler(channels_in: int, channels_out: int, kind: str) -> nn.Sequential:
    """x2 upsampling then a 3x3 conv; the kinds the released decoders use."""
    conv = nn.Conv2d(channels_out if kind == "conv_transpose" else channels_in, channels_out, 3, padding=1,
                     padding_mode="replicate")
    if kind == "conv_transpose":
        up = nn.ConvTranspose2d(channels_in, channels_out, kernel_size=2, stride=2)
        with torch.no_grad():  # start as nearest-neighbour upsampling: the same kernel for all 4 offsets
            up.weight.copy_(up.weight[:, :, :1, :1].expand_as(up.weight))
        return nn.Sequential(up, conv)
    if kind in ("bilinear", "nearest"):
        return nn.Sequential(nn.Upsample(scale_factor=2, mode=kind, align_corners=False if kind == "bilinear" else None),
                             conv)
    raise ValueError(f"resampler {kind!r}: use conv_transpose, bilinear or nearest")


def _per_level(value: Any, levels: int) -> list[Any]:
    return list(value) if isinstance(value, (list, tuple)) else [value] * levels


class ConvStack(nn.Module):
    """Levels coarse to fine: add the level's input (1x1 conv), residual blocks, emit an output (1x1
    conv or as is), upsample x2 to the next level."""

    def __init__(self, dim_in, dim_res_blocks: Sequence[int], dim_out, resamplers, dim_times_res_block_hidden: int = 1,
                 num_res_blocks: int | Sequence[int] = 1, res_block_in_norm: str = "layer_norm",
                 res_block_hidden_norm: str = "group_norm", activation: str = "relu"):
        super().__init__()
        levels = len(dim_res_blocks)
        self.input_blocks = nn.ModuleList(nn.Conv2d(c_in, c, 1) if c_in is not None else nn.Identity()
                                          for c_in, c in zip(_per_level(dim_in, levels), dim_res_blocks))
        self.resamplers = nn.ModuleList(upsampler(c_in, c_out, kind) for c_in, c_out, kind in
                                        zip(dim_res_blocks[:-1], dim_res_blocks[1:], _per_level(resamplers, levels - 1)))
        self.res_blocks = nn.ModuleList(
            nn.Sequential(*(ResidualConvBlock(c, c, dim_times_res_block_hidden * c, res_block_in_norm,
                                              res_block_hidden_norm, activation) for _ in range(count)))
            for c, count in zip(dim_res_blocks, _per_level(num_res_blocks, levels)))
        self.output_blocks = nn.ModuleList(nn.Conv2d(c, c_out, 1) if c_out is not None else nn.Identity()
                                           for c_out, c in zip(_per_level(dim_out, levels), dim_res_blocks))

    def forward(self, inputs: Sequence[torch.Tensor | None]) -> list[torch.Tensor]:
        outputs = []
        x = None
        for level, (into, blocks, out) in enumerate(zip(self.input_blocks, self.res_blocks, self.output_blocks)):
            if inputs[level] is not None:
                feature = into(inputs[level])
                x = feature if x is None else x + feature
            x = blocks(x)
            outputs.append(out(x))
            if level < len(self.resamplers):
                x = self.resamplers[level](x)
        return outputs


def token_grid(num_tokens: int, height: int, width: int) -> tuple[int, int]:
    """(rows, cols) with about ``num_tokens`` patches and the image's aspect ratio."""
    aspect = width / height
    return round((num_tokens / aspect) ** 0.5), round((num_tokens * aspect) ** 0.5)


def depth_to_points(depth: torch.Tensor, intrinsics: torch.Tensor) -> torch.Tensor:
    """(B, H, W, 3) camera-frame points of (B, H, W) depth; ``intrinsics`` (B or 1, 3, 3) normalised by W and H."""
    b, h, w = depth.shape
    k = intrinsics.to(depth.device, torch.float32).reshape(-1, 3, 3)
    fx, fy = (k[:, 0, 0] * w).view(-1, 1, 1), (k[:, 1, 1] * h).view(-1, 1, 1)
    cx, cy = (k[:, 0, 2] * w).view(-1, 1, 1), (k[:, 1, 2] * h).view(-1, 1, 1)
    v, u = torch.meshgrid(torch.arange(h, device=depth.device, dtype=torch.float32),
                          torch.arange(w, device=depth.device, dtype=torch.float32), indexing="ij")
    return torch.stack([(u - cx) * depth / fx, (v - cy) * depth / fy, depth], dim=-1)


class LingbotDepth(nn.Module):
    """The MDM network of LingBot-Depth; ``LingbotDepth(**checkpoint["model_config"])``."""

    stage = "mdm"

    def __init__(self, encoder: Mapping[str, Any], neck: Mapping[str, Any], depth_head: Mapping[str, Any],
                 mask_head: Mapping[str, Any] | None = None, remap_depth_in: str = "log", remap_depth_out: str = "exp",
                 num_tokens_range: Sequence[int] = DEFAULT_NUM_TOKENS_RANGE, depth_prior: str = "none",
                 **unused: Any):
        """``depth_prior`` is depthcur's option (see :mod:`.depth_prior`): "fill"/"median" make the depth
        head predict a log-depth residual over a prior of the visible input depth; released models use
        "none". The other arguments are the released ``model_config`` keys."""
        super().__init__()
        ignored = set(unused) - {"normal_head", "scale_head", "remap_output"}   # accepted, unused by the official
        if ignored:
            warnings.warn(f"model_config: ignoring unknown keys {sorted(ignored)}", stacklevel=2)
        if remap_depth_out not in ("exp", "linear"):
            raise ValueError(f"remap_depth_out {remap_depth_out!r}: use 'exp' or 'linear'")
        if depth_prior not in DEPTH_PRIORS or (depth_prior != "none" and remap_depth_out != "exp"):
            raise ValueError(f"depth_prior {depth_prior!r}: use one of {', '.join(DEPTH_PRIORS)} (with "
                             f"remap_depth_out 'exp')")
        remap_depth_input(torch.ones(1), remap_depth_in)  # validates the name
        #: the released-format config this network was built from (saved next to its weights)
        self.model_config = {"encoder": dict(encoder), "neck": dict(neck), "depth_head": dict(depth_head),
                             "mask_head": None if mask_head is None else dict(mask_head),
                             "remap_depth_in": remap_depth_in, "remap_depth_out": remap_depth_out,
                             "num_tokens_range": list(num_tokens_range)}
        if depth_prior != "none":
            self.model_config["depth_prior"] = depth_prior
        self.depth_prior = depth_prior
        self.remap_depth_in = remap_depth_in
        self.remap_depth_out = remap_depth_out
        self.num_tokens_range = tuple(int(n) for n in num_tokens_range)
        self.encoder = LingbotEncoder(**encoder)
        # DINOv2's mask token is part of the released weights but no token uses it: keep it out of training
        self.encoder.backbone.mask_token.requires_grad_(False)
        self.neck = ConvStack(**neck)
        self.depth_head = ConvStack(**depth_head)
        self.mask_head = ConvStack(**mask_head) if mask_head is not None else None
        final = self.depth_head.output_blocks[-1]
        if remap_depth_out == "exp" and isinstance(final, nn.Conv2d):  # start flat at ~2 m, or at the prior
            nn.init.zeros_(final.weight)
            nn.init.constant_(final.bias, DEFAULT_LOG_DEPTH if depth_prior == "none" else 0.0)

    @property
    def patch_size(self) -> int:
        return self.encoder.spec.patch_size

    def forward(self, image: torch.Tensor, depth: torch.Tensor | None = None, num_tokens: int | None = None,
                depth_mask: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        """``image`` (B, 3, H, W) in [0, 1], ``depth`` (B, [1,] H, W) metres (None: monocular) -> ``depth``
        (B, H, W) metres and, with a mask head, ``mask_logits`` (B, H, W). ``num_tokens`` None: the image's
        own 14-px patch grid. ``depth_mask``: see :class:`LingbotEncoder`."""
        b, _, h, w = image.shape
        if depth is None:
            depth = torch.zeros_like(image[:, :1])
        depth = depth[:, None] if depth.dim() == 3 else depth
        if num_tokens is None:
            num_tokens = (h // self.patch_size) * (w // self.patch_size)
        rows, cols = token_grid(num_tokens, h, w)
        features, cls_token, hidden = self.encoder(image, depth, rows, cols, self.remap_depth_in, depth_mask)
        levels: list[torch.Tensor] = []
        for level in range(5):
            uv = uv_grid(rows * 2 ** level, cols * 2 ** level, w / h, image).expand(b, -1, -1, -1)
            levels.append(torch.cat([features + cls_token[..., None, None], uv], 1) if level == 0 else uv)
        levels = self.neck(levels)
        out = {}
        depth_out = self._head(self.depth_head, levels, (h, w))
        if self.depth_prior != "none":
            depth_out = depth_out + self._log_prior(depth, hidden, rows, cols, (h, w))
        out["depth"] = depth_out.exp() if self.remap_depth_out == "exp" else depth_out
        if self.mask_head is not None:
            out["mask_logits"] = self._head(self.mask_head, levels, (h, w))
        return out

    def _log_prior(self, depth: torch.Tensor, hidden: torch.Tensor, rows: int, cols: int,
                   size: tuple[int, int]) -> torch.Tensor:
        """(B, H, W) log-depth prior of the depth the encoder saw (its token grid, hidden tokens removed)."""
        p = self.patch_size
        grid = F.interpolate(torch.nan_to_num(depth.float(), nan=0.0, posinf=0.0, neginf=0.0),
                             (rows * p, cols * p), mode="nearest")[:, 0]
        prior = log_depth_prior(self.depth_prior, grid, hidden, p, grid[:, None])
        return F.interpolate(prior, size, mode="bilinear", align_corners=False)[:, 0]

    @staticmethod
    def _head(head: ConvStack, levels: list[torch.Tensor], size: tuple[int, int]) -> torch.Tensor:
        return F.interpolate(head(levels)[-1], size, mode="bilinear", align_corners=False)[:, 0]

    def num_tokens_for(self, resolution_level: int) -> int:
        low, high = self.num_tokens_range
        return int(low + resolution_level / 9 * (high - low))

    @torch.inference_mode()
    def infer(self, image: torch.Tensor, depth_in: torch.Tensor | None = None, num_tokens: int | None = None,
              resolution_level: int = 9, apply_mask: bool = True, use_fp16: bool = True,
              intrinsics: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        """The official ``infer``: ``image`` (3, H, W) or (B, 3, H, W) in [0, 1]; ``depth_in`` (H, W) or
        (B, H, W) metres (0/NaN/inf invalid; None = monocular, every depth token dropped); the token budget
        from ``num_tokens_range`` at ``resolution_level`` (0..9) unless ``num_tokens``; ``intrinsics``
        (3, 3) or (B, 3, 3) normalised by W and H. Returns ``depth`` (inf where the mask head says invalid
        when ``apply_mask``), ``mask`` (bool) and ``points`` (..., H, W, 3) with intrinsics. bf16 autocast
        on GPU when ``use_fp16``."""
        param = next(self.parameters())
        single = image.dim() == 3
        image = (image[None] if single else image).to(param.device, param.dtype)
        if depth_in is not None:
            depth_in = (depth_in[None] if depth_in.dim() == 2 else depth_in).to(param.device, param.dtype)
        if num_tokens is None:
            num_tokens = self.num_tokens_for(resolution_level)
        autocast = use_fp16 and param.device.type == "cuda" and param.dtype != torch.bfloat16
        with torch.autocast(param.device.type, dtype=torch.bfloat16, enabled=autocast):
            out = self.forward(image, depth_in, num_tokens)
        depth = out["depth"].float()
        result = {"depth": depth}
        if intrinsics is not None:
            result["points"] = depth_to_points(depth, intrinsics)
        if "mask_logits" in out:
            mask = out["mask_logits"].float().sigmoid() > 0.5
            result["mask"] = mask
            if apply_mask:
                result["depth"] = torch.where(mask, depth, torch.inf)
                if "points" in result:
                    result["points"] = torch.where(mask[..., None], result["points"], torch.inf)
        return {k: v[0] for k, v in result.items()} if single else result


#: an older spelling of the depth patch embedding's path in some released checkpoints
_KEY_ALIASES = {".depth_mask_patch_embed.": ".depth_patch_embed."}


def released_state_dict(weights: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """A released ``checkpoint["model"]`` with the key spellings this network uses."""
    renamed = {}
    for key, value in weights.items():
        for old, new in _KEY_ALIASES.items():
            key = key.replace(old, new)
        renamed[key] = value
    return renamed


def lingbot_from_state(state: Mapping[str, Any], where: str) -> LingbotDepth:
    """The network of released-format checkpoint contents ``{"model": ..., "model_config": ...}``, in eval
    mode; every tensor must be used and none may be missing (``where`` names the file in errors)."""
    config = state.get("model_config")
    if not isinstance(config, Mapping) or not isinstance(state.get("model"), Mapping):
        raise ValueError(f"{where}: not a LingBot-Depth checkpoint (needs 'model' and 'model_config')")
    try:
        model = LingbotDepth(**config)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{where}: model_config: {exc}") from None
    weights = released_state_dict(state["model"])
    try:
        result = model.load_state_dict(weights, strict=False)
    except RuntimeError as exc:  # a tensor of the wrong shape
        raise ValueError(f"{where}: weights do not match its model_config: {exc}") from None
    problems = []
    if result.missing_keys:
        problems.append(f"missing {len(result.missing_keys)} tensors (first: {result.missing_keys[:3]})")
    if result.unexpected_keys:
        problems.append(f"{len(result.unexpected_keys)} unused tensors (first: {result.unexpected_keys[:3]})")
    if problems:
        raise ValueError(f"{where}: weights do not match its model_config: {'; '.join(problems)}")
    return model.eval()


def released_checkpoint(model: LingbotDepth) -> dict[str, Any]:
    """``model`` in the released format: ``{"model": state_dict, "model_config": config}``."""
    return {"model": model.state_dict(), "model_config": model.model_config}
