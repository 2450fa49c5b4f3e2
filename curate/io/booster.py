"""Booster (Ramirez et al., CVPR 2022): indoor stereo with transparent and mirror surfaces.

Per scene ``<split>/balanced/<scene>/``: ``camera_00/`` (left) and ``camera_02/`` (right) hold the
same frames (``im0.png``, ``im1.png`` ...: one scene under several lightings), ``disp_00.npy`` is
the left GT disparity in pixels (float32, 0 = none), ``mask_00.png`` marks where it is valid,
``mask_cat.png`` grades the material (0 opaque, 1-3 transparent or mirror surfaces, "ToM") and
``calib_00-02.xml`` is an OpenCV FileStorage file with the rectified projections ``proj_matL``,
``proj_matR`` and ``baselineLR`` in mm. Depth is fx·B/(d + doffs) with doffs = cx_R - cx_L of
the projections (0 for a zero-disparity rectification). Every frame is one sample.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from depthcur.schemas import Intrinsics, MaterialClass, Sample, SchemaError
from depthcur.schemas.codecs import decode_png
from depthcur.schemas.keys import key_from_names

from .files import check_same_size, read_rgb_file
from .stereo_pair import stereo_pair_sample

DATASET = "booster"
CALIB = "calib_00-02.xml"
LEFT, RIGHT = "camera_00", "camera_02"
#: Booster's mask_cat grades ToM difficulty without telling glass from mirror: every ToM class
#: becomes TRANSPARENT (unverified against a devkit here; see docs/curate.md)
MATERIAL_OF_CATEGORY = {0: MaterialClass.OPAQUE}
TOM_MATERIAL = MaterialClass.TRANSPARENT

#: what find_items looks for, for the error when it finds nothing
LOOKS_FOR = f"scene folders holding {LEFT}/, {RIGHT}/ and disp_00.npy (Booster)"


def find_items(root: Path) -> list[Path]:
    """Scene folders (relative to root) with both camera folders and the left GT disparity."""
    scenes = {p.parent for p in root.rglob(LEFT) if p.is_dir()}
    return sorted(s.relative_to(root) for s in scenes if (s / RIGHT).is_dir() and (s / "disp_00.npy").is_file())


def read_matrix(storage, path: Path, name: str) -> np.ndarray:
    node = storage.getNode(name)
    matrix = None if node.empty() else node.mat()
    if matrix is None or np.asarray(matrix).shape != (3, 4):
        raise SchemaError(f"no 3x4 projection matrix {name!r}", field="K_ir", path=str(path))
    return np.asarray(matrix, dtype=np.float64)


def read_calib(path: Path) -> tuple[Intrinsics, float, float]:
    """(K of the left view, baseline in metres, doffs = cx_R - cx_L in px) from calib_00-02.xml."""
    import cv2

    if not path.is_file():
        raise SchemaError("calibration file is missing; every Booster scene ships one", field="K_ir", path=str(path))
    try:
        storage = cv2.FileStorage(str(path), cv2.FILE_STORAGE_READ)
    except cv2.error as exc:
        raise SchemaError(f"not a readable OpenCV FileStorage file ({str(exc).strip().splitlines()[-1]})",
                          field="K_ir", path=str(path)) from None
    try:
        left, right = read_matrix(storage, path, "proj_matL"), read_matrix(storage, path, "proj_matR")
        node = storage.getNode("baselineLR")
        if node.empty() or not node.isReal() and not node.isInt():
            raise SchemaError("no number 'baselineLR' (mm)", field="baseline_m", path=str(path))
        baseline_mm = float(node.real())
    finally:
        storage.release()
    if not baseline_mm > 0:
        raise SchemaError(f"baselineLR {baseline_mm} is not a positive length in mm", field="baseline_m",
                          path=str(path))
    k = Intrinsics(left[0, 0], left[1, 1], left[0, 2], left[1, 2])
    return k, baseline_mm / 1000.0, float(right[0, 2] - left[0, 2])


def read_mask(path: Path, shape: tuple[int, int], field: str) -> np.ndarray | None:
    """A single-channel 8-bit PNG of the left view's size, or None when the file is absent."""
    if not path.is_file():
        return None
    mask = decode_png(path.read_bytes(), field=field, path=str(path))
    if mask.ndim == 3:
        mask = mask[..., 0]
    if mask.shape != shape:
        raise SchemaError(f"size {mask.shape[1]}x{mask.shape[0]} does not match the left view "
                          f"({shape[1]}x{shape[0]})", field=field, path=str(path))
    return mask


def material_of(categories: np.ndarray) -> np.ndarray:
    material = np.full(categories.shape, TOM_MATERIAL.value, np.uint8)
    for category, code in MATERIAL_OF_CATEGORY.items():
        material[categories == category] = code.value
    return material


def read_disparity(path: Path) -> np.ndarray:
    try:
        disparity = np.load(path, allow_pickle=False)
    except ValueError as exc:
        raise SchemaError(f"not a readable .npy array ({exc})", field="disparity_gt", path=str(path)) from None
    if disparity.ndim != 2 or not np.issubdtype(disparity.dtype, np.floating):
        raise SchemaError(f"expected an H×W float disparity, got {disparity.dtype} {disparity.shape}",
                          field="disparity_gt", path=str(path))
    return disparity.astype(np.float32)


def split_of(item: Path) -> str:
    """Booster's own split is the top folder (train/ holds the GT, test/ does not)."""
    return "test" if "test" in item.parts[:-1] else "train"


def import_item(root: Path, item: Path) -> list[Sample]:
    scene = root / item
    k, baseline_m, doffs = read_calib(scene / CALIB)
    disparity = read_disparity(scene / "disp_00.npy")
    frames = sorted(p for p in (scene / LEFT).iterdir() if p.suffix.lower() in (".png", ".jpg"))
    if not frames:
        raise SchemaError("no frames (im0.png ...) in the left camera folder", path=str(scene / LEFT))
    shape = disparity.shape
    valid_mask = read_mask(scene / "mask_00.png", shape, "depth_gt")
    categories = read_mask(scene / "mask_cat.png", shape, "material_mask")
    valid = (disparity > 0) if valid_mask is None else (disparity > 0) & (valid_mask > 0)
    scene_parts = item.parts or (root.name,)   # --in may be the scene folder itself
    samples = []
    for frame in frames:
        left, fmt = read_rgb_file(frame)
        right_path = scene / RIGHT / frame.name
        if not right_path.is_file():
            raise SchemaError(f"the right view of {frame.name} is missing", path=str(right_path))
        right, _ = read_rgb_file(right_path)
        check_same_size(left, frame, disparity, scene / "disp_00.npy", "disparity_gt")
        check_same_size(left, frame, right, right_path, "ir_right")
        provenance = {"imported_from": DATASET, "scene": item.as_posix(), "frame": frame.name,
                      "files": [f"{LEFT}/{frame.name}", f"{RIGHT}/{frame.name}", "disp_00.npy", "mask_00.png",
                                "mask_cat.png", CALIB],
                      "units": "baselineLR mm -> m (/1000); disparity px; Z = fx*B/(d + doffs)",
                      "material_from": "mask_cat.png: 0 -> opaque, 1-3 (ToM) -> transparent"}
        samples.append(stereo_pair_sample(
            key=key_from_names(DATASET, *scene_parts, frame.stem), dataset=DATASET, scene_id=scene_parts[-1],
            split=split_of(item), device="booster_stereo_rig", left=left, right=right, rgb_format=fmt, k=k,
            baseline_m=baseline_m, pixel_disparity=disparity, valid=valid, doffs=doffs, provenance=provenance,
            material_mask=None if categories is None else material_of(categories)))
    return samples
