"""A rectified public stereo pair with GT disparity as a sample (Middlebury 2014, Booster).

The pair is kept as IR-pair-like fields (``ir_left``/``ir_right`` = grayscale views, ``K_ir`` =
the left camera, ``baseline_m``) so ``curate stereo`` can pseudo-label it. When the two cameras'
principal points differ by ``doffs`` pixels (``cx_right - cx_left``), the pixel shift d between the
views is not fx·B/Z but fx·B/Z - doffs: ``disparity_gt`` holds fx·B/Z = d + doffs (the schema's
definition) and provenance records ``doffs`` under :data:`DISPARITY_OFFSET_KEY`, which
``curate stereo`` adds to every matched shift before it turns it into depth.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from depthcur.core.stereo import disparity_to_depth
from depthcur.schemas import DepthEncoding, DepthGtKind, Intrinsics, Sample, Source, with_stats

from ..stereo.images import to_gray_uint8
from ..stereo.pseudo_label import DISPARITY_OFFSET_KEY


def stereo_pair_sample(*, key: str, dataset: str, scene_id: str, split: str, device: str, left: np.ndarray,
                       right: np.ndarray, rgb_format: str, k: Intrinsics, baseline_m: float,
                       pixel_disparity: np.ndarray, valid: np.ndarray, doffs: float,
                       provenance: dict[str, Any], material_mask: np.ndarray | None = None) -> Sample:
    """The sample of one pair: depth_gt = fx·B/(d + doffs) where ``valid``, 0 elsewhere (float32 metres)."""
    valid = valid & np.isfinite(pixel_disparity) & (pixel_disparity + doffs > 0)
    disparity_gt = np.where(valid, pixel_disparity + np.float32(doffs), 0).astype(np.float32)
    depth_gt = disparity_to_depth(disparity_gt, k.fx, baseline_m)
    provenance = {**provenance, DISPARITY_OFFSET_KEY: float(doffs),
                  "depth_from": f"depth_gt = fx*B/(d + doffs) with fx={k.fx} px, B={baseline_m} m, doffs={doffs} px"}
    sample = Sample(key=key, source=Source.PUBLIC, dataset=dataset, rgb=left, K_rgb=k, depth_gt=depth_gt,
                    depth_gt_kind=DepthGtKind.SENSOR, scene_id=scene_id, split=split, device=device,
                    ir_left=to_gray_uint8(left, name="left"), ir_right=to_gray_uint8(right, name="right"),
                    disparity_gt=disparity_gt, material_mask=material_mask, K_ir=k, baseline_m=float(baseline_m),
                    T_rgb_from_ir=np.eye(4), provenance=provenance, rgb_format=rgb_format,
                    depth_encoding={"depth_gt": DepthEncoding("npy")})
    return with_stats(sample)
