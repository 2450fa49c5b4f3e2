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
    """Shrink to ``max_width``; ``nearest`` for depth, where averaging would blend holes into surfaces."""
    h, w = image.shape[:2]
    if w <= max_width:
        return image
    return cv2.resize(image, (max_width, max(1, round(h * max_width / w))),
                      interpolation=cv2.INTER_NEAREST if nearest else cv2.INTER_AREA)


def jpeg_data_url(image_rgb: np.ndarray, quality: int = 80) -> str:
    return "data:image/jpeg;base64," + base64.b64encode(encode_rgb(image_rgb, "jpeg", quality)).decode()
