"""ETH3D high-resolution multi-view training scenes (DSLR, undistorted), as the ETH3D documentation describes.

Per scene: ``images/dslr_images_undistorted/NAME.JPG``; ``dslr_calibration_undistorted/cameras.txt``,
``images.txt`` and ``points3D.txt`` (COLMAP text model: PINHOLE cameras ``fx fy cx cy``; per image
``IMAGE_ID QW QX QY QZ TX TY TZ CAMERA_ID NAME`` then a line of ``X Y POINT3D_ID`` triplets, the pose
mapping world to camera); ground truth ``ground_truth_depth/dslr_images/NAME.JPG``: despite the name a
raw little-endian float32 array, row-major, at the undistorted image size, +inf (or 0) where the laser
scan gives no depth.

Import: depth_gt = the laser depth (lidar kind, invalid -> 0); depth_raw = the SfM points that
images.txt says this image observes (POINT3D_ID != -1), moved into the camera by the image's pose and
projected with its PINHOLE camera (nearest point wins a pixel): the sparse input of LingBot-Depth's
Protocol 2. COLMAP puts the centre of the first pixel at (0.5, 0.5); depthcur at (0, 0), so
cx, cy lose 0.5. ETH3D's training scenes are its evaluation data: split ``test``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from depthcur.schemas import DepthEncoding, DepthGtKind, Intrinsics, SchemaError, Sample, Source, Split
from depthcur.schemas import with_stats
from depthcur.schemas.keys import key_from_names

from ..lidar.projection import project_points
from .files import read_rgb_file
from .public_files import check_shape, metres_or_zero, require_file

IMAGES = Path("images") / "dslr_images_undistorted"
CALIB = Path("dslr_calibration_undistorted")
GT_DEPTH = Path("ground_truth_depth") / "dslr_images"

#: what find_items looks for, for the error when it finds nothing
LOOKS_FOR = f"scene folders holding {IMAGES.as_posix()}/ (ETH3D high-res multi-view, undistorted)"


@dataclass(frozen=True)
class Camera:
    k: Intrinsics
    width: int
    height: int


@dataclass(frozen=True)
class ImagePose:
    name: str
    camera_id: int
    t_cam_from_world: np.ndarray        # 4×4
    point_ids: np.ndarray               # observed POINT3D_IDs (int64, no -1)


def find_items(root: Path) -> list[Path]:
    """Scene folders, relative to root."""
    return sorted(p.parent.parent.relative_to(root) for p in root.glob(f"*/{IMAGES.as_posix()}") if p.is_dir())


def model_lines(path: Path) -> list[str]:
    """The lines of a COLMAP text file without its comments (blank lines kept: an image may observe nothing)."""
    return [line for line in require_file(path, "COLMAP model file", "K_rgb").read_text().splitlines()
            if not line.startswith("#")]


def parse_error(path: Path, line_no: int, what: str) -> SchemaError:
    return SchemaError(f"line {line_no}: {what}", field="K_rgb", path=str(path))


def read_cameras(path: Path) -> dict[int, Camera]:
    cameras = {}
    for n, line in enumerate(model_lines(path), 1):
        if not line.strip():
            continue
        parts = line.split()
        if len(parts) < 4 or parts[1] != "PINHOLE" or len(parts) != 8:
            raise parse_error(path, n, f"expected 'CAMERA_ID PINHOLE WIDTH HEIGHT fx fy cx cy' (the undistorted "
                                       f"model), got {line.strip()!r}")
        fx, fy, cx, cy = (float(v) for v in parts[4:])
        cameras[int(parts[0])] = Camera(Intrinsics(fx, fy, cx - 0.5, cy - 0.5), int(parts[2]), int(parts[3]))
    return cameras


def quaternion_matrix(qw: float, qx: float, qy: float, qz: float) -> np.ndarray:
    """Rotation of a unit quaternion (Hamilton, scalar first, as COLMAP writes it)."""
    q = np.array([qw, qx, qy, qz], dtype=np.float64)
    w, x, y, z = q / np.linalg.norm(q)
    return np.array([[1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
                     [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
                     [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)]])


def read_images(path: Path) -> dict[str, ImagePose]:
    """images.txt by image file name (without its folder)."""
    lines, poses, n = model_lines(path), {}, 0
    while n < len(lines):
        header = lines[n].split()
        n += 1
        if not header:
            continue
        if len(header) < 10:
            raise parse_error(path, n, "expected 'IMAGE_ID QW QX QY QZ TX TY TZ CAMERA_ID NAME'")
        observations = lines[n].split() if n < len(lines) else []
        n += 1
        if len(observations) % 3:
            raise parse_error(path, n, "POINTS2D line is not a list of 'X Y POINT3D_ID' triplets")
        ids = np.array([int(float(v)) for v in observations[2::3]], dtype=np.int64)
        t = np.eye(4)
        t[:3, :3] = quaternion_matrix(*(float(v) for v in header[1:5]))
        t[:3, 3] = [float(v) for v in header[5:8]]
        name = " ".join(header[9:])
        poses[Path(name).name] = ImagePose(name, int(header[8]), t, ids[ids != -1])
    return poses


def read_points3d(path: Path) -> dict[int, np.ndarray]:
    """points3D.txt: POINT3D_ID -> (X, Y, Z) in the world frame."""
    points = {}
    for n, line in enumerate(model_lines(path), 1):
        parts = line.split()
        if not parts:
            continue
        if len(parts) < 4:
            raise parse_error(path, n, "expected 'POINT3D_ID X Y Z R G B ERROR TRACK[]'")
        points[int(parts[0])] = np.array([float(v) for v in parts[1:4]])
    return points


def read_gt_depth(path: Path, camera: Camera) -> np.ndarray:
    """The raw float32 ground-truth depth file; its byte count must be width × height × 4."""
    expected = camera.width * camera.height * 4
    size = require_file(path, "ground-truth depth file", "depth_gt").stat().st_size
    if size != expected:
        raise SchemaError(f"holds {size} bytes; a {camera.width}x{camera.height} float32 depth map has {expected} "
                          f"(truncated, or the wrong image size)", field="depth_gt", path=str(path))
    return metres_or_zero(np.fromfile(path, dtype="<f4").reshape(camera.height, camera.width))


def sfm_depth(pose: ImagePose, points: dict[int, np.ndarray], camera: Camera, model_path: Path) -> np.ndarray:
    missing = [int(i) for i in pose.point_ids if int(i) not in points]
    if missing:
        raise SchemaError(f"image {pose.name} observes POINT3D_ID {missing[0]}, which points3D.txt lacks "
                          f"({len(missing)} missing)", field="depth_raw", path=str(model_path))
    xyz = np.array([points[int(i)] for i in pose.point_ids]).reshape(-1, 3)
    return project_points(xyz, camera.k, pose.t_cam_from_world, (camera.height, camera.width))[0]


def import_image(root: Path, scene: Path, image: Path, pose: ImagePose, cameras: dict[int, Camera],
                 points: dict[int, np.ndarray]) -> Sample:
    calib = root / scene / CALIB
    if pose.camera_id not in cameras:
        raise SchemaError(f"image {pose.name} uses CAMERA_ID {pose.camera_id}, which cameras.txt lacks",
                          field="K_rgb", path=str(calib / "cameras.txt"))
    camera = cameras[pose.camera_id]
    rgb, fmt = read_rgb_file(image)
    check_shape(rgb, (camera.height, camera.width), image, "rgb")
    depth_path = root / scene / GT_DEPTH / image.name
    sample = Sample(
        key=key_from_names("eth3d", scene.name, image.stem), source=Source.PUBLIC, dataset="eth3d", rgb=rgb,
        K_rgb=camera.k, depth_gt=read_gt_depth(depth_path, camera), depth_gt_kind=DepthGtKind.LIDAR,
        depth_raw=sfm_depth(pose, points, camera, calib / "points3D.txt"), scene_id=scene.name,
        device="nikon_d3x", split=Split.TEST, rgb_format=fmt,
        depth_encoding={"depth_gt": DepthEncoding("npy"), "depth_raw": DepthEncoding("npy")},
        provenance={"imported_from": "eth3d", "scene": scene.as_posix(), "frame": image.stem,
                    "files": [str(p.relative_to(root)) for p in (image, depth_path)],
                    "depth_gt": "laser scan, raw float32 (+inf = none)", "depth_raw": "sfm_points",
                    "sfm_points": int(pose.point_ids.size),
                    "intrinsics": "COLMAP PINHOLE, cx/cy - 0.5 (COLMAP pixel centres at +0.5)"})
    return with_stats(sample)


def import_item(root: Path, item: Path) -> list[Sample]:
    calib = root / item / CALIB
    cameras = read_cameras(calib / "cameras.txt")
    poses = read_images(calib / "images.txt")
    points = read_points3d(calib / "points3D.txt")
    samples = []
    for image in sorted(p for p in (root / item / IMAGES).iterdir() if p.suffix.lower() in (".jpg", ".png")):
        if image.name not in poses:
            raise SchemaError(f"image {image.name} has no entry in images.txt", field="K_rgb",
                              path=str(calib / "images.txt"))
        samples.append(import_image(root, item, image, poses[image.name], cameras, points))
    return samples
