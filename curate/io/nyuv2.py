"""NYU Depth v2: the labeled set (``nyu_depth_v2_labeled.mat`` + ``splits.mat``) and the raw Kinect dumps.

Labeled set. ``nyu_depth_v2_labeled.mat`` is a MATLAB v7.3 file (HDF5). MATLAB stores arrays
column-major, so HDF5 shows every array with its axes reversed: ``images`` is N×3×W×H (uint8),
``depths`` and ``rawDepths`` N×W×H (float32 metres); frame i is ``images[i].transpose(2, 1, 0)`` and
``depths[i].T``. ``depths`` is the Kinect depth projected onto the (undistorted) RGB image and filled by
the toolbox's colorization inpainting: depth_gt, kind "sensor" (a filled sensor map, not a
measurement at every pixel; provenance says so). ``rawDepths`` is the same projection before the fill:
depth_raw. ``splits.mat`` (MATLAB v5) holds the official split, 1-based frame numbers ``trainNdxs`` and
``testNdxs``.

Raw dumps (``SCENE/INDEX.txt``, ``d-TIME-FRAME.pgm``, ``r-TIME-FRAME.ppm``): depth frames are paired
with the RGB frame nearest in time as the toolbox's ``get_synched_frames`` does. The PGM holds Kinect
v1 11-bit disparity; PGM is big-endian by its spec, but the toolbox reads these files with
``swapbytes``, i.e. they hold little-endian words: the byte order is checked on each file (the order in
which every value fits 11 bits). Metres = 351.3 / (1092.5 - value) (``depth_rel2depth_abs``), clamped
to [0, 10]; like the toolbox's noise mask, pixels clamped at 10 m are dropped. The frame is then
registered to the RGB camera as ``project_depth_map`` does: both images undistorted with the
toolbox's lens distortion (RGB bilinear, depth nearest so no depth is blended across an edge), the depth
back-projected with the depth intrinsics, moved by the toolbox's R, T and projected with the RGB
intrinsics (rounded, nearest point wins). The toolbox keeps each point's depth-camera depth; this
importer stores its depth along the RGB camera's axis (at most 0.6 % apart for the toolbox's R, T).

Intrinsics: ``camera_params.m`` of the NYU toolbox. The toolbox projects with MATLAB pixel
coordinates (1..W, ``meshgrid(1:640, 1:480)``), so its principal points are 1-based; depthcur's pixel
centres are 0-based: cx, cy lose 1. Frames of another size than 640×480 (resized copies) get the
intrinsics scaled to their size.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from depthcur.schemas import DepthEncoding, DepthGtKind, Intrinsics, SchemaError, Sample, Source, Split
from depthcur.schemas import with_stats
from depthcur.schemas.keys import key_from_names

from ..lidar.projection import backproject_depth, project_points
from .matlab_v5 import load_numeric
from .files import header_tokens
from .public_files import require_file

LABELED = "nyu_depth_v2_labeled.mat"
SPLITS = "splits.mat"
LABELED_ARRAYS = ("images", "depths", "rawDepths")
SIZE = (640, 480)

# camera_params.m of the NYU Depth v2 toolbox (1-based principal points: see the module docstring)
K_RGB_TOOLBOX = (5.1885790117450188e+02, 5.1946961112127485e+02, 3.2558244941119034e+02, 2.5373616633400465e+02)
K_DEPTH_TOOLBOX = (5.8262448167737955e+02, 5.8269103270988637e+02, 3.1304475870804731e+02, 2.3844389626620386e+02)
#: the nine numbers of camera_params.m's R, in the order written there
R_TOOLBOX = (9.9997798940829263e-01, 5.0518419386157446e-03, 4.3011152014118693e-03,
             -5.0359919480810989e-03, 9.9998051861143999e-01, -3.6879781309514218e-03,
             -4.3196624923060242e-03, 3.6662365748484798e-03, 9.9998394948385538e-01)
T_X, T_Y, T_Z = 2.5031875059141302e-02, 6.6238747008330102e-04, -2.9342312935846411e-04
#: camera_params.m lens distortion (k1, k2, p1, p2, k3: the Brown model, as OpenCV orders it)
DIST_RGB = (2.0796615318809061e-01, -5.8613825163911781e-01, 7.2231363135888329e-04, 1.0479627195765181e-03,
            4.9856986684705107e-01)
DIST_DEPTH = (-9.9897236553084481e-02, 3.9065324602765344e-01, 1.9290592870229277e-03, -1.9422022475975055e-03,
              -5.1031725053400578e-01)
DEPTH_PARAM_1, DEPTH_PARAM_2, MAX_DEPTH_M = 351.3, 1092.5, 10.0
KINECT_MAX_VALUE = 2047          # 11-bit disparity; 2047 = no reading

#: what find_items looks for, for the error when it finds nothing
LOOKS_FOR = f"{LABELED} (+ {SPLITS}) or raw scene folders SCENE/INDEX.txt (NYU Depth v2)"


def zero_based(k: tuple[float, float, float, float]) -> Intrinsics:
    fx, fy, cx, cy = k
    return Intrinsics(fx, fy, cx - 1.0, cy - 1.0)


def intrinsics_at(k: tuple[float, float, float, float], width: int, height: int) -> Intrinsics:
    base = zero_based(k)
    return base if (width, height) == SIZE else base.scaled(width / SIZE[0], height / SIZE[1])


def t_rgb_from_depth() -> np.ndarray:
    """The toolbox maps P to R·P + T with R = inv(-A) (A: the nine numbers row by row) and
    T = [t_x; t_z; t_y] (its order), which puts points at negative Z; a projection is the same for -P,
    so this is the rigid map -(R·P + T) = inv(A)·P - T with the scene in front of the camera."""
    t = np.eye(4)
    t[:3, :3] = np.linalg.inv(np.array(R_TOOLBOX).reshape(3, 3))
    t[:3, 3] = -np.array([T_X, T_Z, T_Y])
    return t


def find_items(root: Path) -> list[Path]:
    """Labeled frames as ``nyu_depth_v2_labeled.mat/NNNN`` (1-based, the NYU numbering) and raw scene folders."""
    items = []
    labeled = root / LABELED
    if labeled.is_file():
        count = check_labeled(labeled)
        require_file(root / SPLITS, f"the official split ({SPLITS}, beside {LABELED})")
        items += [Path(LABELED) / f"{i:04d}" for i in range(1, count + 1)]
    scenes = {p.parent for pattern in ("*/INDEX.txt", "*/*/INDEX.txt") for p in root.glob(pattern)}
    return items + sorted(p.relative_to(root) for p in scenes)


# ---------------------------------------------------------------- labeled set


def open_labeled(path: Path):
    import h5py

    try:
        return h5py.File(path, "r")
    except OSError as exc:
        raise SchemaError(f"not a MATLAB v7.3 (HDF5) file ({exc}); save it with -v7.3 or download it again",
                          path=str(path)) from None


def check_labeled(path: Path) -> int:
    """The number of frames; every array must be there with the same frame count and size."""
    with open_labeled(path) as mat:
        missing = [name for name in LABELED_ARRAYS if name not in mat]
        if missing:
            raise SchemaError(f"has no {', '.join(missing)} array (it holds {', '.join(sorted(mat.keys()))})",
                              field="depth_raw" if "rawDepths" in missing else None, path=str(path))
        images, depths, raw = (mat[name].shape for name in LABELED_ARRAYS)
        if len(images) != 4 or images[1] != 3 or depths != raw or depths != (images[0],) + images[2:]:
            raise SchemaError(f"array shapes do not agree: images {images} (want N×3×W×H), depths {depths}, "
                              f"rawDepths {raw} (want N×W×H)", path=str(path))
        return int(images[0])


def read_split(path: Path, index: int) -> Split:
    splits = load_numeric(require_file(path, "the official split", "split"))
    for name, split in (("testNdxs", Split.TEST), ("trainNdxs", Split.TRAIN)):
        if name not in splits:
            raise SchemaError(f"has no {name}", field="split", path=str(path))
        if index in np.asarray(splits[name]).ravel().astype(int):
            return split
    raise SchemaError(f"frame {index} is in neither trainNdxs nor testNdxs", field="split", path=str(path))


def scene_name(mat, i: int) -> str:
    """``scenes{i}`` of the .mat (a cell array: HDF5 references to uint16 character arrays), '' if absent."""
    if "scenes" not in mat:
        return ""
    chars = mat[mat["scenes"][()].ravel()[i]][()]       # MATLAB saves the 1×N (or N×1) cell as references
    return "".join(chr(c) for c in np.asarray(chars).ravel())


def import_labeled(root: Path, item: Path) -> Sample:
    index = int(item.name)
    path = root / LABELED
    split = read_split(root / SPLITS, index)
    with open_labeled(path) as mat:
        i = index - 1
        rgb = np.ascontiguousarray(mat["images"][i].transpose(2, 1, 0)).astype(np.uint8)
        depth_gt = np.ascontiguousarray(mat["depths"][i].T).astype(np.float32)
        depth_raw = np.ascontiguousarray(mat["rawDepths"][i].T).astype(np.float32)
        scene = scene_name(mat, i)
    h, w = rgb.shape[:2]
    sample = Sample(
        key=key_from_names("nyuv2", "labeled", f"{index:04d}"), source=Source.PUBLIC, dataset="nyuv2", rgb=rgb,
        K_rgb=intrinsics_at(K_RGB_TOOLBOX, w, h), depth_raw=np.where(depth_raw > 0, depth_raw, 0).astype(np.float32),
        depth_gt=np.where(depth_gt > 0, depth_gt, 0).astype(np.float32), depth_gt_kind=DepthGtKind.SENSOR,
        scene_id=scene, device="kinect_v1", split=split,
        depth_encoding={"depth_gt": DepthEncoding("npy"), "depth_raw": DepthEncoding("npy")},
        provenance={"imported_from": "nyuv2", "files": [LABELED, SPLITS], "frame": index,
                    "depth_raw": "rawDepths: Kinect depth projected onto the RGB camera, metres",
                    "depth_gt": "depths: rawDepths filled by the toolbox's colorization inpainting (not measured "
                                "where rawDepths is 0)",
                    "intrinsics": "toolbox camera_params.m RGB, cx/cy - 1 (MATLAB 1-based pixels)"})
    return with_stats(sample)


# ---------------------------------------------------------------- raw dumps


def netpbm(path: Path, magic: bytes) -> tuple[int, int, int, bytes]:
    """(width, height, maxval, pixel bytes) of a binary PGM (P5) or PPM (P6) file."""
    data = require_file(path, "image file").read_bytes()
    tokens, offset = header_tokens(data, 4, comments=True)     # magic, width, height, maxval
    if len(tokens) < 4 or tokens[0] != magic or not all(t.isdigit() for t in tokens[1:]):
        raise SchemaError(f"not a binary {magic.decode()} Netpbm file (header {data[:20]!r})", path=str(path))
    width, height, maxval = (int(t) for t in tokens[1:])
    return width, height, maxval, data[offset:]


def read_kinect_pgm(path: Path) -> np.ndarray:
    """The 11-bit disparity of a raw depth PGM, in whichever byte order keeps every value within 11 bits."""
    width, height, maxval, pixels = netpbm(path, b"P5")
    if maxval < 256 or len(pixels) != width * height * 2:
        raise SchemaError(f"expected {width}x{height} 16-bit words ({width * height * 2} bytes) with maxval > 255, "
                          f"found {len(pixels)} bytes with maxval {maxval}", field="depth_raw", path=str(path))
    for order in ("<u2", ">u2"):     # the toolbox's swapbytes: little-endian first
        values = np.frombuffer(pixels, dtype=order).reshape(height, width)
        if values.max() <= KINECT_MAX_VALUE:
            return values.astype(np.float64)
    raise SchemaError(f"values exceed the Kinect's 11-bit range ({KINECT_MAX_VALUE}) in both byte orders",
                      field="depth_raw", path=str(path))


def read_ppm(path: Path) -> np.ndarray:
    width, height, maxval, pixels = netpbm(path, b"P6")
    if maxval > 255 or len(pixels) != width * height * 3:
        raise SchemaError(f"expected {width}x{height} 8-bit RGB ({width * height * 3} bytes), found "
                          f"{len(pixels)} bytes with maxval {maxval}", field="rgb", path=str(path))
    return np.frombuffer(pixels, dtype=np.uint8).reshape(height, width, 3).copy()


def disparity_to_metres(values: np.ndarray) -> np.ndarray:
    """The toolbox's depth_rel2depth_abs: 351.3 / (1092.5 - value), clamped to [0, 10] m."""
    with np.errstate(divide="ignore"):
        metres = DEPTH_PARAM_1 / (DEPTH_PARAM_2 - values)
    return np.clip(np.nan_to_num(metres, nan=0.0, posinf=MAX_DEPTH_M, neginf=0.0), 0.0, MAX_DEPTH_M)


def undistort(image: np.ndarray, k: Intrinsics, distortion: tuple[float, ...], interpolation: int) -> np.ndarray:
    """``image`` as a distortion-free pinhole camera with the same K sees it (0 outside the source)."""
    import cv2

    h, w = image.shape[:2]
    map_x, map_y = cv2.initUndistortRectifyMap(k.matrix(), np.array(distortion), None, k.matrix(), (w, h),
                                               cv2.CV_32FC1)
    return cv2.remap(image, map_x, map_y, interpolation, borderMode=cv2.BORDER_CONSTANT, borderValue=0)


def register_to_rgb(metres: np.ndarray, rgb_shape: tuple[int, int]) -> np.ndarray:
    """project_depth_map: distorted depth-camera depth to undistorted RGB-camera depth (float32 m)."""
    import cv2

    h, w = metres.shape
    k_depth = intrinsics_at(K_DEPTH_TOOLBOX, w, h)
    kept = np.where(metres < MAX_DEPTH_M, metres, 0.0)        # the toolbox's noise mask: saturated pixels
    points = backproject_depth(undistort(kept, k_depth, DIST_DEPTH, cv2.INTER_NEAREST), k_depth)
    k_rgb = intrinsics_at(K_RGB_TOOLBOX, rgb_shape[1], rgb_shape[0])
    return project_points(points, k_rgb, t_rgb_from_depth(), rgb_shape)[0]


def frame_time(name: str) -> float:
    """TIME of ``d-TIME-FRAME.pgm`` / ``r-TIME-FRAME.ppm``."""
    return float(name[2:].split("-")[0])


def synched_frames(scene: Path) -> list[tuple[str, str]]:
    """(depth file, rgb file) pairs of INDEX.txt: each depth frame with the RGB frame nearest in time,
    walking both lists in time order as get_synched_frames does."""
    names = require_file(scene / "INDEX.txt", "frame index").read_text().split()
    try:
        depths = sorted((n for n in names if n.startswith("d-") and n.endswith(".pgm")), key=frame_time)
        rgbs = sorted((n for n in names if n.startswith("r-") and n.endswith(".ppm")), key=frame_time)
    except ValueError as exc:
        raise SchemaError(f"a frame name is not X-TIME-FRAME ({exc})", path=str(scene / "INDEX.txt")) from None
    if not rgbs:
        raise SchemaError("lists no RGB frame (r-*.ppm)", field="rgb", path=str(scene / "INDEX.txt"))
    pairs, j = [], 0
    for depth in depths:
        t = frame_time(depth)
        while j + 1 < len(rgbs) and abs(frame_time(rgbs[j + 1]) - t) <= abs(frame_time(rgbs[j]) - t):
            j += 1
        pairs.append((depth, rgbs[j]))
    return pairs


def import_raw_frame(root: Path, item: Path, depth_name: str, rgb_name: str) -> Sample:
    import cv2

    scene = root / item
    rgb = read_ppm(scene / rgb_name)
    values = read_kinect_pgm(scene / depth_name)
    h, w = rgb.shape[:2]
    sample = Sample(
        key=key_from_names("nyuv2", "raw", *item.parts, Path(depth_name).stem), source=Source.PUBLIC,
        dataset="nyuv2", rgb=undistort(rgb, intrinsics_at(K_RGB_TOOLBOX, w, h), DIST_RGB, cv2.INTER_LINEAR),
        K_rgb=intrinsics_at(K_RGB_TOOLBOX, w, h),
        depth_raw=register_to_rgb(disparity_to_metres(values), (h, w)).astype(np.float32), scene_id=item.name,
        device="kinect_v1", split=Split.TRAIN, depth_encoding={"depth_raw": DepthEncoding("npy")},
        provenance={"imported_from": "nyuv2", "scene": item.as_posix(), "files": [depth_name, rgb_name],
                    "depth_raw": "Kinect v1 disparity d -> 351.3 / (1092.5 - d) m, clamped to [0, 10], 10 dropped; "
                                 "undistorted and registered to the RGB camera (toolbox R, T)",
                    "split": "raw dumps carry no per-frame split: train",
                    "intrinsics": "toolbox camera_params.m RGB, cx/cy - 1 (MATLAB 1-based pixels); RGB "
                                  "undistorted with its distortion"})
    return with_stats(sample)


def import_raw_scene(root: Path, item: Path) -> list[Sample]:
    return [import_raw_frame(root, item, depth, rgb) for depth, rgb in synched_frames(root / item)]


def import_item(root: Path, item: Path) -> list[Sample]:
    if item.parent.name == LABELED:
        return [import_labeled(root, item)]
    return import_raw_scene(root, item)
