"""FocusDepth (FDE) triplets: image, target mask, depth, with a box and a text prompt.

Targets come from the instance mask; each keeps a tight box, the category name as text, and a
boundary band of radius r (dilation minus erosion with a disk). Splits are chosen per source image,
so the targets of one image never straddle splits.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import numpy as np

from depthcur.core.exits import FieldValueError
from depthcur.core.validate import FRACTION, check_fields
from depthcur.schemas import Sample


@dataclass
class FdeConfig:
    #: smallest target area (fraction of the image)
    min_area_frac: float = field(default=0.002, metadata=FRACTION)
    #: largest target area: larger regions are background (walls, floor), not targets
    max_area_frac: float = field(default=0.5, metadata={**FRACTION, "above_field": "min_area_frac"})
    #: boundary band radius in pixels
    band_radius_px: int = field(default=10, metadata={"min": 1})
    #: shares of the val and test splits
    val_frac: float = field(default=0.1, metadata=FRACTION)
    test_frac: float = field(default=0.1, metadata=FRACTION)
    seed: int = field(default=0, metadata={"min": 0})

    def __post_init__(self):
        check_fields(self)
        if self.val_frac + self.test_frac > 1:
            raise FieldValueError("test_frac", f"the val and test shares add up to {self.val_frac + self.test_frac}",
                                  "give shares whose sum is at most 1", other="val_frac")


def disk(radius: int) -> np.ndarray:
    ys, xs = np.mgrid[-radius:radius + 1, -radius:radius + 1]
    return (xs * xs + ys * ys <= radius * radius).astype(np.uint8)


def boundary_band(mask: np.ndarray, radius: int) -> np.ndarray:
    """Pixels within ``radius`` of the mask boundary: dilation minus erosion with a disk."""
    import cv2

    kernel = disk(radius)
    m = mask.astype(np.uint8)
    dilated = cv2.dilate(m, kernel, borderType=cv2.BORDER_CONSTANT, borderValue=0)
    eroded = cv2.erode(m, kernel, borderType=cv2.BORDER_REPLICATE)
    return (dilated > 0) & ~(eroded > 0)


def tight_box(mask: np.ndarray) -> list[int]:
    """[x0, y0, x1, y1], inclusive pixel bounds of the mask."""
    ys, xs = np.nonzero(mask)
    return [int(xs.min()), int(ys.min()), int(xs.max()), int(ys.max())]


def split_of(source_key: str, config: FdeConfig) -> str:
    """A stable split per source image (hash of the key), so no target leaks across splits."""
    h = int.from_bytes(hashlib.sha256(f"{config.seed}:{source_key}".encode()).digest()[:8], "big") / 2 ** 64
    if h < config.test_frac:
        return "test"
    return "val" if h < config.test_frac + config.val_frac else "train"


def category_names(sample: Sample) -> dict[int, str]:
    names = sample.provenance.get("instance_categories") or sample.provenance.get("instance_names") or {}
    return {int(k): str(v) for k, v in names.items()}


def target_instances(instance_mask: np.ndarray, config: FdeConfig) -> list[tuple[int, np.ndarray, float]]:
    """(id, mask, area fraction) of every instance id > 0 whose area fraction lies in
    [min_area_frac, max_area_frac]: the FDE targets of the export and of the evaluation protocol."""
    targets = []
    for instance in np.unique(instance_mask):
        if instance == 0:
            continue
        mask = instance_mask == instance
        area = mask.sum() / instance_mask.size
        if config.min_area_frac <= area <= config.max_area_frac:
            targets.append((int(instance), mask, float(area)))
    return targets


def fde_targets(sample: Sample, config: FdeConfig) -> list[dict]:
    """Targets of one sample: id, mask, box, text, band, area fraction (area-filtered)."""
    if sample.instance_mask is None or sample.depth_gt is None:
        return []
    names = category_names(sample)
    return [{"instance": instance, "mask": mask, "box": tight_box(mask), "text": names.get(instance, "object"),
             "area_frac": area, "band": boundary_band(mask, config.band_radius_px)}
            for instance, mask, area in target_instances(sample.instance_mask, config)]
