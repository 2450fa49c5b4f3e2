"""TransCG (Fang et al., RA-L 2022), as its authors distribute it and read it (``datasets/transcg.py``).

``metadata.json`` at the root (``total_scenes``, ``train``/``test`` scene-id lists), per scene
``scene<N>/metadata.json`` (``type``, ``split``, ``D435_valid_perspective_list``,
``L515_valid_perspective_list``) and per perspective ``scene<N>/<p>/`` with, for camera c = 1 (RealSense
D435) and c = 2 (RealSense L515): ``rgb<c>.png``, ``depth<c>.png`` (the sensor's own depth),
``depth<c>-gt.png`` (GT: the sensor depth with the transparent objects rendered from their meshes at
tracked poses) and ``depth<c>-gt-mask.png`` (non-zero on the transparent objects). Depth PNGs are
uint16 in sensor units: D435 ÷ 1000, L515 ÷ 4000 -> metres (``process_data``'s ``scale_coeff``).
Intrinsics: ``camera_intrinsics/camIntrinsics-D435.npy`` and ``-L515.npy`` (3×3). One sample per
(valid perspective, camera); the split is the scene's.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from depthcur.schemas import (DepthEncoding, DepthGtKind, Intrinsics, MaterialClass, Sample, SchemaError, Source,
                              Split, with_stats)
from depthcur.schemas.keys import key_from_names

from .files import check_same_size, read_depth_png, read_rgb_file
from .public_files import read_mask_png, read_npy, require_file


@dataclass(frozen=True)
class Camera:
    index: int          # the digit in rgb<c>.png
    name: str           # as in camIntrinsics-<name>.npy and <name>_valid_perspective_list
    device: str
    scale: float        # metres per depth unit


CAMERAS = (Camera(1, "D435", "d435", 1 / 1000), Camera(2, "L515", "l515", 1 / 4000))
SPLITS = {"train": Split.TRAIN, "test": Split.TEST}

#: what find_items looks for, for the error when it finds nothing
LOOKS_FOR = "metadata.json listing train/test scene ids, and scene<N>/ folders (TransCG)"


def read_json(path: Path, field: str | None = None) -> dict:
    try:
        value = json.loads(require_file(path, "metadata file", field).read_text())
    except json.JSONDecodeError as exc:
        raise SchemaError(f"not valid JSON ({exc})", field=field, path=str(path)) from None
    if not isinstance(value, dict):
        raise SchemaError(f"expected a JSON object, found {type(value).__name__}", field=field, path=str(path))
    return value


def dataset_splits(root: Path) -> dict[int, Split]:
    """Scene id -> split from the root metadata.json."""
    meta = read_json(root / "metadata.json")
    try:
        return {int(scene): SPLITS[name] for name in SPLITS for scene in meta.get(name, [])}
    except (TypeError, ValueError):
        raise SchemaError("the train/test lists must hold scene ids", path=str(root / "metadata.json")) from None


def find_items(root: Path) -> list[Path]:
    """Scene folders listed by the root metadata.json (a missing or broken one stops the import)."""
    return [Path(f"scene{scene}") for scene in sorted(dataset_splits(root)) if (root / f"scene{scene}").is_dir()]


def read_intrinsics(root: Path, camera: Camera) -> Intrinsics:
    path = root / "camera_intrinsics" / f"camIntrinsics-{camera.name}.npy"
    k = read_npy(path, field="K_rgb")
    if k.shape != (3, 3) or not np.allclose(k[2], [0, 0, 1]):
        raise SchemaError(f"expected a 3×3 pinhole K, found shape {k.shape}", field="K_rgb", path=str(path))
    return Intrinsics.from_any(k)


def import_view(root: Path, item: Path, perspective: str, camera: Camera, k: Intrinsics, split: Split,
                scene_type: str) -> Sample:
    folder = root / item / perspective
    c = camera.index
    rgb_path = folder / f"rgb{c}.png"
    rgb, fmt = read_rgb_file(require_file(rgb_path, "RGB image", "rgb"))
    maps = {}
    for field, name in (("depth_raw", f"depth{c}.png"), ("depth_gt", f"depth{c}-gt.png")):
        maps[field] = read_depth_png(require_file(folder / name, "depth image", field), camera.scale, field=field)
        check_same_size(rgb, rgb_path, maps[field], folder / name, field)
    transparent = read_mask_png(folder / f"depth{c}-gt-mask.png", rgb.shape[:2], field="material_mask")
    material = np.where(transparent, MaterialClass.TRANSPARENT, MaterialClass.OPAQUE).astype(np.uint8)
    sample = Sample(key=key_from_names("transcg", item.name, perspective, camera.device), source=Source.PUBLIC,
                    dataset="transcg", rgb=rgb, K_rgb=k, scene_id=item.name, device=camera.device, split=split,
                    depth_gt_kind=DepthGtKind.RENDERED, material_mask=material,
                    depth_encoding={f: DepthEncoding("png16", camera.scale) for f in maps}, rgb_format=fmt,
                    provenance={"imported_from": "transcg", "scene": item.name, "perspective": perspective,
                                "scene_type": scene_type,
                                "files": {"rgb": f"rgb{c}.png", "depth_raw": f"depth{c}.png",
                                          "depth_gt": f"depth{c}-gt.png", "material_mask": f"depth{c}-gt-mask.png",
                                          "K_rgb": f"camera_intrinsics/camIntrinsics-{camera.name}.npy"},
                                "units": f"uint16 / {round(1 / camera.scale)} = metres ({camera.name})"},
                    **maps)
    return with_stats(sample)


def import_item(root: Path, item: Path) -> list[Sample]:
    meta_path = root / item / "metadata.json"
    meta = read_json(meta_path)
    split = dataset_splits(root)[int(item.name.removeprefix("scene"))]
    if meta.get("split") not in (None, split.value):
        raise SchemaError(f"scene split {meta.get('split')!r} disagrees with the root metadata.json ({split.value})",
                          path=str(meta_path))
    samples = []
    for camera in CAMERAS:
        listed = meta.get(f"{camera.name}_valid_perspective_list")
        if listed is None:
            raise SchemaError(f"no {camera.name}_valid_perspective_list", path=str(meta_path))
        k = read_intrinsics(root, camera)
        samples += [import_view(root, item, str(p), camera, k, split, str(meta.get("type", "")))
                    for p in listed]
    return samples
