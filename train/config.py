"""Typed, validated training configs: presets ``tiny`` / ``small`` / ``base`` / ``large``.

A config file (YAML, TOML or JSON) names a preset and overrides fields::

    preset: tiny
    model: {depth: 4}
    optim: {warmup_iters: 10}
    data: {crop: [112, 140], weights: {synthetic: 2.0, rig: 1.0}}

``depthcur train STAGE`` has one option per field (``--model-depth 4``): ``--preset`` picks the
base, ``--config FILE`` (the file above) replaces some of its values and flags replace those.
The resolved config is saved as ``config.json`` in every run folder, and a resumed run
checks that it matches.
"""

from __future__ import annotations

import dataclasses
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping

from depthcur.core.exits import FieldValueError, UsageError
from depthcur.core.options import build, values_from_mapping
from depthcur.core.validate import FRACTION, Checked, check_fields

if TYPE_CHECKING:
    from .models.metric_anything import MultiresSpec
    from .models.vit import BackboneSpec


class ConfigError(ValueError):
    pass


#: a positive whole number
POSITIVE = {"min": 1}


#: the prompt/distill networks (models/networks.py, models/metric_anything.py)
NETWORKS = ("dpt", "multires")
MULTIRES_SIZES = ("tiny", "small", "released")
VIT_FAMILIES = ("dinov3", "dinov2")


@dataclass
class ModelConfig(Checked):
    """The network: DINOv2-style ViT backbone, ConvStack/DPT decoders, prompt branch."""

    #: ViT token width
    embed_dim: int = field(default=384, metadata=POSITIVE)
    #: ViT blocks
    depth: int = field(default=12, metadata=POSITIVE)
    num_heads: int = field(default=6, metadata=POSITIVE)
    mlp_ratio: float = field(default=4.0, metadata={"above": 0})
    #: ViT patch size in pixels (14, as DINOv2)
    patch_size: int = field(default=14, metadata={"choices": (14,)})
    #: position-embedding grid side (DINOv2: 37, pretrained at 518 px)
    pos_grid: int = field(default=37, metadata=POSITIVE)
    num_register_tokens: int = field(default=0, metadata={"min": 0})
    #: ConvStack decoder channels, coarse to fine (5 stages)
    decoder_channels: tuple[int, ...] = field(default=(256, 128, 64, 32, 32), metadata=POSITIVE)
    #: DPT head feature width
    dpt_features: int = field(default=128, metadata=POSITIVE)
    #: prompt-injection branch width (0 = dpt_features)
    prompt_width: int = field(default=0, metadata={"min": 0})
    #: residual blocks per scale in the prompt branch
    prompt_blocks: int = field(default=3, metadata={"min": 0})
    #: MDM output: "none" = log depth directly (paper); "fill"/"median" = residual over the visible depth
    depth_prior: str = "none"
    #: MDM: ViT blocks whose projected RGB tokens are summed (empty: 4 evenly spaced, ending at the last)
    intermediate_layers: tuple[int, ...] = field(default=(), metadata={"min": 0})
    #: MDM: token budget (lo, hi) drawn per training step; (0, 0) = the training crop's own patch count
    num_tokens_range: tuple[int, int] = field(default=(0, 0), metadata={"min": 0, "ordered": "<="})
    #: prompt/distill network: dpt (single-scale ViT + DPT head, sized by the fields above) or multires
    #: (MetricAnything's DepthPro-style shared-ViT multi-resolution network, sized by model.multires)
    network: str = field(default="dpt", metadata={"choices": NETWORKS})
    #: multires size: tiny, small, or released (Student-DepthMap: DINOv3 ViT-H+/16, 1536 px)
    multires: str = field(default="tiny", metadata={"choices": MULTIRES_SIZES})
    #: multires ViT: dinov3 (patch 16, RoPE, storage tokens) or dinov2 (patch 14, same width/depth)
    vit: str = field(default="dinov3", metadata={"choices": VIT_FAMILIES})

    @property
    def input_patch(self) -> int:
        """The patch the network's input is tiled in: the ViT's (16 for DINOv3 multires networks)."""
        return self.multires_spec().vit.patch_size if self.network == "multires" else self.patch_size

    def multires_spec(self) -> "MultiresSpec":
        from .models.metric_anything import multires_spec

        return multires_spec(self.multires, self.vit)

    def backbone_spec(self) -> "BackboneSpec":
        from .models.vit import BackboneSpec

        return BackboneSpec(self.embed_dim, self.depth, self.num_heads, self.mlp_ratio, self.patch_size,
                            self.pos_grid, self.num_register_tokens)


#: learning-rate shapes after the warm-up: ``step`` multiplies by decay_factor every decay_every steps
#: (LingBot-Depth); ``cosine`` falls from the peak to 0 at run.steps; ``constant`` stays at the peak
SCHEDULES = ("step", "cosine", "constant")
#: which parameter groups the linear warm-up ramps: only the ViT (LingBot-Depth), or every group
WARMUP_GROUPS = ("backbone", "all")


@dataclass
class OptimConfig(Checked):
    """AdamW with a backbone/head learning-rate split, warm-up and a decay schedule."""

    lr_backbone: float = field(default=1e-5, metadata={"above": 0})
    lr_head: float = field(default=1e-4, metadata={"above": 0})
    #: AdamW betas
    betas: tuple[float, float] = field(default=(0.9, 0.999), metadata={"min": 0, "below": 1})
    weight_decay: float = field(default=0.05, metadata={"min": 0})
    #: linear warm-up of the learning rate (optimizer steps) of the warmup_groups
    warmup_iters: int = field(default=2000, metadata={"min": 0})
    #: backbone: only the ViT warms up (LingBot-Depth); all: every parameter group
    warmup_groups: str = field(default="backbone", metadata={"choices": WARMUP_GROUPS})
    #: after the warm-up: step (x decay_factor every decay_every steps), cosine (to 0 at run.steps), constant
    schedule: str = field(default="step", metadata={"choices": SCHEDULES})
    #: step schedule: multiply the learning rates by decay_factor every this many iterations
    decay_every: int = field(default=25000, metadata=POSITIVE)
    decay_factor: float = field(default=0.5, metadata={"above": 0, "max": 1})
    #: gradient-norm clip
    clip_norm: float = field(default=1.0, metadata={"above": 0})


@dataclass
class DataConfig(Checked):
    """Batches, crops, dataset mixing and augmentation."""

    #: images per device per forward pass
    batch_size: int = field(default=8, metadata=POSITIVE)
    #: images per optimizer step over all devices: batch_size x world size x gradient-accumulation steps
    #: (0 = batch_size x world size, no accumulation); must divide evenly
    global_batch: int = field(default=0, metadata={"min": 0})
    #: (H, W); multiples of the patch size are used
    crop: tuple[int, int] = field(default=(480, 640), metadata=POSITIVE)
    #: per-dataset mixing weights by Sample.dataset; unnamed datasets get weight 1
    weights: dict[str, float] = field(default_factory=dict, metadata={"min": 0})
    #: shuffle the shards and samples (per seed)
    shuffle: bool = True
    #: batches decoded and augmented ahead in a background thread (0 = in the training thread;
    #: -1 = auto: 2 on CUDA, 0 on CPU where the thread would compete with the model for cores)
    prefetch_batches: int = field(default=-1, metadata={"min": -1})
    #: random crop side as a fraction of the image (lo, hi)
    crop_scale: tuple[float, float] = field(default=(0.5, 1.0), metadata={"above": 0, "max": 1, "ordered": "<="})
    #: per-batch crop aspect ratio (width / height) drawn log-uniformly from (lo, hi); the crop keeps about
    #: data.crop's pixel count in whole patches. (0, 0) = off: every batch has data.crop's shape
    aspect_range: tuple[float, float] = field(default=(0.0, 0.0), metadata={"min": 0, "ordered": "<="})
    #: augmentation probabilities and the colour-jitter strength
    flip_prob: float = field(default=0.5, metadata=FRACTION)
    color_jitter: float = field(default=0.2, metadata={"min": 0})
    jpeg_prob: float = field(default=0.2, metadata=FRACTION)
    blur_prob: float = field(default=0.1, metadata=FRACTION)
    shot_noise_prob: float = field(default=0.2, metadata=FRACTION)
    #: complete-depth datasets (sim/rendered GT): corrupt the raw input with noise + random holes
    corrupt_complete_depth: bool = True


@dataclass
class MaskConfig(Checked):
    """MDM depth-token masking."""

    #: chance that a depth token with some missing pixels is masked
    mixed_mask_prob: float = field(default=0.75, metadata=FRACTION)
    #: share of depth tokens masked per sample, drawn from (lo, hi)
    ratio_range: tuple[float, float] = field(default=(0.6, 0.9), metadata={**FRACTION, "ordered": "<="})
    #: share of samples with every depth token masked
    monocular_prob: float = field(default=0.0, metadata=FRACTION)


#: where the prompt stage's prior depth P_d comes from (depthcur.train.priors)
PRIOR_KINDS = ("auto", "flat", "mdm", "student", "depthpro")


@dataclass
class PromptConfig(Checked):
    """Sparse metric prompts (MetricAnything pretraining)."""

    #: number of prompt pixels at the reference resolution; scaled by pixel count
    count_range: tuple[int, int] = field(default=(2000, 40000), metadata={"min": 1, "ordered": "<="})
    #: pixels of the paper's training resolution, 1536 x 1536 (there N is about 1 %)
    reference_pixels: int = field(default=1536 * 1536, metadata=POSITIVE)
    #: fewest prompt pixels per sample
    min_count: int = field(default=16, metadata=POSITIVE)
    #: nearest prompt pixels per PDSA fit (Prior Depth Anything's K)
    pdsa_neighbours: int = field(default=5, metadata=POSITIVE)
    #: prior depth model P_d for GMDR/PDSA; auto: from --prior (none: flat, a run: its stage, a folder: DepthPro)
    prior: str = field(default="auto", metadata={"choices": PRIOR_KINDS})
    #: loss weights: robust MAE and SSI-MAGE (synthetic images) on inverse depth
    alpha_mae: float = field(default=15.0, metadata={"min": 0})
    beta_ssi: float = field(default=5.0, metadata={"min": 0})


@dataclass
class DistillConfig(Checked):
    """Teacher-to-student distillation losses."""

    #: C in D_log = 1 - ln(D)/ln(C)
    log_base: float = field(default=400.0, metadata={"above": 1})
    #: loss weights: distance-balanced loss and SSI-MAGE, both on D_log
    gamma_balanced: float = field(default=10.0, metadata={"min": 0})
    delta_ssi: float = field(default=2.0, metadata={"min": 0})


@dataclass
class RunConfig(Checked):
    """Steps, seed, logging and checkpoints."""

    #: optimizer steps in all
    steps: int = field(default=250000, metadata=POSITIVE)
    seed: int = field(default=0, metadata={"min": 0})
    #: logging interval (steps)
    log_every: int = field(default=1, metadata=POSITIVE)
    checkpoint_every: int = field(default=1000, metadata=POSITIVE)
    #: newest checkpoints kept in the run folder
    keep_checkpoints: int = field(default=2, metadata=POSITIVE)
    bf16: bool = True                # autocast on CUDA only; CPU runs in fp32 for exact resume


PRESETS = ("tiny", "small", "base", "large")


@dataclass(frozen=True)
class Recipe:
    """A paper's training schedule: what ``--recipe`` sets on top of a size preset (the network
    stays the preset's). Flags and config-file keys still replace any of these values."""

    #: where the numbers come from
    source: str
    steps: int
    warmup_iters: int
    warmup_groups: str
    #: peak learning rates: the ViT, and everything else (DPT head, decoder, prompt layers)
    lr_backbone: float
    lr_head: float
    schedule: str
    #: training resolution (H, W)
    crop: tuple[int, int]
    #: images per optimizer step over all devices (0: the paper's figure is not in the text we read)
    global_batch: int = 0
    decay_every: int = 25000
    decay_factor: float = 0.5


#: the papers' recipes (docs/train.md quotes each next to its section). MetricAnything's text states
#: steps, warm-up, peak rates and resolution, not the decay after the warm-up: cosine is our choice
RECIPES: dict[str, Recipe] = {
    "mdm-paper": Recipe("LingBot-Depth, training details (MDM)", steps=250000, warmup_iters=2000,
                        warmup_groups="backbone", lr_backbone=1e-5, lr_head=1e-4, schedule="step",
                        crop=(480, 640), global_batch=1024, decay_every=25000, decay_factor=0.5),
    "teacher-paper": Recipe("MetricAnything Appendix (teacher, sparse-prompt pretraining)", steps=100000,
                            warmup_iters=10000, warmup_groups="all", lr_backbone=1e-6, lr_head=1e-5,
                            schedule="cosine", crop=(1536, 1536)),
    "student-paper": Recipe("MetricAnything Appendix (student from scratch)", steps=200000, warmup_iters=5000,
                            warmup_groups="all", lr_backbone=2e-6, lr_head=2e-5, schedule="cosine",
                            crop=(1536, 1536)),
    "student-moge2": Recipe("MetricAnything Appendix (student fine-tuned from MoGe-2)", steps=10000,
                            warmup_iters=1000, warmup_groups="all", lr_backbone=2.5e-6, lr_head=2.5e-5,
                            schedule="cosine", crop=(1536, 1536)),
}
#: ``none`` keeps the preset's own schedule
RECIPE_NAMES = ("none", *RECIPES)
#: base/large crop aspect ratios (width / height): portrait 1:2 to landscape 2:1. The LingBot-Depth
#: description (../shared/DESIGN.md) says only "any aspect ratio", so this range is our choice
WIDE_ASPECT_RANGE = (0.5, 2.0)


@dataclass
class TrainConfig(Checked):
    #: the preset the other values start from: tiny, small, base or large
    preset: str = field(default="tiny", metadata={"choices": PRESETS})
    #: a paper's schedule (steps, warm-up, learning rates, decay, resolution, global batch) on top of
    #: the preset's network: none, mdm-paper, teacher-paper, student-paper, student-moge2
    recipe: str = field(default="none", metadata={"choices": RECIPE_NAMES})
    model: ModelConfig = field(default_factory=ModelConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    data: DataConfig = field(default_factory=DataConfig)
    mask: MaskConfig = field(default_factory=MaskConfig)
    prompt: PromptConfig = field(default_factory=PromptConfig)
    distill: DistillConfig = field(default_factory=DistillConfig)
    run: RunConfig = field(default_factory=RunConfig)

    def validate(self) -> "TrainConfig":
        from .models.depth_prior import DEPTH_PRIORS

        m, d = self.model, self.data
        checks = [
            (m.embed_dim % m.num_heads == 0, "model.embed_dim must be divisible by model.num_heads"),
            (m.depth_prior in DEPTH_PRIORS, f"model.depth_prior must be one of {', '.join(DEPTH_PRIORS)}"),
            (len(m.decoder_channels) == 5, "model.decoder_channels needs 5 entries (4 x2 stages = 16x)"),
            (all(0 <= i < m.depth for i in m.intermediate_layers), "model.intermediate_layers must be 0..depth-1"),
            (0 <= m.num_tokens_range[0] <= m.num_tokens_range[1], "model.num_tokens_range must be 0 <= lo <= hi"),
            (all(c >= m.input_patch for c in d.crop), "data.crop must be at least one patch"),
            (d.aspect_range[1] == 0 or d.aspect_range[0] > 0, "data.aspect_range must be (0, 0) (off) or lo > 0"),
            (d.global_batch % d.batch_size == 0, f"data.global_batch ({d.global_batch}) must be a multiple of "
                                                 f"data.batch_size ({d.batch_size}) x the world size"),
        ]
        problems = [msg for ok, msg in checks if not ok] + self._field_problems()
        if problems:
            raise ConfigError(f"invalid training config ({self.preset}): " + "; ".join(problems))
        return self

    def _field_problems(self) -> list[str]:
        """Each section's declared field constraints, checked again: sections can be changed in place."""
        problems = []
        for name in ("", "model", "optim", "data", "mask", "prompt", "distill", "run"):
            try:
                check_fields(getattr(self, name) if name else self)
            except FieldValueError as exc:
                problems.append(f"{name + '.' if name else ''}{exc.field}: {exc.what}; {exc.todo}")
        return problems

    @property
    def crop(self) -> tuple[int, int]:
        """The training crop rounded down to whole patches of the network's input."""
        p = self.model.input_patch
        return (self.data.crop[0] // p * p, self.data.crop[1] // p * p)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def save(self, path: Path) -> None:
        from depthcur.schemas import write_json_atomic

        write_json_atomic(path, self.to_dict())


def preset_config(name: str) -> TrainConfig:
    """The named preset, not yet validated."""
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
                           data=DataConfig(batch_size=8, crop=(476, 630), aspect_range=WIDE_ASPECT_RANGE))
    if name == "large":  # ViT-L/14 as in LingBot-Depth / MetricAnything
        return TrainConfig(preset="large", model=ModelConfig(embed_dim=1024, depth=24, num_heads=16,
                                                             decoder_channels=(512, 256, 128, 64, 32),
                                                             dpt_features=256),
                           data=DataConfig(batch_size=8, crop=(480, 640), aspect_range=WIDE_ASPECT_RANGE))
    raise FieldValueError("preset", f"unknown config preset {name!r}", f"use {', '.join(PRESETS)}")



def base_config(preset: str, recipe: str = "none") -> TrainConfig:
    """The size preset with a recipe's schedule on top, not yet validated: what flags start from."""
    cfg = preset_config(preset)
    if recipe == "none":
        return cfg
    if recipe not in RECIPES:
        raise FieldValueError("recipe", f"unknown recipe {recipe!r}", f"use {', '.join(RECIPE_NAMES)}")
    r = RECIPES[recipe]
    optim = dataclasses.replace(cfg.optim, lr_backbone=r.lr_backbone, lr_head=r.lr_head, warmup_iters=r.warmup_iters,
                                warmup_groups=r.warmup_groups, schedule=r.schedule, decay_every=r.decay_every,
                                decay_factor=r.decay_factor)
    data = dataclasses.replace(cfg.data, crop=r.crop, global_batch=r.global_batch)
    return dataclasses.replace(cfg, recipe=recipe, optim=optim, data=data,
                               run=dataclasses.replace(cfg.run, steps=r.steps))


def accumulation_steps(cfg: TrainConfig, world_size: int) -> int:
    """Forward/backward passes per optimizer step so data.global_batch = batch_size x world size x this."""
    d = cfg.data
    if d.global_batch == 0:
        return 1
    per_pass = d.batch_size * world_size
    if d.global_batch % per_pass:
        raise UsageError(f"{d.global_batch} images per step cannot be split into passes of data.batch_size "
                         f"{d.batch_size} x {world_size} device(s) = {per_pass}", "--global-batch",
                         "give a multiple of that, or change --data-batch-size")
    return d.global_batch // per_pass


def dry_run_summary(stage: str, cfg: TrainConfig, world_size: int = 1) -> dict[str, Any]:
    """What ``depthcur train STAGE --dry-run`` prints: the resolved schedule, nothing read or trained."""
    o, d = cfg.optim, cfg.data
    accumulation = accumulation_steps(cfg, world_size)
    return {
        "stage": stage, "preset": cfg.preset, "recipe": cfg.recipe,
        "source": RECIPES[cfg.recipe].source if cfg.recipe in RECIPES else "the preset's own schedule",
        "steps": cfg.run.steps, "warmup_steps": o.warmup_iters, "warmup_groups": o.warmup_groups,
        "lr": {"backbone": o.lr_backbone, "head": o.lr_head},
        "schedule": {"kind": o.schedule, **({"decay_every": o.decay_every, "decay_factor": o.decay_factor}
                                             if o.schedule == "step" else {})},
        "resolution": list(cfg.crop),
        "global_batch": d.batch_size * world_size * accumulation, "per_device_batch": d.batch_size,
        "world_size": world_size, "accumulation_steps": accumulation,
    }


def load_config(name_or_file: str | Path | TrainConfig) -> TrainConfig:
    """A preset name, a YAML/TOML/JSON file holding ``preset:`` plus overrides, or a config (validated)."""
    if isinstance(name_or_file, TrainConfig):
        return name_or_file.validate()
    text = str(name_or_file)
    if text in PRESETS:
        return preset_config(text).validate()
    path = Path(text)
    if not path.is_file():
        raise ConfigError(f"training config {text!r}: neither a preset ({', '.join(PRESETS)}) nor an existing file")
    from depthcur.core.config import read_config_file

    return overlay_preset(read_config_file(path), f"config file {path}")


def overlay_preset(data: Mapping[str, Any], where: str) -> TrainConfig:
    """The preset ``data`` names (tiny if none) with ``data``'s other values (nested sections) on top."""
    try:
        values = values_from_mapping(TrainConfig, data, where)
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    try:
        base = base_config(values.get("preset", "tiny"), values.get("recipe", "none"))
        return build(TrainConfig, values, base=base).validate()
    except ConfigError as exc:
        raise ConfigError(f"{where}: {exc}") from None
    except FieldValueError as exc:          # a field's declared constraint (core/validate.py)
        raise ConfigError(f"{where}: key {exc.field}: {exc.what}; {exc.todo}") from None


#: options older runs saved that no longer exist, by section: the Gaussian PDSA's width (PDSA is now
#: Prior Depth Anything's k-nearest-prompt fit, ``prompt.pdsa_neighbours``)
RETIRED_KEYS = {"prompt": ("pdsa_sigma",)}


def config_from_dict(data: dict[str, Any]) -> TrainConfig:
    """Rebuild a saved ``config.json``; keys of retired options are dropped, so older runs still load."""
    data = {section: ({k: v for k, v in values.items() if k not in RETIRED_KEYS[section]}
                      if section in RETIRED_KEYS and isinstance(values, Mapping) else values)
            for section, values in data.items()}
    return overlay_preset(data, "config.json")


def replace_steps(cfg: TrainConfig, steps: int | None) -> TrainConfig:
    if steps is not None:
        cfg = dataclasses.replace(cfg, run=dataclasses.replace(cfg.run, steps=int(steps)))
    return cfg.validate()


@dataclass(kw_only=True)
class TrainRun:
    """``depthcur train mdm``: what to train on, where the run lives and where it runs (the recipe is TrainConfig)."""

    #: shard file or folder, optionally NAME=PATH (NAME keys data.weights); repeat to mix datasets
    #: (needed unless --dry-run)
    data: list[str] = field(default_factory=list)
    #: run folder: config.json, checkpoints/, metrics.csv, tensorboard/
    out: Path = Path("runs/mdm")
    #: continue exactly from the newest checkpoint in --out
    resume: bool = False
    #: local DINOv2 checkpoint (.pth) to load into the ViT (DINOv3 with --model-network multires)
    init_backbone: Path | None = None
    #: cpu, cuda, cuda:1 ... (default: cuda if present)
    device: str | None = None
    #: torch CPU threads
    threads: int | None = field(default=None, metadata={"min": 1})
    #: train with Ray Train TorchTrainer on N workers (0 = this process, or torchrun)
    ray_workers: int = field(default=0, metadata={"min": 0})
    #: join a Ray cluster (HOST:PORT or 'auto'); local by default
    ray_address: str | None = None
    #: print the resolved schedule as JSON (steps, warm-up, learning rates, resolution, batches) and exit;
    #: reads no data
    dry_run: bool = False

    def __post_init__(self):
        check_fields(self)   # an empty --data is refused when a run starts (a --dry-run needs none)


@dataclass(kw_only=True)
class MDMRun(TrainRun):
    """``depthcur train mdm``: TrainRun plus a whole network to start from."""

    #: start from all weights (decoder included) of a released LingBot-Depth model.pt or a depthcur MDM
    #: run/checkpoint; its model_config sets the network, the preset the rest
    init_from: Path | None = None


@dataclass(kw_only=True)
class PromptRun(TrainRun):
    """``depthcur train prompt``."""

    out: Path = Path("runs/prompt")
    #: prior depth model (--prompt-prior): an MDM or distill run/checkpoint, or a Depth Pro clone; none: flat
    prior: Path | None = None


@dataclass(kw_only=True)
class DistillRun(TrainRun):
    """``depthcur train distill``."""

    out: Path = Path("runs/distill")
    #: prompt-stage run or checkpoint; without it --data must already be teacher label shards
    teacher: Path | None = None
    #: fine-tune a released MetricAnything Student-DepthMap state dict (.pt/.pth) on the teacher labels:
    #: sets model.network multires, model.multires released
    init_from: Path | None = None
