"""Middlebury 2014 stereo (Scharstein et al., GCPR 2014), as distributed per scene.

``<scene>/im0.png``, ``im1.png`` (rectified left/right colour views), ``disp0.pfm`` (left GT
disparity in pixels, inf = unknown) and ``calib.txt`` (``cam0=[f 0 cx; 0 f cy; 0 0 1]``,
``cam1=...``, ``doffs`` = cx1 - cx0 in px, ``baseline`` in mm, ``width``, ``height``, ``ndisp`` ...).
Depth is Z = baseline·f / (d + doffs), mm -> m. The pair is kept for ``curate stereo``
(:mod:`.stereo_pair`); the 2014 scenes are an evaluation set: split ``test``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from depthcur.schemas import Intrinsics, Sample, SchemaError
from depthcur.schemas.keys import key_from_names

from .files import check_same_size, read_pfm, read_rgb_file
from .stereo_pair import stereo_pair_sample

DATASET = "middlebury2014"
CALIB = "calib.txt"
#: calib.txt entries the import needs
REQUIRED_KEYS = ("cam0", "cam1", "doffs", "baseline", "width", "height")

#: what find_items looks for, for the error when it finds nothing
LOOKS_FOR = "scene folders holding im0.png, im1.png and disp0.pfm (Middlebury 2014)"


def find_items(root: Path) -> list[Path]:
    """Scene folders (relative to root, the root itself included) holding the pair and its GT."""
    folders = {p.parent for p in root.rglob("im0.png")}
    return sorted(f.relative_to(root) for f in folders if (f / "im1.png").is_file() and (f / "disp0.pfm").is_file())


def parse_matrix(text: str, path: Path, name: str) -> np.ndarray:
    """``[a b c; d e f; g h i]`` -> 3×3."""
    try:
        numbers = [float(x) for x in text.strip().strip("[]").replace(";", " ").split()]
    except ValueError:
        numbers = []
    if len(numbers) != 9:
        raise SchemaError(f"{name} is not a 3x3 matrix '[f 0 cx; 0 f cy; 0 0 1]': {text.strip()!r}", field="K_ir",
                          path=str(path))
    return np.array(numbers).reshape(3, 3)


def read_calib(path: Path) -> dict:
    """calib.txt as numbers: cam0/cam1 3×3, the rest floats; a missing or malformed entry names the file."""
    if not path.is_file():
        raise SchemaError("calibration file is missing; every Middlebury 2014 scene ships calib.txt", field="K_ir",
                          path=str(path))
    entries = dict(line.split("=", 1) for line in path.read_text().splitlines() if "=" in line)
    entries = {k.strip(): v for k, v in entries.items()}
    missing = [k for k in REQUIRED_KEYS if k not in entries]
    if missing:
        raise SchemaError(f"calibration lacks {', '.join(missing)}", field="K_ir", path=str(path))
    calib = {"cam0": parse_matrix(entries["cam0"], path, "cam0"), "cam1": parse_matrix(entries["cam1"], path, "cam1")}
    for name, value in entries.items():
        if name not in calib:
            try:
                calib[name] = float(value)
            except ValueError:
                if name in REQUIRED_KEYS:
                    raise SchemaError(f"{name}={value.strip()!r} is not a number", field="K_ir",
                                      path=str(path)) from None
    return calib


def import_item(root: Path, item: Path) -> list[Sample]:
    scene = root / item
    calib = read_calib(scene / CALIB)
    left, fmt = read_rgb_file(scene / "im0.png")
    right, _ = read_rgb_file(scene / "im1.png")
    check_same_size(left, scene / "im0.png", right, scene / "im1.png", "ir_right")
    disparity = read_pfm(scene / "disp0.pfm", field="disparity_gt")
    if disparity.ndim != 2:
        raise SchemaError(f"expected a one-channel 'Pf' disparity, got {disparity.shape[2]} channels",
                          field="disparity_gt", path=str(scene / "disp0.pfm"))
    check_same_size(left, scene / "im0.png", disparity, scene / "disp0.pfm", "disparity_gt")
    if (calib["width"], calib["height"]) != (left.shape[1], left.shape[0]):
        raise SchemaError(f"calibration is for {calib['width']:g}x{calib['height']:g} but im0.png is "
                          f"{left.shape[1]}x{left.shape[0]}", field="K_ir", path=str(scene / CALIB))
    cam0 = calib["cam0"]
    k = Intrinsics(cam0[0, 0], cam0[1, 1], cam0[0, 2], cam0[1, 2])
    name = item.name or root.name
    extras = {k_: v for k_, v in calib.items() if k_ in ("ndisp", "vmin", "vmax", "isint", "dyavg", "dymax")}
    provenance = {"imported_from": DATASET, "scene": name,
                  "files": ["im0.png", "im1.png", "disp0.pfm", CALIB], "cam1": calib["cam1"].tolist(),
                  "units": "baseline mm -> m (/1000); disparity px; Z = baseline*f/(d + doffs)", **extras}
    return [stereo_pair_sample(key=key_from_names(DATASET, name), dataset=DATASET, scene_id=name, split="test",
                               device="middlebury2014_dslr", left=left, right=right, rgb_format=fmt, k=k,
                               baseline_m=calib["baseline"] / 1000.0, pixel_disparity=disparity,
                               valid=np.isfinite(disparity), doffs=calib["doffs"], provenance=provenance)]
