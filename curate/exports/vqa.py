"""DepthLM visual-marker VQA: focal-normalised image, one marker per query pixel, metric answer.

The image is resized so that its focal length becomes ``focal_px`` (1000 by default); metric depth
does not change under that resize, so the answer is the GT depth at the source pixel.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from depthcur.core.validate import Checked
from depthcur.schemas import Intrinsics, Sample, flatten_key, write_bytes_atomic
from depthcur.schemas.codecs import encode_rgb

MARKER_STYLES = ("circle", "cross", "dot")
QUESTION = "How far is the point marked by the red {style} from the camera? Answer in meters."
ANSWER = "The point is around {depth:.2f} meters away from the camera."
MARKER_RGB = (255, 0, 0)
#: DepthLM's unified focal length: the VQA export and the ``depthlm`` evaluation protocol resize to it
UNIFIED_FOCAL_PX = 1000.0


@dataclass
class VqaConfig(Checked):
    #: unified focal length in pixels (images are resized to it)
    focal_px: float = field(default=UNIFIED_FOCAL_PX, metadata={"above": 0})
    #: query pixels (marked images) per sample
    points_per_image: int = field(default=4, metadata={"min": 1})
    #: circle, cross or dot
    marker: str = field(default="circle", metadata={"choices": MARKER_STYLES})
    marker_radius_px: int = field(default=8, metadata={"min": 1})
    #: keep markers whole inside the image
    border_px: int = field(default=16, metadata={"min": 0})
    seed: int = field(default=0, metadata={"min": 0})
    #: png or jpeg
    image_format: str = field(default="png", metadata={"choices": ("png", "jpeg")})


def normalise_focal(rgb: np.ndarray, k: Intrinsics, focal_px: float) -> tuple[np.ndarray, Intrinsics]:
    """Resize so that fx and fy both become ``focal_px`` (each axis by its own focal length, so pixels
    come out square); metric depth does not change under the resize."""
    import cv2

    sx, sy = focal_px / k.fx, focal_px / k.fy
    h, w = rgb.shape[:2]
    size = (max(1, int(round(w * sx))), max(1, int(round(h * sy))))
    interp = cv2.INTER_AREA if sx < 1 else cv2.INTER_LINEAR
    resized = cv2.resize(rgb, size, interpolation=interp)
    return resized, k.scaled(size[0] / w, size[1] / h)


def to_scaled_pixel(u: int, v: int, src: tuple[int, int], dst: tuple[int, int]) -> tuple[int, int]:
    """Pixel-centre mapping of (u, v) from a src (h, w) image to dst (h, w)."""
    return (int(round((u + 0.5) * dst[1] / src[1] - 0.5)), int(round((v + 0.5) * dst[0] / src[0] - 0.5)))


def sample_query_pixels(depth: np.ndarray, count: int, border_frac: tuple[int, int], rng) -> np.ndarray:
    """(count, 2) (u, v) of valid-depth pixels away from the border."""
    valid = depth > 0
    by, bx = border_frac
    inner = np.zeros_like(valid)
    inner[by:depth.shape[0] - by, bx:depth.shape[1] - bx] = True
    v, u = np.nonzero(valid & inner)
    if u.size == 0:
        return np.zeros((0, 2), np.int64)
    pick = rng.choice(u.size, size=min(count, u.size), replace=False)
    return np.stack([u[pick], v[pick]], axis=1)


def draw_marker(image: np.ndarray, u: int, v: int, style: str, radius: int) -> np.ndarray:
    import cv2

    out = np.ascontiguousarray(image.copy())
    thickness = max(2, radius // 4)
    if style == "circle":
        cv2.circle(out, (u, v), radius, MARKER_RGB, thickness)
    elif style == "cross":
        cv2.line(out, (u - radius, v), (u + radius, v), MARKER_RGB, thickness)
        cv2.line(out, (u, v - radius), (u, v + radius), MARKER_RGB, thickness)
    elif style == "dot":
        cv2.circle(out, (u, v), max(2, radius // 2), MARKER_RGB, -1)
    else:
        raise ValueError(f"unknown marker style {style!r}; choose one of {', '.join(MARKER_STYLES)}")
    return out


def vqa_records(sample: Sample, out: Path, config: VqaConfig) -> list[dict]:
    """Write the marked images of one sample and return its JSONL records."""
    depth = sample.depth_gt
    if depth is None:
        return []
    resized, k_new = normalise_focal(sample.rgb, sample.K_rgb, config.focal_px)
    scale = resized.shape[1] / sample.width
    border = (int(np.ceil(config.border_px / scale)), int(np.ceil(config.border_px / scale)))
    rng = np.random.default_rng([config.seed, *sample.key.encode()])
    records = []
    for i, (u, v) in enumerate(sample_query_pixels(depth, config.points_per_image, border, rng)):
        mu, mv = to_scaled_pixel(int(u), int(v), depth.shape, resized.shape[:2])
        marked = draw_marker(resized, mu, mv, config.marker, config.marker_radius_px)
        name = f"images/{flatten_key(sample.key)}__{i}.{'jpg' if config.image_format == 'jpeg' else 'png'}"
        write_bytes_atomic(out / name, encode_rgb(marked, config.image_format))
        z = float(depth[v, u])
        records.append({"id": f"{sample.key}#{i}", "image": name, "source_key": sample.key,
                        "question": QUESTION.format(style=config.marker), "answer": ANSWER.format(depth=z),
                        "depth_m": round(z, 4), "pixel": [mu, mv], "source_pixel": [int(u), int(v)],
                        "focal_px": config.focal_px, "K": k_new.as_list(), "marker": config.marker})
    return records
