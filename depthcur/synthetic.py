"""Analytic RGB-D samples for tests, benchmarks and demos that must not wait for Blender.

A pinhole camera looks at a tilted back wall with a box in front of it. Depth is exact,
the IR pair is a speckle texture warped by the true disparity (so a stereo matcher can
recover fx·B/Z), and the sensor depth has holes on the box's "glass" face and an
occlusion band, like a real active-stereo camera.
"""

from __future__ import annotations

import numpy as np

from depthcur.core.stereo import depth_to_disparity
from depthcur.schemas import DepthGtKind, Intrinsics, MaterialClass, Sample, Source, Split, with_stats


def scene_depth(h: int, w: int, fx: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """(planar depth in metres, instance ids) of a wall plus a box."""
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    wall = 2.5 + rng.uniform(-0.5, 0.5) + 0.6 * (xs / w - 0.5) + 0.3 * (ys / h - 0.5)
    depth = wall.astype(np.float32)
    inst = np.ones((h, w), np.uint16)
    x0, x1 = sorted(rng.integers(w // 6, 5 * w // 6, size=2))
    x1 = max(x1, x0 + w // 5)
    y0, y1 = int(h * 0.35), int(h * 0.9)
    box_z = float(rng.uniform(1.0, 1.6))
    depth[y0:y1, x0:x1] = box_z
    inst[y0:y1, x0:x1] = 2
    return depth, inst


def speckle(h: int, w: int, rng: np.random.Generator, density: float = 0.25) -> np.ndarray:
    dots = (rng.random((h, w)) < density).astype(np.float32)
    import cv2

    return cv2.GaussianBlur(dots, (3, 3), 0.7)


def warp_right(left: np.ndarray, disparity: np.ndarray) -> np.ndarray:
    """Right image of a rectified pair: right(x, y) ≈ left(x + d(x, y), y)."""
    import cv2

    h, w = left.shape
    xs = np.arange(w, dtype=np.float32)[None, :] + disparity
    ys = np.repeat(np.arange(h, dtype=np.float32)[:, None], w, axis=1)
    return cv2.remap(left, xs, ys, interpolation=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)


def make_sample(key: str, *, height: int = 120, width: int = 160, seed: int = 0,
                source: Source = Source.SIM, split: Split = Split.TRAIN, dataset: str = "synthetic") -> Sample:
    rng = np.random.default_rng(seed)
    fx = width * rng.uniform(0.8, 1.2)
    k = Intrinsics(fx, fx, (width - 1) / 2, (height - 1) / 2)
    depth, inst = scene_depth(height, width, fx, rng)
    baseline = float(rng.uniform(0.05, 0.2))
    disparity = depth_to_disparity(depth, fx, baseline)

    # The right view is approximated by warping; disparity is sampled at the right-view pixel.
    texture = speckle(height, width + 64, rng)
    left = texture[:, :width]
    right = warp_right(texture, np.pad(disparity, ((0, 0), (0, 64)), mode="edge"))[:, :width]
    noise = rng.normal(0, 0.02, size=(2, height, width)).astype(np.float32)
    ir_left = np.clip((0.1 + 0.8 * left + noise[0]) * 255, 0, 255).astype(np.uint8)
    ir_right = np.clip((0.1 + 0.8 * right + noise[1]) * 255, 0, 255).astype(np.uint8)

    base = rng.uniform(60, 200, size=3)
    shade = (depth.min() / depth)[..., None]
    rgb = base * shade + rng.normal(0, 8, size=(height, width, 3))
    rgb[inst == 2] = rgb[inst == 2] * 0.5 + np.array([200, 80, 40]) * 0.5
    rgb = np.clip(rgb, 0, 255).astype(np.uint8)

    # Sensor depth: exact where matched, holes on the left strip, half the box face ("glass") and noise.
    raw = depth.copy()
    raw[:, : int(disparity.max()) + 1] = 0
    ys, xs = np.nonzero(inst == 2)
    glass = (inst == 2) & (np.arange(width)[None, :] < xs.min() + (xs.max() - xs.min()) // 2)
    raw[glass] = 0
    material = np.where(glass, MaterialClass.TRANSPARENT, MaterialClass.OPAQUE).astype(np.uint8)
    raw[rng.random((height, width)) < 0.03] = 0
    raw = np.where(raw > 0, raw + rng.normal(0, 0.002, raw.shape) * raw ** 2, 0).astype(np.float32)

    sample = Sample(key=key, source=source, dataset=dataset, rgb=rgb, K_rgb=k, depth_raw=raw, depth_gt=depth,
                    depth_gt_kind=DepthGtKind.RENDERED, scene_id=f"synthetic_{seed}", scene_category="synthetic",
                    device="synthetic", split=split, ir_left=ir_left, ir_right=ir_right, disparity_gt=disparity,
                    instance_mask=inst, material_mask=material, K_ir=k, baseline_m=baseline, T_rgb_from_ir=np.eye(4),
                    provenance={"generator": "depthcur.synthetic", "seed": seed})
    return with_stats(sample)


def right_view_disparity(disparity: np.ndarray, supersample: int = 4) -> tuple[np.ndarray, np.ndarray]:
    """(right-view disparity, disoccluded mask) by splatting the left view: nearest surface wins.

    Left pixel x lands on right pixel x - d; each row is supersampled so slanted surfaces leave no
    gaps. Right pixels no left pixel lands on see surfaces the left view does not (disoccluded).
    """
    h, w = disparity.shape
    xs = (np.arange(w * supersample) + 0.5) / supersample - 0.5
    fine = disparity[:, np.minimum(np.rint(xs).astype(np.int64), w - 1)]
    target = np.rint(xs[None, :] - fine).astype(np.int64)
    inside = (target >= 0) & (target < w)
    right = np.zeros((h, w), np.float32)
    rows = np.repeat(np.arange(h)[:, None], xs.size, axis=1)
    np.maximum.at(right, (rows[inside], target[inside]), fine[inside])
    return right, right == 0


def make_stereo_pair_sample(key: str, *, height: int = 120, width: int = 160, seed: int = 0) -> Sample:
    """A harder stereo pair than :func:`make_sample`, for judging pseudo-label precision.

    The right view is rendered with the right view's own disparity (so the box occludes the wall
    beside it and uncovers fresh wall on its other side), a patch of the wall is almost
    textureless, the box's left half is "glass" (each view sees a different texture there), and
    the views differ in gain and carry sensor noise. ``disparity_gt`` is the left view's exact fx·B/Z.
    """
    rng = np.random.default_rng(seed)
    sample = make_sample(key, height=height, width=width, seed=seed)
    disparity = sample.disparity_gt
    margin = int(np.ceil(disparity.max())) + 2
    surface = speckle(height, width + margin, rng, density=0.15)
    flat = np.zeros_like(surface, dtype=bool)
    flat[height // 10:height // 3, width // 8:width // 2] = True      # a bare white wall
    surface[flat] = 0.5 + 0.03 * (surface[flat] - 0.5)
    right_disparity, disoccluded = right_view_disparity(disparity)
    import cv2

    xs = np.arange(width, dtype=np.float32)[None, :] + right_disparity
    ys = np.repeat(np.arange(height, dtype=np.float32)[:, None], width, axis=1)
    right = cv2.remap(surface, xs, ys, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
    right[disoccluded] = speckle(height, width, rng, density=0.15)[disoccluded]
    left = surface[:, :width].copy()
    glass = sample.material_mask == MaterialClass.TRANSPARENT
    left[glass] = speckle(height, width, rng, density=0.15)[glass]   # each view sees something else
    noise = rng.normal(0, 0.012, size=(2, height, width)).astype(np.float32)
    ir_left = np.clip((0.1 + 0.8 * left + noise[0]) * 255, 0, 255).astype(np.uint8)
    ir_right = np.clip((0.08 + 0.72 * right + noise[1]) * 255, 0, 255).astype(np.uint8)
    provenance = {**sample.provenance, "generator": "depthcur.synthetic.make_stereo_pair_sample"}
    return sample.replace(ir_left=ir_left, ir_right=ir_right, provenance=provenance)
