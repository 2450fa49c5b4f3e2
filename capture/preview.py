"""Operator-facing pictures of a frame: IR as 8-bit grey, thumbnails, JPEG bytes for the app (depth colours are
``depthcur.core.pictures.depth_colormap``)."""

from __future__ import annotations

import base64

import cv2
import numpy as np

from depthcur.schemas.codecs import encode_rgb


def ir_to_grey(ir: np.ndarray) -> np.ndarray:
    """8-bit grey of an IR image (uint16 IR is stretched to its own range)."""
    if ir.dtype != np.uint8:
        top = max(int(ir.max()), 1)
        ir = (ir.astype(np.float32) * (255.0 / top)).astype(np.uint8)
    return ir


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


def jpeg_data_url(image: np.ndarray, quality: int = 80) -> str:
    """A JPEG data URL of an RGB or a 2-D grey image.

    Grey is encoded as a one-channel JPEG: it decodes to the same pixels as the JPEG of its grey RGB copy
    (the encoder turns equal R, G, B into that luma and neutral chroma), for a third of the work.
    """
    if image.ndim == 2:
        ok, buf = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
        if not ok:
            raise ValueError(f"JPEG encoding of a {image.shape} {image.dtype} grey image failed")
        data = buf.tobytes()
    else:
        data = encode_rgb(image, "jpeg", quality)
    return "data:image/jpeg;base64," + base64.b64encode(data).decode()
