"""Builds the ``depthcur.schemas.Sample`` record of a rendered sample and writes it."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from depthcur.schemas import DepthGtKind, Intrinsics, Sample, Source, Split, with_stats, write_sample


def build_sample(*, key: str, dataset: str, scene_id: str, scene_category: str, rgb: np.ndarray,
                 depth_gt: np.ndarray, depth_raw: np.ndarray, ir_left: np.ndarray, ir_right: np.ndarray,
                 disparity_gt: np.ndarray, instance_mask: np.ndarray, material_mask: np.ndarray,
                 K_rgb: Intrinsics, K_ir: Intrinsics,
                 baseline_m: float, provenance: dict, extra_stats: dict | None = None,
                 T_rgb_from_ir: np.ndarray | None = None, depth_raw_filtered: np.ndarray | None = None) -> Sample:
    sample = Sample(
        key=key, source=Source.SIM, dataset=dataset, rgb=rgb, K_rgb=K_rgb,
        depth_raw=depth_raw.astype(np.float32),
        depth_raw_filtered=None if depth_raw_filtered is None else depth_raw_filtered.astype(np.float32),
        depth_gt=depth_gt.astype(np.float32),
        depth_gt_kind=DepthGtKind.RENDERED, scene_id=scene_id, scene_category=scene_category,
        device="blender_cycles_speckle_stereo", split=Split.TRAIN, ir_left=ir_left, ir_right=ir_right,
        disparity_gt=disparity_gt.astype(np.float32), instance_mask=instance_mask.astype(np.uint16),
        material_mask=material_mask.astype(np.uint8),
        K_ir=K_ir, baseline_m=float(baseline_m),
        # identity: the RGB camera is the left IR camera (generic rig); a profile's RGB camera is offset
        T_rgb_from_ir=np.eye(4) if T_rgb_from_ir is None else T_rgb_from_ir, stats=dict(extra_stats or {}), provenance=provenance)
    return with_stats(sample)


def write_rendered(out: str | Path, sample: Sample) -> Path:
    """Atomic sample folder; a folder that already exists is replaced only by a rerun of the same key."""
    return write_sample(out, sample, overwrite=True)
