"""MoGe's layout: one folder per sample with ``image.jpg``, ``depth.png`` and ``meta.json``.

``depth.png`` is 16-bit and log-encoded between ``near`` and ``far`` (stored as PNG text chunks,
as MoGe's ``write_depth`` does): unit u in 1..65534 means near·(far/near)^((u-1)/65533), 0 is
invalid and 65535 is infinity. ``meta.json`` holds the intrinsics normalised by width and height.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np

from depthcur.schemas import DepthEncoding, DepthGtKind, Intrinsics, Sample, SchemaError, Source, with_stats
from depthcur.schemas import write_bytes_atomic, write_json_atomic
from depthcur.schemas.fields import UINT16_LIMIT
from depthcur.schemas.keys import build_key, sanitise_key_part

from .files import check_same_size, read_rgb_file, write_rgb

INFINITY_UNIT = UINT16_LIMIT
LEVELS = INFINITY_UNIT - 2        # steps between unit 1 (near) and INFINITY_UNIT - 1 (far)


def encode_log_depth(depth: np.ndarray) -> tuple[np.ndarray, float, float]:
    """(uint16 units, near, far) of a depth map; 0 stays invalid."""
    valid = np.isfinite(depth) & (depth > 0)
    if not valid.any():
        return np.zeros(depth.shape, np.uint16), 1.0, 1.0
    near, far = float(depth[valid].min()), float(depth[valid].max())
    span = np.log(far / near) if far > near else 1.0
    t = np.log(np.clip(np.where(valid, depth, near), near, far) / near) / span
    units = (1 + np.rint(np.clip(t, 0, 1) * LEVELS)).astype(np.uint16)
    units[~valid] = 0
    return units, near, far


def decode_log_depth(units: np.ndarray, near: float, far: float) -> np.ndarray:
    t = (units.astype(np.float64) - 1) / LEVELS
    depth = near ** (1 - t) * far ** t
    return np.where((units > 0) & (units < INFINITY_UNIT), depth, 0).astype(np.float32)


def write_log_depth_png(path: Path, depth: np.ndarray) -> None:
    from PIL import Image
    from PIL.PngImagePlugin import PngInfo

    units, near, far = encode_log_depth(depth)
    info = PngInfo()
    info.add_text("near", repr(near))
    info.add_text("far", repr(far))
    buf = io.BytesIO()
    Image.fromarray(units).save(buf, format="PNG", pnginfo=info, compress_level=7)
    write_bytes_atomic(path, buf.getvalue())


def read_log_depth_png(path: Path) -> np.ndarray:
    from PIL import Image

    try:
        image = Image.open(path)
        image.load()
    except (OSError, SyntaxError) as exc:
        raise SchemaError(f"unreadable depth PNG ({exc})", field="depth_gt", path=str(path)) from None
    units = np.asarray(image)
    if units.dtype != np.uint16 and image.mode not in ("I;16", "I"):
        raise SchemaError(f"expected a 16-bit log-encoded depth PNG, got mode {image.mode}", field="depth_gt",
                          path=str(path))
    for key in ("near", "far"):
        if key not in image.info:
            raise SchemaError(f"depth PNG lacks the {key!r} text chunk MoGe writes", field="depth_gt",
                              path=str(path))
    return decode_log_depth(units.astype(np.uint16), float(image.info["near"]), float(image.info["far"]))


#: what find_items looks for, for the error when it finds nothing
LOOKS_FOR = "folders holding meta.json and depth.png (MoGe)"


def find_items(root: Path) -> list[Path]:
    return sorted(p.parent.relative_to(root) for p in root.rglob("meta.json") if (p.parent / "depth.png").is_file())


def read_normalised_intrinsics(path: Path, width: int, height: int) -> Intrinsics:
    try:
        k = np.asarray(json.loads(path.read_text())["intrinsics"], dtype=np.float64)
    except (KeyError, json.JSONDecodeError, ValueError, TypeError) as exc:
        raise SchemaError(f"meta.json needs 'intrinsics' as a normalised 3×3 matrix ({exc})", field="K_rgb",
                          path=str(path)) from None
    if k.shape != (3, 3):
        raise SchemaError(f"intrinsics must be 3×3, got {k.shape}", field="K_rgb", path=str(path))
    return Intrinsics(k[0, 0] * width, k[1, 1] * height, k[0, 2] * width - 0.5, k[1, 2] * height - 0.5)


def import_item(root: Path, item: Path) -> list[Sample]:
    folder = root / item
    image_path = next((folder / n for n in ("image.jpg", "image.png") if (folder / n).is_file()), folder / "image.jpg")
    rgb, fmt = read_rgb_file(image_path)
    depth = read_log_depth_png(folder / "depth.png")
    check_same_size(rgb, image_path, depth, folder / "depth.png", "depth_gt")
    k = read_normalised_intrinsics(folder / "meta.json", rgb.shape[1], rgb.shape[0])
    parts = [sanitise_key_part(p) for p in item.parts]
    key = build_key(*parts) if parts[0] == "moge" else build_key("moge", *parts)
    sample = Sample(key=key, source=Source.PUBLIC, dataset="moge", rgb=rgb, K_rgb=k, depth_gt=depth,
                    depth_gt_kind=DepthGtKind.SENSOR, rgb_format=fmt,
                    depth_encoding={"depth_gt": DepthEncoding("npy")},  # log depth is not a linear 16-bit scale
                    provenance={"imported_from": "moge", "folder": str(item)})
    return [with_stats(sample)]


def normalised_intrinsics(k: Intrinsics, width: int, height: int) -> list[list[float]]:
    """MoGe's convention: pixel-corner origin, coordinates divided by the image size."""
    return [[k.fx / width, 0.0, (k.cx + 0.5) / width], [0.0, k.fy / height, (k.cy + 0.5) / height], [0.0, 0.0, 1.0]]


def export_sample(sample: Sample, out: Path) -> None:
    folder = out / sample.key
    depth = sample.depth_gt if sample.depth_gt is not None else sample.depth_raw
    write_rgb(folder / "image.jpg", sample.rgb)
    write_log_depth_png(folder / "depth.png", depth)
    write_json_atomic(folder / "meta.json", {"intrinsics": normalised_intrinsics(sample.K_rgb, sample.width,
                                                                                 sample.height)})
