"""The released LingBot-Depth layout.

``<root>/<scene>/<camera>_<seq>/{color,rawdepth,gtdepth}/<frame>.png`` with ``intrinsic.txt`` in the
sequence folder; depth is 16-bit PNG in millimetres (0 = invalid). ``gtdepth`` may be absent.
That is the dataset card's RobbyReal layout (``robbyant/mdm_depth``: ``RobbyReal/<scene_id>/
orbbec_335_<seq>/``, ``realsense_D415_<seq>/`` ...); sequence folders are found at any depth, so
``--in`` may also be the release root holding ``RobbyReal/`` (the key then keeps every folder name).
"""

from __future__ import annotations

from pathlib import Path

from depthcur.schemas import DEFAULT_DEPTH_SCALE, DepthEncoding, DepthGtKind, Sample, Source, with_stats
from depthcur.schemas.keys import flatten_key, key_from_names, sanitise_key_part

from .files import (check_same_size, read_depth_png, read_intrinsic_txt, read_rgb_file, write_depth_png,
                    write_intrinsic_txt, write_rgb)

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")


#: what find_items looks for, for the error when it finds nothing
LOOKS_FOR = "sequence folders SCENE/SEQUENCE/ holding color/ (the LingBot-Depth release)"


def find_items(root: Path) -> list[Path]:
    """Sequence folders (those with a color/ folder, at least SCENE/SEQUENCE deep), relative to root."""
    return sorted(p.parent.relative_to(root) for p in root.rglob("color")
                  if p.is_dir() and len(p.parent.relative_to(root).parts) >= 2)


def split_camera(sequence: str) -> tuple[str, str]:
    camera, _, seq = sequence.rpartition("_")
    return (camera, seq) if camera else (sequence, "")


def import_frame(seq_dir: Path, color: Path, k, item: Path) -> Sample:
    rgb, fmt = read_rgb_file(color)
    maps = {}
    for folder, field in (("rawdepth", "depth_raw"), ("gtdepth", "depth_gt")):
        path = seq_dir / folder / f"{color.stem}.png"
        if path.is_file():
            maps[field] = read_depth_png(path, DEFAULT_DEPTH_SCALE, field=field)
            check_same_size(rgb, color, maps[field], path, field)
    scene, sequence = item.parts[-2:]
    camera, _ = split_camera(sequence)
    sample = Sample(key=key_from_names("lingbot", *item.parts, color.stem),
                    source=Source.REAL, dataset="lingbot-depth", rgb=rgb, K_rgb=k, scene_id=scene, device=camera,
                    depth_gt_kind=DepthGtKind.STEREO_PSEUDO if "depth_gt" in maps else None,
                    depth_encoding={f: DepthEncoding("png16", DEFAULT_DEPTH_SCALE) for f in maps}, rgb_format=fmt,
                    provenance={"imported_from": "lingbot", "frame": color.stem, "sequence": sequence}, **maps)
    return with_stats(sample)


def import_item(root: Path, item: Path) -> list[Sample]:
    seq_dir = root / item
    k = read_intrinsic_txt(seq_dir / "intrinsic.txt")
    colors = sorted(p for p in (seq_dir / "color").iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    return [import_frame(seq_dir, color, k, item) for color in colors]


def export_sample(sample: Sample, out: Path) -> None:
    scene = sanitise_key_part(sample.scene_id or sample.dataset)
    sequence = sample.provenance.get("sequence") or f"{sanitise_key_part(sample.device or 'camera')}_0"
    frame = sample.provenance.get("frame") or flatten_key(sample.key, separator="_")
    seq_dir = out / scene / sequence
    write_intrinsic_txt(seq_dir / "intrinsic.txt", sample.K_rgb)
    write_rgb(seq_dir / "color" / f"{frame}.{'jpg' if sample.rgb_format == 'jpeg' else 'png'}", sample.rgb)
    for folder, field in (("rawdepth", "depth_raw"), ("gtdepth", "depth_gt")):
        depth = getattr(sample, field)
        if depth is not None:
            write_depth_png(seq_dir / folder / f"{frame}.png", depth, DEFAULT_DEPTH_SCALE, field=field)
