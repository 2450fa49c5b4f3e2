"""Sample filters: reject degenerate, sparse, out-of-range and near-duplicate samples; flag
suspected glass/mirror surfaces for review.

``sample_verdict`` judges one sample on its own; ``near_duplicates`` compares perceptual hashes
across samples of the same scene.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np

from depthcur.core.validate import FRACTION, Checked
from depthcur.schemas import Sample


@dataclass
class FilterConfig(Checked):
    #: reject samples whose depth is valid on less than this fraction of the pixels
    min_valid_ratio: float = field(default=0.05, metadata=FRACTION)
    #: valid depth range (m) ...
    min_depth_m: float = field(default=0.05, metadata={"min": 0})
    max_depth_m: float = field(default=80.0, metadata={"above_field": "min_depth_m"})
    #: ... reject samples with more than this fraction of their valid pixels outside it
    max_out_of_range_frac: float = field(default=0.01, metadata=FRACTION)
    #: below this the map is constant (degenerate)
    min_depth_std_m: float = field(default=1e-3, metadata={"min": 0})
    #: perceptual-hash bits; 0 = exact duplicates only
    duplicate_hamming: int = field(default=4, metadata={"min": 0, "max": 64})
    #: glass/mirror: sensor depth counted valid but off the stereo pseudo-label by more than this ratio ...
    glass_rel_diff: float = field(default=0.15, metadata={"min": 0})
    #: ... on more than this fraction of the pixels both cover
    glass_frac: float = field(default=0.05, metadata=FRACTION)


@dataclass
class Verdict:
    key: str
    reasons: list[str] = field(default_factory=list)    # any reason rejects
    review: list[str] = field(default_factory=list)     # flags for a person; the sample is kept
    phash: str = ""
    group: str = ""                                     # near duplicates are only searched within a group

    @property
    def rejected(self) -> bool:
        return bool(self.reasons)

    def as_dict(self) -> dict:
        return asdict(self)


def target_depth(sample: Sample) -> tuple[str, np.ndarray | None]:
    if sample.depth_gt is not None:
        return "depth_gt", sample.depth_gt
    return "depth_raw", sample.depth_raw


def depth_reasons(name: str, depth: np.ndarray, config: FilterConfig) -> list[str]:
    valid = np.isfinite(depth) & (depth > 0)
    ratio = float(valid.mean())
    if ratio < config.min_valid_ratio:
        return [f"{name}: valid ratio {ratio:.3f} < {config.min_valid_ratio}"]
    values = depth[valid]
    reasons = []
    if values.std() < config.min_depth_std_m:
        reasons.append(f"{name}: degenerate (constant) depth, std {values.std():.2e} m")
    outside = float(np.mean((values < config.min_depth_m) | (values > config.max_depth_m)))
    if outside > config.max_out_of_range_frac:
        reasons.append(f"{name}: {outside:.1%} of valid depth outside [{config.min_depth_m}, "
                       f"{config.max_depth_m}] m")
    return reasons


def glass_mirror_suspicion(sample: Sample, config: FilterConfig) -> list[str]:
    """Sensor depth that is "valid" yet disagrees with the stereo pseudo-label (mirrors, glass)."""
    kind = getattr(sample.depth_gt_kind, "value", sample.depth_gt_kind)
    if kind != "stereo_pseudo" or sample.depth_raw is None or sample.depth_gt is None:
        return []
    both = (sample.depth_raw > 0) & (sample.depth_gt > 0)
    if not both.any():
        return []
    rel = np.abs(sample.depth_raw[both] - sample.depth_gt[both]) / sample.depth_gt[both]
    frac = float(np.mean(rel > config.glass_rel_diff))
    if frac > config.glass_frac:
        return [f"glass/mirror suspect: {frac:.1%} of co-valid pixels differ from the stereo pseudo-label by "
                f"more than {config.glass_rel_diff:.0%}"]
    return []


def perceptual_hash(rgb: np.ndarray) -> str:
    import imagehash
    from PIL import Image

    return str(imagehash.phash(Image.fromarray(rgb)))


def sample_verdict(sample: Sample, config: FilterConfig = FilterConfig()) -> Verdict:
    verdict = Verdict(sample.key, phash=perceptual_hash(sample.rgb),
                      group=f"{sample.dataset}/{sample.scene_id}")
    name, depth = target_depth(sample)
    if depth is None:
        verdict.reasons.append("no depth map")
    else:
        verdict.reasons += depth_reasons(name, depth, config)
    verdict.review += glass_mirror_suspicion(sample, config)
    return verdict


def near_duplicates(verdicts: list[Verdict], max_hamming: int) -> dict[str, str]:
    """{key: key it duplicates}; the first key (sorted) of each near-duplicate cluster is kept."""
    import imagehash

    kept: dict[str, list[tuple[str, object]]] = {}
    duplicates: dict[str, str] = {}
    for verdict in sorted(verdicts, key=lambda v: v.key):
        h = imagehash.hex_to_hash(verdict.phash)
        group = kept.setdefault(verdict.group, [])
        match = next((key for key, other in group if h - other <= max_hamming), None)
        if match is None:
            group.append((verdict.key, h))
        else:
            duplicates[verdict.key] = match
    return duplicates
