"""Operator-facing pictures of a frame: IR as RGB, thumbnails, JPEG bytes for the app (depth colours are
``depthcur.core.pictures.depth_colormap``)."""

from __future__ import annotations

import base64

import cv2
import numpy as np

from depthcur.schemas.codecs import encode_rgb


def ir_to_rgb(ir: np.ndarray) -> np.ndarray:
    """8-bit grey RGB of an IR image (uint16 IR is stretched to its own range)."""
    if ir.dtype != np.uint8:
        top = max(int(ir.max()), 1)
        ir = (ir.astype(np.float32) * (255.0 / top)).astype(np.uint8)
    return np.repeat(ir[..., None], 3, axis=2)


def thumbnail(image: np.ndarray, max_width: int, *, nearest: bool = False) -> np.ndarray:
    """Shrink to ``max_width``; ``nearest`` for depth, where averaging would blend holes into surfaces.

    Otherwise the image is halved by 2×2 averaging while it is at least twice too wide, then bilinear
    covers the last step (less than 2×, so no pixel is skipped): close to a box filter, and several
    times faster than OpenCV's area resize at a fractional scale, which the live preview pays per frame.
    """
    h, w = image.shape[:2]
    if w <= max_width:
        return image
    if nearest:
        return cv2.resize(image, (max_width, max(1, round(h * max_width / w))), interpolation=cv2.INTER_NEAREST)
    while w >= 2 * max_width and h >= 2:
        # an even crop keeps OpenCV on its exact 2× path; it drops at most one edge row or column
        image = cv2.resize(image[:h // 2 * 2, :w // 2 * 2], (w // 2, h // 2), interpolation=cv2.INTER_AREA)
        h, w = image.shape[:2]
    if w <= max_width:
        return image
    return cv2.resize(image, (max_width, max(1, round(h * max_width / w))), interpolation=cv2.INTER_LINEAR)


def jpeg_data_url(image_rgb: np.ndarray, quality: int = 80) -> str:
    return "data:image/jpeg;base64," + base64.b64encode(encode_rgb(image_rgb, "jpeg", quality)).decode()
