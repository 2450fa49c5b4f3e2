"""DepthPro-style multi-resolution encoder, decoder and head, as MetricAnything's networks use them.

The encoder runs ONE shared ViT over a three-level pyramid of the square input (side = 4 x the ViT's
patch-image size ``vit_size``): overlapping ``vit_size`` tiles of the full image (25% overlap) and of the
half-size image (50% overlap), and the quarter-size image whole. Tiles are merged back into feature maps
(the overlap is trimmed evenly from both neighbours). The hook blocks' raw tokens of the full-size tiles
give four high-resolution "latent" maps; the final tokens give one map per pyramid level; the lowest
level is fused with its upsampled copy (``fuse_lowres``). The decoder walks the seven maps coarse to
fine with residual fusion blocks (some upsample by a transposed conv); the head upsamples once more
to the input size and ends in a ReLU, so the output is a non-negative canonical inverse depth.

Module names follow the released Student-DepthMap (``encoder.upsample_latent0..3``,
``encoder.upsample0..2``, ``encoder.upsample_lowres``, ``encoder.fuse_lowres``, ``decoder.convs``,
``decoder.fusions.N.{resnet1,resnet2,deconv,out_conv}``, ``head``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

#: which encoder output each decoder level reads, fine to coarse (the student's inverted skip order:
#: the full-resolution pyramid map comes last, the hook latents in between, deepest hook first)
INVERTED_SKIPS = (4, 3, 2, 1, 0, 5, 6)
#: the fusion blocks that upsample by 2 (decoder level i)
DECONV_LEVELS = (False, True, False, False, True, True, True)


@dataclass(frozen=True)
class MultiresDims:
    """Channel widths: ``latent`` for the hook maps, ``full``/``half``/``low`` for the pyramid maps."""

    latent: int = 320
    full: int = 256
    half: int = 320
    low: int = 640
    decoder: int = 256
    head_last: int = 32


def project_upsample(dim_in: int, dim_out: int, upsample_layers: int) -> nn.Sequential:
    """1x1 projection, then ``upsample_layers`` bias-free 2x transposed convs."""
    layers: list[nn.Module] = [nn.Conv2d(dim_in, dim_out, 1, bias=False)]
    layers += [nn.ConvTranspose2d(dim_out, dim_out, 2, stride=2, bias=False) for _ in range(upsample_layers)]
    return nn.Sequential(*layers)


def tile_starts(size: int, tile: int, overlap: float) -> list[int]:
    stride = int(tile * (1 - overlap))
    steps = int(math.ceil((size - tile) / stride)) + 1
    return [i * stride for i in range(steps)]


def split_tiles(x: torch.Tensor, tile: int, overlap: float) -> torch.Tensor:
    """(B,C,S,S) -> (steps*steps*B, C, tile, tile), row-major tiles, batch innermost."""
    starts = tile_starts(x.shape[-1], tile, overlap)
    return torch.cat([x[..., y:y + tile, x0:x0 + tile] for y in starts for x0 in starts], 0)


def merge_tiles(tiles: torch.Tensor, batch: int, trim: int) -> torch.Tensor:
    """Inverse of ``split_tiles`` on feature maps: drop ``trim`` cells on every inner tile edge."""
    steps = int(math.isqrt(tiles.shape[0] // batch))
    rows = []
    for j in range(steps):
        cols = []
        for i in range(steps):
            t = tiles[batch * (j * steps + i): batch * (j * steps + i + 1)]
            h, w = t.shape[-2:]
            top, bottom = (trim if j else 0), h - (trim if j < steps - 1 else 0)
            left, right = (trim if i else 0), w - (trim if i < steps - 1 else 0)
            cols.append(t[..., top:bottom, left:right])
        rows.append(torch.cat(cols, -1))
    return torch.cat(rows, -2)


class MultiresEncoder(nn.Module):
    """Pyramid tiles and the downsampled image through one shared ViT (``patch_encoder``)."""

    def __init__(self, patch_encoder: nn.Module, vit_size: int, hook_blocks: tuple[int, ...], dims: MultiresDims):
        super().__init__()
        grid = vit_size // patch_encoder.patch_size
        if vit_size % patch_encoder.patch_size or grid % 8:
            raise ValueError(f"vit_size {vit_size} must be a multiple of 8 x the patch size "
                             f"{patch_encoder.patch_size} (the tile overlaps are trimmed in whole tokens)")
        if len(hook_blocks) != 4:
            raise ValueError(f"the multi-resolution encoder takes 4 hook blocks, got {hook_blocks}")
        self.patch_encoder = patch_encoder
        self.vit_size = vit_size
        self.hook_blocks = tuple(hook_blocks)
        self.grid = grid
        dim = patch_encoder.embed_dim
        self.upsample_latent0 = project_upsample(dim, dims.latent, 1)
        self.upsample_latent1 = project_upsample(dim, dims.latent, 2)
        self.upsample_latent2 = project_upsample(dim, dims.latent, 2)
        self.upsample_latent3 = project_upsample(dim, dims.latent, 2)
        self.upsample0 = project_upsample(dim, dims.full, 3)
        self.upsample1 = project_upsample(dim, dims.half, 1)
        self.upsample2 = project_upsample(dim, dims.low, 1)
        self.upsample_lowres = nn.ConvTranspose2d(dim, dims.low, 2, stride=2)
        self.fuse_lowres = nn.Conv2d(dims.low * 2, dims.low, 1)

    @property
    def img_size(self) -> int:
        return 4 * self.vit_size

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        """(B,3,S,S) normalised -> [latent0..3, full, half, low] feature maps (see ``INVERTED_SKIPS``)."""
        batch = x.shape[0]
        half = F.interpolate(x, scale_factor=0.5, mode="bilinear", align_corners=False)
        low = F.interpolate(x, scale_factor=0.25, mode="bilinear", align_corners=False)
        full_tiles = split_tiles(x, self.vit_size, 0.25)
        half_tiles = split_tiles(half, self.vit_size, 0.5)
        final, hooks = self.patch_encoder.encode(torch.cat([full_tiles, half_tiles, low], 0), self.hook_blocks)
        n_full, n_half = len(full_tiles), len(half_tiles)
        # trims: half of each overlap in tokens (25% and 50% of the tile)
        trim_full, trim_half = self.grid // 8, self.grid // 4
        latents = [merge_tiles(h[:n_full], batch, trim_full) for h in hooks]
        full_map = merge_tiles(final[:n_full], batch, trim_full)
        half_map = merge_tiles(final[n_full:n_full + n_half], batch, trim_half)
        low_map = final[n_full + n_half:]
        lowres = self.upsample_lowres(low_map)
        return [
            self.upsample_latent0(latents[0]),
            self.upsample_latent1(latents[1]),
            self.upsample_latent2(latents[2]),
            self.upsample_latent3(latents[3]),
            self.upsample0(full_map),
            self.upsample1(half_map),
            self.fuse_lowres(torch.cat([self.upsample2(low_map), lowres], 1)),
        ]


class ResidualBlock(nn.Module):
    """x + conv3x3(relu(conv3x3(relu(x))))."""

    def __init__(self, dim: int):
        super().__init__()
        self.residual = nn.Sequential(nn.ReLU(False), nn.Conv2d(dim, dim, 3, padding=1),
                                      nn.ReLU(False), nn.Conv2d(dim, dim, 3, padding=1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.residual(x)


class FusionBlock(nn.Module):
    """Adds the refined skip to the running features, refines, optionally upsamples 2x, projects."""

    def __init__(self, dim: int, deconv: bool, with_skip: bool = True):
        super().__init__()
        self.resnet1 = ResidualBlock(dim) if with_skip else nn.Identity()
        self.resnet2 = ResidualBlock(dim)
        self.deconv = nn.ConvTranspose2d(dim, dim, 2, stride=2, bias=False) if deconv else None
        self.out_conv = nn.Conv2d(dim, dim, 1)

    def forward(self, x: torch.Tensor, skip: torch.Tensor | None = None) -> torch.Tensor:
        if skip is not None:
            x = x + self.resnet1(skip)
        x = self.resnet2(x)
        if self.deconv is not None:
            x = self.deconv(x)
        return self.out_conv(x)


class MultiresDecoder(nn.Module):
    """Coarse-to-fine fusion of the seven encoder maps; level i reads encoder map ``INVERTED_SKIPS[i]``."""

    def __init__(self, dims: MultiresDims):
        super().__init__()
        in_dims = {0: dims.latent, 1: dims.latent, 2: dims.latent, 3: dims.latent, 4: dims.full, 5: dims.half,
                   6: dims.low}
        levels = len(INVERTED_SKIPS)
        self.dim_decoder = dims.decoder
        self.convs = nn.ModuleList(nn.Conv2d(in_dims[INVERTED_SKIPS[i]], dims.decoder, 3, padding=1, bias=False)
                                   for i in range(levels))
        self.fusions = nn.ModuleList(FusionBlock(dims.decoder, DECONV_LEVELS[i], with_skip=i < levels - 1)
                                     for i in range(levels))

    def forward(self, encodings: list[torch.Tensor],
                extra: list[torch.Tensor | None] | None = None) -> torch.Tensor:
        """``extra``: optional per-level additions to the projected skips (the teacher's prompt layers)."""
        levels = len(self.fusions)
        features = self.fusions[-1](self._skip(encodings, extra, levels - 1))
        for i in range(levels - 2, -1, -1):
            features = self.fusions[i](features, self._skip(encodings, extra, i))
        return features

    def _skip(self, encodings, extra, level: int) -> torch.Tensor:
        skip = self.convs[level](encodings[INVERTED_SKIPS[level]])
        if extra is not None and extra[level] is not None:
            skip = skip + extra[level]
        return skip


def depth_head(dim_decoder: int, last_dim: int) -> nn.Sequential:
    """conv, 2x transposed conv, conv+ReLU, four conv+ReLU refinements, 1x1 conv + ReLU (zero bias)."""
    half = dim_decoder // 2
    layers: list[nn.Module] = [nn.Conv2d(dim_decoder, half, 3, padding=1),
                               nn.ConvTranspose2d(half, half, 2, stride=2),
                               nn.Conv2d(half, last_dim, 3, padding=1), nn.ReLU(True)]
    for _ in range(4):
        layers += [nn.Conv2d(last_dim, last_dim, 3, padding=1), nn.ReLU(True)]
    layers += [nn.Conv2d(last_dim, 1, 1), nn.ReLU(True)]
    head = nn.Sequential(*layers)
    nn.init.zeros_(head[-2].bias)
    return head


def level_sizes(grid: int) -> list[int]:
    """Side of the decoder's skip input at each level, fine (0) to coarse (6), for ViT tiles of
    ``grid`` x ``grid`` tokens: the full-size map (4 x grid) upsampled 8x (``upsample0``)."""
    sizes = [32 * grid]
    for upsamples in DECONV_LEVELS[1:]:
        sizes.append(sizes[-1] // 2 if upsamples else sizes[-1])
    return sizes
