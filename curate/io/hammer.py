"""HAMMER (Jung et al., 2023), the processed release ``_dataset_processed.zip``.

Sequence folders ``scene<XX>_traj<Y>_<Z>`` (and ``..._naked_<Z>`` without objects), each with the
polarisation camera's view ``polarization/``: ``rgb/<frame>.png``, ``intrinsics.txt`` (3×3 K),
``_gt/<frame>.png`` (depth rendered from the scanned scene meshes at the tracked pose -> depth_gt,
kind ``rendered``) and every depth sensor's depth forward-warped into that view:
``depth_d435/`` (active stereo), ``depth_l515/`` (direct ToF), ``depth_tof/`` (Lucid Helios indirect
ToF). All depth PNGs are uint16 millimetres, 0 = invalid (the loaders divide by 1000).
One sample per (frame, sensor) with that sensor's depth as depth_raw, so a benchmark compares each
sensor on the same GT. The split follows the README: scenes 2-11 train, 12-14 test.
"""

from __future__ import annotations

import re
from pathlib import Path

from depthcur.schemas import DEFAULT_DEPTH_SCALE, DepthEncoding, DepthGtKind, Sample, Source, Split, with_stats
from depthcur.schemas.keys import key_from_names

from .files import check_same_size, read_depth_png, read_intrinsic_txt, read_rgb_file
from .public_files import require_file

VIEW = "polarization"
SENSORS = ("d435", "l515", "tof")
TEST_SCENES = range(12, 15)
SCENE_NUMBER = re.compile(r"scene(\d+)")

#: what find_items looks for, for the error when it finds nothing
LOOKS_FOR = f"sequence folders (scene12_traj1_1 ...) holding {VIEW}/rgb/ (HAMMER processed release)"


def find_items(root: Path) -> list[Path]:
    """Sequence folders holding polarization/rgb/, relative to root."""
    return sorted(p.parent.parent.relative_to(root) for p in root.rglob(f"{VIEW}/rgb") if p.is_dir())


def split_of(sequence: str) -> Split:
    match = SCENE_NUMBER.match(sequence)
    return Split.TEST if match and int(match.group(1)) in TEST_SCENES else Split.TRAIN


def import_frame(item: Path, view: Path, rgb_path: Path, k) -> list[Sample]:
    rgb, fmt = read_rgb_file(rgb_path)
    gt_path = require_file(view / "_gt" / f"{rgb_path.stem}.png", "GT depth image", "depth_gt")
    gt = read_depth_png(gt_path, DEFAULT_DEPTH_SCALE, field="depth_gt")
    check_same_size(rgb, rgb_path, gt, gt_path, "depth_gt")
    samples = []
    for sensor in SENSORS:
        raw_path = view / f"depth_{sensor}" / f"{rgb_path.stem}.png"
        if not raw_path.is_file():
            continue
        raw = read_depth_png(raw_path, DEFAULT_DEPTH_SCALE, field="depth_raw")
        check_same_size(rgb, rgb_path, raw, raw_path, "depth_raw")
        sequence = item.name
        sample = Sample(key=key_from_names("hammer", sequence, rgb_path.stem, sensor), source=Source.PUBLIC,
                        dataset="hammer", rgb=rgb, K_rgb=k, depth_raw=raw, depth_gt=gt, scene_id=sequence,
                        device=sensor, split=split_of(sequence), depth_gt_kind=DepthGtKind.RENDERED,
                        depth_encoding={f: DepthEncoding("png16", DEFAULT_DEPTH_SCALE)
                                        for f in ("depth_raw", "depth_gt")},
                        rgb_format=fmt,
                        provenance={"imported_from": "hammer", "sequence": sequence, "frame": rgb_path.stem,
                                    "files": {"rgb": f"{VIEW}/rgb/{rgb_path.name}",
                                              "depth_raw": f"{VIEW}/depth_{sensor}/{raw_path.name}",
                                              "depth_gt": f"{VIEW}/_gt/{gt_path.name}",
                                              "K_rgb": f"{VIEW}/intrinsics.txt"},
                                    "units": "uint16 millimetres / 1000 = metres",
                                    "view": "every sensor's depth warped into the polarisation camera"})
        samples.append(with_stats(sample))
    return samples


def import_item(root: Path, item: Path) -> list[Sample]:
    view = root / item / VIEW
    k = read_intrinsic_txt(view / "intrinsics.txt")
    frames = sorted(p for p in (view / "rgb").iterdir() if p.suffix.lower() == ".png")
    return [s for rgb_path in frames for s in import_frame(item, view, rgb_path, k)]
