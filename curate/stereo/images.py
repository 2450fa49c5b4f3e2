"""Matcher input: any IR or colour image as the uint8 grayscale that SGBM expects."""

from __future__ import annotations

import numpy as np


def to_gray_uint8(image: np.ndarray, *, name: str = "image") -> np.ndarray:
    """uint8 grayscale from uint8/uint16 gray or RGB."""
    image = np.asarray(image)
    if image.ndim == 3 and image.shape[2] == 3:
        import cv2

        image = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY) if image.dtype == np.uint8 else image.mean(axis=2)
    if image.ndim != 2:
        raise ValueError(f"{name}: expected an H×W or H×W×3 image, got shape {image.shape}")
    if image.dtype == np.uint8:
        return image
    if image.dtype == np.uint16 or np.issubdtype(image.dtype, np.floating):
        top = float(np.percentile(image, 99.5)) or 1.0
        return np.clip(image.astype(np.float32) / top * 255.0, 0, 255).astype(np.uint8)
    raise ValueError(f"{name}: unsupported dtype {image.dtype}; give uint8 or uint16")
