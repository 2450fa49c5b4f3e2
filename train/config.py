"""Typed, validated training configs: presets ``tiny`` / ``small`` / ``base`` / ``large``.

A config file (YAML or TOML) names a preset and overrides fields::

    preset: tiny
    model: {depth: 4}
    optim: {warmup_iters: 10}
    data: {crop: [112, 140], weights: {synthetic: 2.0, rig: 1.0}}

The resolved config is saved as ``config.json`` in every run folder, and a resumed run
checks that it matches.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import asdict, dataclass, field, fields, is_dataclass
from pathlib import Path
from typing import Any

from .models.depth_prior import DEPTH_PRIORS
from .models.vit import BackboneSpec


class ConfigError(ValueError):
    pass


@dataclass
class ModelConfig:
    embed_dim: int = 384
    depth: int = 12
    num_heads: int = 6
    mlp_ratio: float = 4.0
    patch_size: int = 14
    pos_grid: int = 37
    num_register_tokens: int = 0
    decoder_channels: tuple[int, ...] = (256, 128, 64, 32, 32)
    dpt_features: int = 128
    prompt_width: int = 0            # prompt-injection branch width (0 = dpt_features)
    prompt_blocks: int = 3           # residual blocks per scale in the prompt branch
    #: MDM output: "none" = log depth directly (paper); "fill"/"median" = residual over the visible depth
    depth_prior: str = "none"

    def backbone_spec(self) -> BackboneSpec:
        return BackboneSpec(self.embed_dim, self.depth, self.num_heads, self.mlp_ratio, self.patch_size,
                            self.pos_grid, self.num_register_tokens)


@dataclass
class OptimConfig:
    lr_backbone: float = 1e-5
    lr_head: float = 1e-4
    betas: tuple[float, float] = (0.9, 0.999)
    weight_decay: float = 0.05
    warmup_iters: int = 2000
    decay_every: int = 25000
    decay_factor: float = 0.5
    clip_norm: float = 1.0


@dataclass
class DataConfig:
    batch_size: int = 8
    crop: tuple[int, int] = (480, 640)             # (H, W); multiples of the patch size are used
    #: per-dataset mixing weights by Sample.dataset; unnamed datasets get weight 1
    weights: dict[str, float] = field(default_factory=dict)
    shuffle: bool = True
    #: batches decoded and augmented ahead in a background thread (0 = in the training thread;
    #: -1 = auto: 2 on CUDA, 0 on CPU where the thread would compete with the model for cores)
    prefetch_batches: int = -1
    crop_scale: tuple[float, float] = (0.5, 1.0)
    flip_prob: float = 0.5
    color_jitter: float = 0.2
    jpeg_prob: float = 0.2
    blur_prob: float = 0.1
    shot_noise_prob: float = 0.2
    #: complete-depth datasets (sim/rendered GT): corrupt the raw input with noise + random holes
    corrupt_complete_depth: bool = True


@dataclass
class MaskConfig:
    mixed_mask_prob: float = 0.75
    ratio_range: tuple[float, float] = (0.6, 0.9)
    monocular_prob: float = 0.0      # share of samples with every depth token masked


@dataclass
class PromptConfig:
    #: number of prompt pixels at the reference resolution; scaled by pixel count
    count_range: tuple[int, int] = (2000, 40000)
    reference_pixels: int = 480 * 640
    min_count: int = 16
    pdsa_sigma: float = 0.08          # Gaussian width of the per-pixel scale field, x image diagonal
    alpha_mae: float = 15.0
    beta_ssi: float = 5.0


@dataclass
class DistillConfig:
    log_base: float = 400.0          # C in D_log = 1 - ln(D)/ln(C)
    gamma_balanced: float = 10.0
    delta_ssi: float = 2.0


@dataclass
class RunConfig:
    steps: int = 250000
    seed: int = 0
    log_every: int = 1
    checkpoint_every: int = 1000
    keep_checkpoints: int = 2
    bf16: bool = True                # autocast on CUDA only; CPU runs in fp32 for exact resume


@dataclass
class TrainConfig:
    preset: str = "base"
    model: ModelConfig = field(default_factory=ModelConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    data: DataConfig = field(default_factory=DataConfig)
    mask: MaskConfig = field(default_factory=MaskConfig)
    prompt: PromptConfig = field(default_factory=PromptConfig)
    distill: DistillConfig = field(default_factory=DistillConfig)
    run: RunConfig = field(default_factory=RunConfig)

    def validate(self) -> "TrainConfig":
        m, o, d = self.model, self.optim, self.data
        checks = [
            (m.embed_dim % m.num_heads == 0, "model.embed_dim must be divisible by model.num_heads"),
            (m.depth >= 1, "model.depth must be >= 1"),
            (m.patch_size == 14, "model.patch_size must be 14 (DINOv2)"),
            (m.depth_prior in DEPTH_PRIORS, f"model.depth_prior must be one of {', '.join(DEPTH_PRIORS)}"),
            (len(m.decoder_channels) == 5, "model.decoder_channels needs 5 entries (4 x2 stages = 16x)"),
            (o.lr_backbone > 0 and o.lr_head > 0, "optim learning rates must be positive"),
            (0 <= o.betas[0] < 1 and 0 <= o.betas[1] < 1, "optim.betas must be in [0, 1)"),
            (o.warmup_iters >= 0 and o.decay_every >= 1, "optim.warmup_iters >= 0 and decay_every >= 1"),
            (0 < o.decay_factor <= 1, "optim.decay_factor must be in (0, 1]"),
            (d.batch_size >= 1, "data.batch_size must be >= 1"),
            (all(c >= m.patch_size for c in d.crop), "data.crop must be at least one patch"),
            (0 < d.crop_scale[0] <= d.crop_scale[1] <= 1, "data.crop_scale must satisfy 0 < lo <= hi <= 1"),
            (all(w >= 0 for w in d.weights.values()), "data.weights must be >= 0"),
            (0 <= self.mask.ratio_range[0] <= self.mask.ratio_range[1] <= 1, "mask.ratio_range must be in [0,1]"),
            (0 < self.prompt.count_range[0] <= self.prompt.count_range[1], "prompt.count_range must be lo<=hi, >0"),
            (self.distill.log_base > 1, "distill.log_base must be > 1"),
            (self.run.steps >= 1 and self.run.checkpoint_every >= 1, "run.steps and run.checkpoint_every >= 1"),
        ]
        problems = [msg for ok, msg in checks if not ok]
        if problems:
            raise ConfigError(f"invalid training config ({self.preset}): " + "; ".join(problems))
        return self

    @property
    def crop(self) -> tuple[int, int]:
        """The training crop rounded down to whole patches."""
        p = self.model.patch_size
        return (self.data.crop[0] // p * p, self.data.crop[1] // p * p)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def save(self, path: Path) -> None:
        from depthcur.schemas import write_json_atomic

        write_json_atomic(path, self.to_dict())


def _preset(name: str) -> TrainConfig:
    if name == "tiny":
        return TrainConfig(
            preset="tiny",
            model=ModelConfig(embed_dim=48, depth=2, num_heads=2, pos_grid=8, decoder_channels=(48, 32, 16, 16, 16),
                              dpt_features=32, prompt_width=8, prompt_blocks=1),
            optim=OptimConfig(lr_backbone=2e-4, lr_head=2e-3, warmup_iters=5, decay_every=200),
            data=DataConfig(batch_size=2, crop=(56, 70), crop_scale=(0.7, 1.0)),
            prompt=PromptConfig(count_range=(2000, 40000)),
            run=RunConfig(steps=30, checkpoint_every=10))
    if name == "small":
        return TrainConfig(preset="small", model=ModelConfig(embed_dim=384, depth=12, num_heads=6, prompt_blocks=1),
                           data=DataConfig(batch_size=8, crop=(238, 308)))
    if name == "base":
        return TrainConfig(preset="base", model=ModelConfig(embed_dim=768, depth=12, num_heads=12, dpt_features=192,
                                                            prompt_blocks=2),
                           data=DataConfig(batch_size=8, crop=(476, 630)))
    if name == "large":  # ViT-L/14 as in LingBot-Depth / MetricAnything
        return TrainConfig(preset="large", model=ModelConfig(embed_dim=1024, depth=24, num_heads=16,
                                                             decoder_channels=(512, 256, 128, 64, 32),
                                                             dpt_features=256),
                           data=DataConfig(batch_size=8, crop=(480, 640)))
    raise ConfigError(f"unknown config preset {name!r}; use tiny, small, base, large or a .yaml/.toml file")


PRESETS = ("tiny", "small", "base", "large")


def load_config(name_or_file: str | Path) -> TrainConfig:
    """A preset name, or a YAML/TOML/JSON file holding ``preset:`` plus overrides."""
    text = str(name_or_file)
    if text in PRESETS:
        return _preset(text).validate()
    path = Path(text)
    if not path.is_file():
        raise ConfigError(f"--config {text}: neither a preset ({', '.join(PRESETS)}) nor an existing file")
    if path.suffix == ".json":
        data = json.loads(path.read_text())
    else:
        from depthcur.core.config import read_config_file

        data = read_config_file(path)
    base = _preset(str(data.pop("preset", "tiny")))
    try:
        return _merge(base, data, str(path)).validate()
    except ConfigError as exc:
        raise ConfigError(f"config file {path}: {exc}") from exc


def _merge(obj: Any, overrides: dict[str, Any], where: str) -> Any:
    known = {f.name: f for f in fields(obj)}
    for key, value in overrides.items():
        if key not in known:
            raise ConfigError(f"unknown key {where}.{key}; known: {', '.join(sorted(known))}")
        current = getattr(obj, key)
        if is_dataclass(current):
            if not isinstance(value, dict):
                raise ConfigError(f"{where}.{key} must be a mapping")
            _merge(current, value, f"{where}.{key}")
            continue
        setattr(obj, key, _coerce(value, current, f"{where}.{key}"))
    return obj


def _coerce(value: Any, current: Any, where: str) -> Any:
    if isinstance(current, tuple):
        if not isinstance(value, (list, tuple)) or (current and len(value) != len(current)
                                                    and where.split(".")[-1] != "decoder_channels"):
            raise ConfigError(f"{where} must be a list of {len(current)} values")
        return tuple(type(current[0])(v) if current else v for v in value)
    if isinstance(current, dict):
        if not isinstance(value, dict):
            raise ConfigError(f"{where} must be a mapping")
        return {str(k): float(v) for k, v in value.items()}
    if isinstance(current, bool):
        if not isinstance(value, bool):
            raise ConfigError(f"{where} must be true or false")
        return value
    try:
        return type(current)(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{where} must be a {type(current).__name__}, not {value!r}") from None


def config_from_dict(data: dict[str, Any]) -> TrainConfig:
    """Rebuild a saved ``config.json``."""
    data = dict(data)
    base = _preset(str(data.pop("preset", "tiny")))
    return _merge(base, data, "config.json").validate()


def replace_steps(cfg: TrainConfig, steps: int | None) -> TrainConfig:
    if steps is not None:
        cfg = dataclasses.replace(cfg, run=dataclasses.replace(cfg.run, steps=int(steps)))
    return cfg.validate()
