"""Evaluation protocols: seeded functions that turn a sample's GT into a model's input.

A protocol spec is ``name`` or ``name:arg`` (``block-mask:hard``, ``points:100``,
``downsample:8``, ``lidar:32``, ``downsample-priorda:8``, ``lidar-priorda:32``, ``sfm``, ``raw``,
``raw:transparent``, ``mono``, ``fde``, ``depthlm``). Each returns a :class:`ProtocolCase`: the
(possibly resized) RGB, intrinsics and GT, the depth the model sees, an optional sparse prompt, the
pixels the metrics are computed on, FDE regions where the protocol has them, and facts about the
input (point counts, masked fractions, level parameters) that go into the report.

Randomness comes only from the ``rng`` passed in; :func:`protocol_rng` derives it from
(seed, sample key, spec), so a case is reproducible and independent of evaluation order.
"""

from __future__ import annotations

import zlib
from dataclasses import asdict, dataclass, field
from typing import Any, Callable

import cv2
import numpy as np

from depthcur.curate.exports.fde import FdeConfig, boundary_band, target_instances
from depthcur.curate.exports.vqa import UNIFIED_FOCAL_PX, normalise_focal
from depthcur.curate.lidar import VirtualLidarConfig, virtual_lidar
from depthcur.schemas import Intrinsics, MaterialClass, Sample

from . import priorda_prompts
from .metrics import EvalInputError


@dataclass
class ProtocolCase:
    rgb: np.ndarray
    K: Intrinsics
    gt: np.ndarray
    depth_in: np.ndarray
    eval_mask: np.ndarray
    prompt: np.ndarray | None = None
    #: FDE: one dict per target with boolean region masks "foreground", "boundary", "global"
    targets: list[dict[str, np.ndarray]] | None = None
    info: dict[str, Any] = field(default_factory=dict)
    #: the GT side of the metrics, prepared by the runner on first use and shared by every model scored
    #: on this case (a case is not changed after make_case)
    reference: Any = field(default=None, repr=False, compare=False)


@dataclass(frozen=True)
class BlockMaskLevel:
    """Parameters of one block-mask level (block sides are fractions of the short image side)."""

    mask_fraction: float        # blocks are added until at least this fraction of the image is covered
    block_min: float
    block_max: float
    gaussian_sigma_m: float     # additive white noise on the unmasked depth
    kinect_noise: bool          # Nguyen 2012 axial + lateral noise and disparity quantisation


BLOCK_MASK_LEVELS: dict[str, BlockMaskLevel] = {
    "easy": BlockMaskLevel(0.20, 0.05, 0.15, 0.005, False),
    "medium": BlockMaskLevel(0.40, 0.08, 0.20, 0.010, True),
    "hard": BlockMaskLevel(0.60, 0.10, 0.25, 0.020, True),
    "extreme": BlockMaskLevel(0.80, 0.10, 0.30, 0.030, True),
}


@dataclass(frozen=True)
class KinectNoise:
    """Nguyen, Izadi & Lovell 2012 Kinect noise model (frontal surface, θ ≈ 0)."""

    axial_a: float = 0.0012       # σ_z(z) = a + b (z - z0)^2 metres
    axial_b: float = 0.0019
    axial_z0: float = 0.4
    lateral_sigma_px: float = 0.8  # σ_L in pixels
    baseline_m: float = 0.075      # Kinect v1 projector-camera baseline
    disparity_step_px: float = 1.0 / 8.0   # sub-pixel disparity resolution


KINECT = KinectNoise()
DEPTHLM_POINTS = 10
SFM_DEFAULT_POINTS = 500
EXTREME_POINTS = 100


# ---------------------------------------------------------------- seeding and parsing


def protocol_rng(seed: int, key: str, spec: str) -> np.random.Generator:
    return np.random.default_rng([seed, zlib.crc32(key.encode()), zlib.crc32(spec.encode())])


def parse_spec(spec: str) -> tuple[str, str | None]:
    name, _, arg = spec.strip().partition(":")
    if name not in PROTOCOLS:
        raise ValueError(f"unknown protocol {spec!r}; choose from {', '.join(sorted(PROTOCOLS))}")
    return name, (arg or None)


def _int_arg(spec_name: str, arg: str | None, default: int | None = None) -> int:
    if arg is None:
        if default is None:
            raise ValueError(f"protocol {spec_name} needs a number, e.g. {spec_name}:{EXTREME_POINTS}")
        return default
    if arg == "extreme" and spec_name == "points":
        return EXTREME_POINTS
    try:
        value = int(arg)
    except ValueError:
        raise ValueError(f"protocol {spec_name}:{arg}: {arg!r} is not a whole number") from None
    if value <= 0:
        raise ValueError(f"protocol {spec_name}:{arg}: the number must be positive")
    return value


def make_case(sample: Sample, spec: str, rng: np.random.Generator) -> ProtocolCase:
    """Run protocol ``spec`` on ``sample``; the GT must exist and have a valid pixel."""
    name, arg = parse_spec(spec)
    if sample.depth_gt is None:
        raise EvalInputError("the sample has no depth_gt to evaluate against", field="depth_gt", where=sample.key)
    if not (sample.depth_gt > 0).any():
        raise EvalInputError("no valid ground-truth pixel", field="depth_gt", where=sample.key)
    case = PROTOCOLS[name](sample, arg, rng)
    case.info.setdefault("input_valid_fraction", float((case.depth_in > 0).mean()))
    case.info.setdefault("mask_ratio", 1.0 - case.info["input_valid_fraction"])
    return case


def _base_case(sample: Sample, depth_in: np.ndarray, **kwargs: Any) -> ProtocolCase:
    gt = sample.depth_gt.astype(np.float32)
    return ProtocolCase(rgb=sample.rgb, K=sample.K_rgb, gt=gt, depth_in=depth_in.astype(np.float32),
                        eval_mask=gt > 0, **kwargs)


def _sparse(gt: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    out = np.zeros_like(gt, dtype=np.float32)
    out[rows, cols] = gt[rows, cols]
    return out


# ---------------------------------------------------------------- noise models


def kinect_noise(depth: np.ndarray, fx: float, rng: np.random.Generator, model: KinectNoise = KINECT) -> np.ndarray:
    """Lateral jitter, axial noise σ_z = a + b(z - z0)², then disparity quantisation."""
    h, w = depth.shape
    rows = np.clip(np.rint(np.arange(h)[:, None] + rng.normal(0, model.lateral_sigma_px, (h, w))), 0, h - 1)
    cols = np.clip(np.rint(np.arange(w)[None, :] + rng.normal(0, model.lateral_sigma_px, (h, w))), 0, w - 1)
    shifted = depth[rows.astype(int), cols.astype(int)].astype(np.float64)
    valid = shifted > 0
    sigma = model.axial_a + model.axial_b * (shifted - model.axial_z0) ** 2
    noisy = shifted + rng.normal(0, 1, (h, w)) * sigma
    focal_baseline = fx * model.baseline_m
    disparity = np.round(focal_baseline / np.maximum(noisy, 1e-3) / model.disparity_step_px) * model.disparity_step_px
    quantised = np.where(disparity > 0, focal_baseline / np.maximum(disparity, 1e-9), 0.0)
    return np.where(valid, quantised, 0.0).astype(np.float32)


def random_blocks(shape: tuple[int, int], level: BlockMaskLevel, rng: np.random.Generator) -> np.ndarray:
    """Axis-aligned random blocks, added until they cover >= ``level.mask_fraction`` of the image."""
    h, w = shape
    short = min(h, w)
    covered = np.zeros(shape, dtype=bool)
    target = level.mask_fraction * h * w
    while covered.sum() < target:
        bh, bw = (max(1, int(round(rng.uniform(level.block_min, level.block_max) * short))) for _ in range(2))
        top, left = int(rng.integers(0, h - bh + 1)), int(rng.integers(0, w - bw + 1))
        covered[top:top + bh, left:left + bw] = True
    return covered


# ---------------------------------------------------------------- protocols


def block_mask(sample: Sample, arg: str | None, rng: np.random.Generator) -> ProtocolCase:
    """Random blocks over GT depth plus Gaussian and (medium+) Kinect-like noise."""
    if arg not in BLOCK_MASK_LEVELS:
        raise ValueError(f"protocol block-mask:{arg}: choose a level from {', '.join(BLOCK_MASK_LEVELS)}")
    level = BLOCK_MASK_LEVELS[arg]
    depth = sample.depth_gt.astype(np.float32)
    if level.kinect_noise:
        depth = kinect_noise(depth, sample.K_rgb.fx, rng)
    valid = depth > 0
    depth = np.where(valid, np.maximum(depth + rng.normal(0, level.gaussian_sigma_m, depth.shape), 1e-3), 0)
    blocks = random_blocks(depth.shape, level, rng)
    depth[blocks] = 0
    return _base_case(sample, depth, info={"block_fraction": float(blocks.mean()), "level": arg, **asdict(level)})


def random_points(sample: Sample, arg: str | None, rng: np.random.Generator) -> ProtocolCase:
    """N pixels drawn without replacement from the valid GT; the sparse map is input and prompt."""
    count = _int_arg("points", arg)
    rows, cols = np.nonzero(sample.depth_gt > 0)
    if len(rows) < count:
        raise EvalInputError(f"points:{count} needs {count} valid GT pixels, the sample has {len(rows)}",
                             field="depth_gt", where=sample.key)
    chosen = rng.choice(len(rows), size=count, replace=False)
    sparse = _sparse(sample.depth_gt, rows[chosen], cols[chosen])
    return _base_case(sample, sparse, prompt=sparse, info={"n_points": count})


def downsample(sample: Sample, arg: str | None, rng: np.random.Generator) -> ProtocolCase:
    """GT kept at the centre pixel of every F×F cell (a ×F lower-resolution depth map on the full grid)."""
    factor = _int_arg("downsample", arg)
    gt = sample.depth_gt
    offset = factor // 2   # the centre pixel of each cell
    grid = np.zeros(gt.shape, dtype=bool)
    grid[offset::factor, offset::factor] = True
    sparse = np.where(grid, gt, 0).astype(np.float32)
    return _base_case(sample, sparse, prompt=sparse,
                      info={"factor": factor, "grid_points": int(grid.sum()), "n_points": int((sparse > 0).sum())})


def lidar(sample: Sample, arg: str | None, rng: np.random.Generator) -> ProtocolCase:
    """GT sampled by the L-line virtual LiDAR of ``curate lidar --virtual`` (its default azimuth step)."""
    n_lines = _int_arg("lidar", arg)
    sparse = virtual_lidar(sample.depth_gt, sample.K_rgb, VirtualLidarConfig(n_lines=n_lines))
    return _base_case(sample, sparse, prompt=sparse,
                      info={"lines": n_lines, "n_points": int((sparse > 0).sum())})


def downsample_priorda(sample: Sample, arg: str | None, rng: np.random.Generator) -> ProtocolCase:
    """Prior Depth Anything's ×F prompt: GT holes filled, bilinearly downscaled (corners aligned) to
    H/F × W/F, each value at the top-left pixel of its cell where the GT is valid (evaluate/priorda_prompts.py)."""
    factor = _int_arg("downsample-priorda", arg)
    sparse = priorda_prompts.downscale_prompt(sample.depth_gt, factor)
    h, w = sample.depth_gt.shape
    grid_points = priorda_prompts.lowres_size(h, factor) * priorda_prompts.lowres_size(w, factor)
    return _base_case(sample, sparse, prompt=sparse,
                      info={"factor": factor, "grid_points": grid_points, "n_points": int((sparse > 0).sum())})


def lidar_priorda(sample: Sample, arg: str | None, rng: np.random.Generator) -> ProtocolCase:
    """Prior Depth Anything's N-line LiDAR (from OMNI-DC): a synthetic f = H camera, lines at pitches
    over ±0.5 rad, 200 points per line over ±π/2.1 yaw (evaluate/priorda_prompts.py)."""
    n_lines = _int_arg("lidar-priorda", arg)
    sparse, lines_in_view = priorda_prompts.lidar_prompt(sample.depth_gt, n_lines)
    return _base_case(sample, sparse, prompt=sparse,
                      info={"lines": n_lines, "lines_in_view": lines_in_view, "n_points": int((sparse > 0).sum())})


def sfm_keypoints(sample: Sample, arg: str | None, rng: np.random.Generator) -> ProtocolCase:
    """GT depth at ORB keypoints of the RGB image (where SfM would triangulate points)."""
    max_points = _int_arg("sfm", arg, SFM_DEFAULT_POINTS)
    gray = cv2.cvtColor(sample.rgb, cv2.COLOR_RGB2GRAY)
    keypoints = cv2.ORB_create(nfeatures=max_points, edgeThreshold=8, patchSize=15).detect(gray, None)
    h, w = gray.shape
    coords = {(min(int(round(k.pt[1])), h - 1), min(int(round(k.pt[0])), w - 1)) for k in keypoints}
    rows = np.array([r for r, _ in coords], dtype=int)
    cols = np.array([c for _, c in coords], dtype=int)
    sparse = _sparse(sample.depth_gt, rows, cols)
    return _base_case(sample, sparse, prompt=sparse,
                      info={"max_points": max_points, "keypoints": len(coords), "n_points": int((sparse > 0).sum())})


def raw_sensor(sample: Sample, arg: str | None, rng: np.random.Generator) -> ProtocolCase:
    """The sample's own sensor depth (SGM in sim, the camera's depth on the rig).

    ``raw:<material>`` (``raw:transparent``, ``raw:specular`` ...) scores only the pixels whose
    ``material_mask`` has that class, so transparent and specular regions get their own rows.
    """
    case = _base_case(sample, _require_raw(sample))
    if arg is not None:
        region = material_region(sample, arg)
        case.eval_mask = case.eval_mask & region
        if not case.eval_mask.any():
            raise EvalInputError(f"raw:{arg}: no valid ground-truth pixel is {arg}", field="material_mask",
                                 where=sample.key)
        case.info["region"] = arg
        case.info["region_fraction"] = float(region.mean())
    return case


def material_region(sample: Sample, material: str) -> np.ndarray:
    """Boolean map of the sample's pixels labelled ``material`` (a MaterialClass name, lower case)."""
    names = {code.name.lower(): code for code in MaterialClass}
    if material not in names:
        raise ValueError(f"protocol raw:{material}: choose a material from {', '.join(names)}")
    if sample.material_mask is None:
        raise EvalInputError(f"raw:{material} needs a material mask, which is missing", field="material_mask",
                             where=sample.key)
    if sample.material_mask.shape != sample.depth_gt.shape:
        raise EvalInputError(f"shape {sample.material_mask.shape} differs from depth_gt {sample.depth_gt.shape}",
                             field="material_mask", where=sample.key)
    return sample.material_mask == names[material].value


def monocular(sample: Sample, arg: str | None, rng: np.random.Generator) -> ProtocolCase:
    """RGB only: the model gets no depth and no prompt (prompt-free monocular metric depth)."""
    return _base_case(sample, np.zeros(sample.depth_gt.shape, dtype=np.float32))


def _require_raw(sample: Sample) -> np.ndarray:
    if sample.depth_raw is None:
        raise EvalInputError("this protocol needs the sample's sensor depth, which is missing",
                             field="depth_raw", where=sample.key)
    if sample.depth_raw.shape != sample.depth_gt.shape:
        raise EvalInputError(f"shape {sample.depth_raw.shape} differs from depth_gt {sample.depth_gt.shape}",
                             field="depth_raw", where=sample.key)
    return sample.depth_raw


def fde_regions(instance_mask: np.ndarray, gt_valid: np.ndarray, config: FdeConfig = FdeConfig(),
                ) -> list[dict[str, np.ndarray]]:
    """FDE-Bench regions of each FDE target (the ``curate fde`` export's targets and band), within valid GT:
    foreground = its mask, boundary = the band within ``band_radius_px`` of its contour, global = the image.
    """
    return [{"id": ident, "foreground": mask & gt_valid,
             "boundary": boundary_band(mask, config.band_radius_px) & gt_valid, "global": gt_valid.copy()}
            for ident, mask, _ in target_instances(instance_mask, config)]


def fde(sample: Sample, arg: str | None, rng: np.random.Generator) -> ProtocolCase:
    """Sensor depth in; metrics per target over foreground / boundary band (r = 10) / global."""
    if sample.instance_mask is None:
        raise EvalInputError("the fde protocol needs an instance mask", field="instance_mask", where=sample.key)
    case = _base_case(sample, _require_raw(sample))
    case.targets = fde_regions(sample.instance_mask, case.gt > 0)
    case.info["targets"] = len(case.targets)
    return case


def focal_normalise(sample: Sample, focal_px: float = UNIFIED_FOCAL_PX
                    ) -> tuple[np.ndarray, Intrinsics, np.ndarray, np.ndarray | None]:
    """The VQA export's focal normalisation (DepthLM/DepthVLM), with the depth maps resized alongside."""
    rgb, K = normalise_focal(sample.rgb, sample.K_rgb, focal_px)
    size = (rgb.shape[1], rgb.shape[0])
    gt = cv2.resize(sample.depth_gt, size, interpolation=cv2.INTER_NEAREST)
    raw = None if sample.depth_raw is None else cv2.resize(sample.depth_raw, size, interpolation=cv2.INTER_NEAREST)
    return rgb, K, gt, raw


def depthlm(sample: Sample, arg: str | None, rng: np.random.Generator) -> ProtocolCase:
    """DepthLM: focal-normalise to 1000 px, score 10 sampled valid-GT pixels per image (δ1 headline)."""
    count = _int_arg("depthlm", arg, DEPTHLM_POINTS)
    _require_raw(sample)
    rgb, K, gt, raw = focal_normalise(sample)
    rows, cols = np.nonzero(gt > 0)
    chosen = rng.choice(len(rows), size=min(count, len(rows)), replace=False)
    eval_mask = np.zeros(gt.shape, dtype=bool)
    eval_mask[rows[chosen], cols[chosen]] = True
    return ProtocolCase(rgb=rgb, K=K, gt=gt, depth_in=raw, eval_mask=eval_mask,
                        info={"focal_px": UNIFIED_FOCAL_PX, "n_points": int(eval_mask.sum()),
                              "resized_to": [int(gt.shape[0]), int(gt.shape[1])]})


PROTOCOLS: dict[str, Callable[[Sample, str | None, np.random.Generator], ProtocolCase]] = {
    "block-mask": block_mask,
    "points": random_points,
    "downsample": downsample,
    "lidar": lidar,
    "downsample-priorda": downsample_priorda,
    "lidar-priorda": lidar_priorda,
    "sfm": sfm_keypoints,
    "raw": raw_sensor,
    "mono": monocular,
    "fde": fde,
    "depthlm": depthlm,
}

