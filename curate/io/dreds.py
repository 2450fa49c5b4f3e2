"""DREDS (simulated) and STD (real) from Dai et al., ECCV 2022, as SwinDRNet's loader reads them.

Scene folders (``DREDS-CatKnown/{train,val,test}/<scene>``, ``DREDS-CatNovel/<scene>``,
``STD-CatKnown/test_<n>``, ``STD-CatNovel/test_novel_<n>``) hold per frame NNNN:

- ``NNNN_color.png``: RGB (1280×720 as rendered/captured);
- raw depth, float EXR metres at the depth grid (640×360): ``NNNN_simDepthImage.exr`` (DREDS: the
  simulated D415, stereo matching on rendered IR pairs) or ``NNNN_depth_415.exr`` (STD: the real D415);
- GT depth, float EXR metres: ``NNNN_depth_120.exr`` (DREDS render), ``NNNN_gt_depth.exr`` or
  ``NNNN_depth_0.exr`` (STD, rendered from the object CAD models at annotated poses);
- instance mask ``NNNN_mask.exr`` (R channel × 255 = instance index, DREDS) or ``NNNN_mask.png``
  (index, STD);
- ``NNNN_meta.txt``: one line per instance, ``index label [folder name scale] material [pose]``; its
  material code is 0/1 diffuse, 2 transparent, 3 specular (SwinDRNet's material mask).

material_mask: diffuse -> 1 opaque, 2 -> transparent, 3 -> specular, pixels of no listed instance
(background) stay 0. Intrinsics are SwinDRNet's: fx = fy = 446.31 px at the 640×360 depth grid, principal
point at the image centre (w/2 - 0.5, h/2 - 0.5). The RGB is resized (area) to the depth grid,
because the record keeps every map on the RGB grid and the depth carries the measurement.
Split: the DREDS-CatKnown folder's train/val/test; CatNovel and STD are test sets.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from depthcur.schemas import (DepthEncoding, DepthGtKind, Intrinsics, MaterialClass, Sample, SchemaError, Source,
                              Split, with_stats)
from depthcur.schemas.codecs import decode_png
from depthcur.schemas.keys import key_from_names

from .files import check_same_size, read_exr_depth, read_rgb_file
from .public_files import check_shape, metres_or_zero, require_file

RGB_SUFFIX = "_color.png"
RAW_SUFFIXES = {"_simDepthImage.exr": "d415_sim", "_depth_415.exr": "d415"}
GT_SUFFIXES = ("_depth_120.exr", "_gt_depth.exr", "_depth_0.exr")
MASK_SUFFIXES = ("_mask.exr", "_mask.png")
META_SUFFIX = "_meta.txt"
#: SwinDRNet's focal length (px) at the 640×360 depth grid
FOCAL_PX = 446.31
DEPTH_GRID = (640, 360)
MATERIALS = {0: MaterialClass.OPAQUE, 1: MaterialClass.OPAQUE, 2: MaterialClass.TRANSPARENT,
             3: MaterialClass.SPECULAR}
SPLITS = {"train": Split.TRAIN, "val": Split.VAL, "test": Split.TEST}

#: what find_items looks for, for the error when it finds nothing
LOOKS_FOR = f"scene folders holding NNNN{RGB_SUFFIX} with NNNN{META_SUFFIX} (DREDS / STD)"


def find_items(root: Path) -> list[Path]:
    """Scene folders holding colour frames, relative to root."""
    return sorted({p.parent.relative_to(root) for p in root.rglob(f"*{RGB_SUFFIX}")})


def first_existing(folder: Path, frame: str, suffixes, what: str, field: str) -> Path:
    for suffix in suffixes:
        if (folder / f"{frame}{suffix}").is_file():
            return folder / f"{frame}{suffix}"
    raise SchemaError(f"no {what}: none of {', '.join(frame + s for s in suffixes)}", field=field,
                      path=str(folder))


def read_materials(path: Path) -> dict[int, int]:
    """Instance index -> material code from ``_meta.txt`` (index first, material 3rd or 6th word)."""
    codes = {}
    for number, line in enumerate(require_file(path, "meta file").read_text().splitlines(), 1):
        words = line.split()
        if not words:
            continue
        try:
            index, material = int(words[0]), int(words[5] if len(words) > 5 else words[2])
        except (IndexError, ValueError):
            raise SchemaError(f"line {number} is not 'index label [folder name scale] material ...': {line!r}",
                              field="material_mask", path=str(path)) from None
        if material not in MATERIALS:
            raise SchemaError(f"line {number}: unknown material code {material} (0/1 diffuse, 2 transparent, "
                              f"3 specular)", field="material_mask", path=str(path))
        codes[index] = material
    return codes


def read_instances(path: Path, shape: tuple[int, int]) -> np.ndarray:
    if path.suffix == ".exr":
        index = np.rint(read_exr_depth(path, field="material_mask") * 255)   # stored as index / 255
    else:
        index = decode_png(require_file(path, "instance mask").read_bytes(), field="material_mask", path=str(path))
        index = index[..., 0] if index.ndim == 3 else index
    check_shape(index, shape, path, "material_mask")
    return index.astype(np.int64)


def material_mask(instances: np.ndarray, codes: dict[int, int]) -> np.ndarray:
    material = np.zeros(instances.shape, np.uint8)
    for index, code in codes.items():
        material[instances == index] = MATERIALS[code]
    return material


def split_of(item: Path) -> Split:
    return next((SPLITS[part] for part in item.parts if part in SPLITS), Split.TEST)


def import_frame(item: Path, folder: Path, rgb_path: Path) -> Sample:
    frame = rgb_path.name[: -len(RGB_SUFFIX)]
    raw_path = first_existing(folder, frame, RAW_SUFFIXES, "raw depth", "depth_raw")
    gt_path = first_existing(folder, frame, GT_SUFFIXES, "GT depth", "depth_gt")
    maps = {"depth_raw": read_exr_depth(raw_path, field="depth_raw"),
            "depth_gt": read_exr_depth(gt_path, field="depth_gt")}
    maps = {f: metres_or_zero(d) for f, d in maps.items()}
    check_same_size(maps["depth_raw"], raw_path, maps["depth_gt"], gt_path, "depth_gt")
    height, width = maps["depth_raw"].shape
    rgb, fmt = read_rgb_file(rgb_path)
    rgb_size = (rgb.shape[1], rgb.shape[0])
    if rgb_size != (width, height):
        rgb = cv2.resize(rgb, (width, height), interpolation=cv2.INTER_AREA)
    mask_path = first_existing(folder, frame, MASK_SUFFIXES, "instance mask", "material_mask")
    material = material_mask(read_instances(mask_path, (height, width)),
                             read_materials(folder / f"{frame}{META_SUFFIX}"))
    k = Intrinsics(FOCAL_PX, FOCAL_PX, DEPTH_GRID[0] / 2 - 0.5, DEPTH_GRID[1] / 2 - 0.5)
    if (width, height) != DEPTH_GRID:
        k = k.scaled(width / DEPTH_GRID[0], height / DEPTH_GRID[1])
    raw_suffix = raw_path.name[len(frame):]
    subset = "std" if raw_suffix == "_depth_415.exr" else "dreds"   # real D415 capture or simulated
    sample = Sample(key=key_from_names("dreds", *item.parts, frame), source=Source.PUBLIC, dataset="dreds",
                    rgb=rgb, K_rgb=k, scene_id="_".join(item.parts), device=RAW_SUFFIXES[raw_suffix],
                    split=split_of(item), depth_gt_kind=DepthGtKind.RENDERED, material_mask=material,
                    depth_encoding={f: DepthEncoding("npy") for f in maps}, rgb_format=fmt,
                    provenance={"imported_from": "dreds", "subset": subset, "folder": item.as_posix(), "frame": frame,
                                "files": {"rgb": rgb_path.name, "depth_raw": raw_path.name, "depth_gt": gt_path.name,
                                          "material_mask": [mask_path.name, f"{frame}{META_SUFFIX}"]},
                                "units": "EXR R channel in metres, as stored; NaN/inf/<=0 -> 0",
                                "rgb_resized_from": list(rgb_size),
                                "K_rgb": f"SwinDRNet fx=fy={FOCAL_PX} at {DEPTH_GRID[0]}x{DEPTH_GRID[1]}, centred"},
                    **maps)
    return with_stats(sample)


def import_item(root: Path, item: Path) -> list[Sample]:
    folder = root / item
    return [import_frame(item, folder, p) for p in sorted(folder.glob(f"*{RGB_SUFFIX}"))]
