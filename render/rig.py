"""Camera rig sampling: baseline, focal length, intrinsics, and camera poses in free space.

The RGB camera is the left IR camera (same pose and field of view, 4/3 the resolution), so
``T_rgb_from_ir`` is the identity and one Z pass serves both grids. The right IR camera sits
``baseline_m`` along the left camera's +x axis.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

from depthcur.schemas import Intrinsics

from .config import RigRanges


@dataclass(frozen=True)
class Rig:
    baseline_m: float
    focal_mm: float
    sensor_width_mm: float

    def intrinsics(self, width: int, height: int) -> Intrinsics:
        """Pinhole K at ``width``x``height``; square pixels, principal point at the image centre
        (pixel-centre convention: the first pixel's centre is 0)."""
        fx = self.focal_mm / self.sensor_width_mm * width
        return Intrinsics(fx, fx, (width - 1) / 2.0, (height - 1) / 2.0)

    def horizontal_fov_rad(self) -> float:
        return 2.0 * math.atan(self.sensor_width_mm / (2.0 * self.focal_mm))

    def to_dict(self) -> dict:
        return asdict(self)


def sample_rig(rng: np.random.Generator, ranges: RigRanges) -> Rig:
    return Rig(baseline_m=float(rng.uniform(*ranges.baseline_m)),
               focal_mm=float(rng.uniform(*ranges.focal_mm)),
               sensor_width_mm=float(ranges.sensor_width_mm))


def look_at_matrix(eye: np.ndarray, target: np.ndarray) -> np.ndarray:
    """4x4 camera-to-world of a Blender camera (looks down -z, +y up) at ``eye`` facing ``target``."""
    forward = np.asarray(target, float) - np.asarray(eye, float)
    forward /= np.linalg.norm(forward)
    up_world = np.array([0.0, 0.0, 1.0])
    if abs(forward @ up_world) > 0.98:      # looking straight up/down: pick another up
        up_world = np.array([0.0, 1.0, 0.0])
    right = np.cross(forward, up_world)
    right /= np.linalg.norm(right)
    up = np.cross(right, forward)
    pose = np.eye(4)
    pose[:3, 0], pose[:3, 1], pose[:3, 2], pose[:3, 3] = right, up, -forward, eye
    return pose


def right_camera_pose(left_pose: np.ndarray, baseline_m: float) -> np.ndarray:
    """The right camera: translated by the baseline along the left camera's +x (image right)."""
    pose = left_pose.copy()
    pose[:3, 3] = left_pose[:3, 3] + baseline_m * left_pose[:3, 0]
    return pose


def fibonacci_directions(count: int) -> np.ndarray:
    """Roughly uniform unit vectors on the sphere (for free-space probes)."""
    i = np.arange(count) + 0.5
    phi = np.arccos(1 - 2 * i / count)
    theta = math.pi * (1 + 5 ** 0.5) * i
    return np.stack([np.cos(theta) * np.sin(phi), np.sin(theta) * np.sin(phi), np.cos(phi)], axis=1)


class PoseSampler:
    """Samples camera poses in free space that look at content, by ray casts into the scene.

    A candidate eye is rejected when a probe ray hits a back face (the eye is inside a solid),
    when geometry is closer than ``clearance_m`` in any direction, or when the target is
    hidden behind something else or the view starts closer than the sensor's minimum depth.
    """

    def __init__(self, scene, depsgraph, *, clearance_m: float = 0.3, min_view_depth_m: float = 0.5,
                 probes: int = 26):
        self.scene, self.depsgraph = scene, depsgraph
        self.clearance_m, self.min_view_depth_m = clearance_m, min_view_depth_m
        self.directions = fibonacci_directions(probes)

    def _cast(self, origin: np.ndarray, direction: np.ndarray, distance: float = 1.0e4):
        from mathutils import Vector

        hit, location, normal, _index, obj, _m = self.scene.ray_cast(
            self.depsgraph, Vector(origin.tolist()), Vector(direction.tolist()), distance=distance)
        if not hit:
            return None
        return np.array(location), np.array(normal), obj

    def in_free_space(self, eye: np.ndarray) -> bool:
        for direction in self.directions:
            hit = self._cast(eye, direction)
            if hit is None:
                continue
            location, normal, _ = hit
            if normal @ direction > 0:          # we are behind a surface: inside a solid
                return False
            if np.linalg.norm(location - eye) < self.clearance_m:
                return False
        return True

    def sees(self, eye: np.ndarray, target: np.ndarray, target_object) -> bool:
        direction = target - eye
        direction /= np.linalg.norm(direction)
        hit = self._cast(eye, direction)
        if hit is None:
            return False
        location, _, obj = hit
        if np.linalg.norm(location - eye) < self.min_view_depth_m:
            return False
        return target_object is None or obj.name == target_object.name

    def sample(self, rng: np.random.Generator, targets: list, ranges: RigRanges,
               bounds: tuple[np.ndarray, np.ndarray], floor_z: float | None,
               attempts: int = 400) -> tuple[np.ndarray, dict]:
        """(camera-to-world 4x4, info) looking at one of ``targets`` [(name, object, centre)]."""
        lo, hi = bounds
        for attempt in range(attempts):
            name, obj, centre = targets[int(rng.integers(len(targets)))]
            distance = rng.uniform(*ranges.view_distance_m)
            azimuth = rng.uniform(0, 2 * math.pi)
            if floor_z is not None:
                eye_z = floor_z + rng.uniform(*ranges.camera_height_m)
                dz = eye_z - centre[2]
                horizontal = math.sqrt(max(distance ** 2 - dz ** 2, 0.05))
            else:
                elevation = rng.uniform(-0.2, 0.8)
                eye_z = centre[2] + distance * math.sin(elevation)
                horizontal = distance * math.cos(elevation)
            eye = np.array([centre[0] + horizontal * math.cos(azimuth),
                            centre[1] + horizontal * math.sin(azimuth), eye_z])
            if np.any(eye < lo) or np.any(eye > hi):
                continue
            # aim a little off the object's centre so views are not all centred
            jitter = rng.normal(0.0, 0.15, size=3)
            if not (self.in_free_space(eye) and self.sees(eye, centre, obj)):
                continue
            return look_at_matrix(eye, centre + jitter), {"target": name, "attempts": attempt + 1,
                                                          "target_distance_m": float(np.linalg.norm(centre - eye))}
        raise RuntimeError(f"no free camera pose found after {attempts} attempts (is the scene all solid, "
                           f"or is every object hidden?)")
