"""Training augmentations on decoded samples (numpy, per-sample RNG for exact resume).

Geometric ops (random resized crop, flip) move RGB, depth and intrinsics together; depth is
resampled with nearest neighbour so invalid pixels never blend into valid ones. Photometric
ops (colour jitter, JPEG, motion blur, shot noise) touch RGB only. Complete depth (rendered
GT) is corrupted into a sensor-like input with depth-dependent noise and random holes.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from depthcur.schemas import DepthGtKind, Intrinsics, Sample

from .config import DataConfig


@dataclass
class TrainItem:
    rgb: np.ndarray          # (3, H, W) float32 in [0, 1]
    depth_raw: np.ndarray    # (H, W) float32 metres, 0 = invalid (model input)
    depth_gt: np.ndarray     # (H, W) float32 metres, 0 = invalid (target)
    K: Intrinsics
    #: depth_gt was rendered (Sample.depth_gt_kind == rendered): exact labels, whatever the source name
    gt_rendered: bool
    dataset: str
    key: str
    #: the same crop of depth_gt at the dataset's own resolution (not resized), for losses computed there
    depth_gt_native: np.ndarray | None = None


def batch_crop_shape(crop_hw: tuple[int, int], aspect_range: tuple[float, float], patch: int,
                     rng: np.random.Generator) -> tuple[int, int]:
    """One batch's crop (H, W): ``crop_hw`` when ``aspect_range`` is off ((0, 0)), else whole patches with
    a width/height ratio drawn log-uniformly from the range (portrait and landscape alike) and about
    ``crop_hw``'s pixel count, so the step's cost stays near the configured crop's."""
    low, high = aspect_range
    if high <= 0:
        return crop_hw
    aspect = float(np.exp(rng.uniform(np.log(low), np.log(high))))
    num_patches = (crop_hw[0] // patch) * (crop_hw[1] // patch)
    rows = max(1, round((num_patches / aspect) ** 0.5))
    cols = max(1, round(num_patches / rows))   # from the count, not the aspect: the pixel count stays closest
    return rows * patch, cols * patch


def random_resized_crop(sample: Sample, out_hw: tuple[int, int], scale: tuple[float, float],
                        rng: np.random.Generator
                        ) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None, Intrinsics, np.ndarray | None]:
    """Crop a random window with the output aspect covering ``scale`` of the image area, resize to ``out_hw``;
    last, the depth_gt window as it is (the dataset's resolution)."""
    h, w = sample.height, sample.width
    oh, ow = out_hw
    aspect = ow / oh
    area = rng.uniform(*scale) * h * w
    ch = int(min(h, round(np.sqrt(area / aspect)), round(w / aspect)))
    cw = int(min(w, round(ch * aspect)))
    ch, cw = max(ch, 1), max(cw, 1)
    y0 = int(rng.integers(0, h - ch + 1))
    x0 = int(rng.integers(0, w - cw + 1))
    sx, sy = ow / cw, oh / ch
    K = sample.K_rgb
    K = Intrinsics(K.fx, K.fy, K.cx - x0, K.cy - y0).scaled(sx, sy)

    def crop(a: np.ndarray | None, interp: int) -> np.ndarray | None:
        if a is None:
            return None
        return cv2.resize(a[y0:y0 + ch, x0:x0 + cw], (ow, oh), interpolation=interp)

    gt_native = None if sample.depth_gt is None else sample.depth_gt[y0:y0 + ch, x0:x0 + cw]
    return (crop(sample.rgb, cv2.INTER_AREA if sx < 1 else cv2.INTER_LINEAR),
            crop(sample.depth_raw, cv2.INTER_NEAREST), crop(sample.depth_gt, cv2.INTER_NEAREST), K, gt_native)


def channel_mean(img: np.ndarray) -> np.ndarray:
    """``img.mean(axis=2)`` of an (H, W, 3) float32 image bit for bit: numpy adds the three channels in
    order, then divides by 3; its reduction over a 3-long axis takes ~8x longer than these adds."""
    mean = img[..., 0] + img[..., 1]
    mean += img[..., 2]
    mean /= 3
    return mean


def color_jitter(rgb: np.ndarray, strength: float, rng: np.random.Generator) -> np.ndarray:
    img = rgb.astype(np.float32)
    brightness, contrast, saturation = 1 + rng.uniform(-strength, strength, size=3)
    img = img * brightness
    mean = img.mean()
    img = (img - mean) * contrast + mean
    # repeated rather than broadcast over the channels: the same values, the line below in half the time
    grey = np.repeat(channel_mean(img)[..., None], 3, axis=2)
    img = (img - grey) * saturation + grey
    return np.clip(img, 0, 255).astype(np.uint8)


def jpeg(rgb: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    ok, buf = cv2.imencode(".jpg", rgb, [cv2.IMWRITE_JPEG_QUALITY, int(rng.integers(30, 95))])
    return cv2.imdecode(buf, cv2.IMREAD_UNCHANGED) if ok else rgb


def motion_blur(rgb: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    length = int(rng.integers(3, 10))
    kernel = np.zeros((length, length), np.float32)
    kernel[length // 2] = 1.0 / length
    rot = cv2.getRotationMatrix2D(((length - 1) / 2, (length - 1) / 2), float(rng.uniform(0, 180)), 1.0)
    kernel = cv2.warpAffine(kernel, rot, (length, length))
    return cv2.filter2D(rgb, -1, kernel / max(kernel.sum(), 1e-6))


def shot_noise(rgb: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    peak = rng.uniform(30, 300)  # photons at full white: fewer = noisier
    return np.clip(rng.poisson(rgb.astype(np.float32) / 255 * peak) / peak * 255, 0, 255).astype(np.uint8)


def corrupt_complete_depth(depth: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Sensor-like input from complete depth: axial noise ~ z^2 and random rectangular holes."""
    h, w = depth.shape
    noisy = depth + rng.normal(0, 1, depth.shape).astype(np.float32) * 0.003 * depth ** 2
    keep = rng.random(depth.shape) > rng.uniform(0.0, 0.1)
    for _ in range(int(rng.integers(1, 6))):
        bh, bw = int(rng.integers(1, max(2, h // 3))), int(rng.integers(1, max(2, w // 3)))
        y, x = int(rng.integers(0, h - bh + 1)), int(rng.integers(0, w - bw + 1))
        keep[y:y + bh, x:x + bw] = False
    return np.where(keep & (depth > 0), noisy, 0).astype(np.float32)


def is_complete(depth: np.ndarray | None) -> bool:
    return depth is not None and float((depth > 0).mean()) > 0.99


def augment_sample(sample: Sample, cfg: DataConfig, out_hw: tuple[int, int], rng: np.random.Generator,
                   train: bool = True) -> TrainItem:
    """One decoded sample -> one training item at ``out_hw``."""
    if sample.depth_gt is None:
        raise ValueError(f"sample {sample.key}: depth_gt is missing; training needs a target")
    scale = cfg.crop_scale if train else (1.0, 1.0)
    rgb, raw, gt, K, gt_native = random_resized_crop(sample, out_hw, scale, rng)
    if raw is None:
        raw = gt.copy()
    if train and rng.random() < cfg.flip_prob:
        rgb, raw, gt, gt_native = rgb[:, ::-1], raw[:, ::-1], gt[:, ::-1], gt_native[:, ::-1]
        K = Intrinsics(K.fx, K.fy, out_hw[1] - 1 - K.cx, K.cy)
    if train:
        if cfg.color_jitter > 0:
            rgb = color_jitter(rgb, cfg.color_jitter, rng)
        if rng.random() < cfg.jpeg_prob:
            rgb = jpeg(np.ascontiguousarray(rgb), rng)
        if rng.random() < cfg.blur_prob:
            rgb = motion_blur(np.ascontiguousarray(rgb), rng)
        if rng.random() < cfg.shot_noise_prob:
            rgb = shot_noise(rgb, rng)
        if cfg.corrupt_complete_depth and is_complete(raw):
            raw = corrupt_complete_depth(raw, rng)
    gt_kind = getattr(sample.depth_gt_kind, "value", sample.depth_gt_kind)
    return TrainItem(rgb=np.ascontiguousarray(rgb.transpose(2, 0, 1), dtype=np.float32) / 255.0,
                     depth_raw=np.ascontiguousarray(raw, dtype=np.float32),
                     depth_gt=np.ascontiguousarray(gt, dtype=np.float32), K=K,
                     gt_rendered=gt_kind == DepthGtKind.RENDERED.value, dataset=sample.dataset, key=sample.key,
                     depth_gt_native=np.ascontiguousarray(gt_native, dtype=np.float32))
