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
    focal_mm: float                  # the IR pair's (and, by default, the RGB camera's)
    sensor_width_mm: float
    rgb_focal_mm: float | None = None    # None: the RGB camera is the left IR camera
    rgb_offset_m: float = 0.0            # RGB camera along the left IR camera's +x

    def intrinsics(self, width: int, height: int, focal_mm: float | None = None) -> Intrinsics:
        """Pinhole K at ``width``x``height``; square pixels, principal point at the image centre
        (pixel-centre convention: the first pixel's centre is 0)."""
        fx = (focal_mm or self.focal_mm) / self.sensor_width_mm * width
        return Intrinsics(fx, fx, (width - 1) / 2.0, (height - 1) / 2.0)

    @property
    def rgb_lens_mm(self) -> float:
        return self.rgb_focal_mm or self.focal_mm

    def rgb_intrinsics(self, width: int, height: int) -> Intrinsics:
        return self.intrinsics(width, height, self.rgb_lens_mm)

    @property
    def rgb_is_left_ir(self) -> bool:
        """The RGB camera is the left IR camera (same pose and FOV): one Z pass serves both grids."""
        same_lens = self.rgb_focal_mm is None or math.isclose(self.rgb_focal_mm, self.focal_mm)
        return same_lens and self.rgb_offset_m == 0.0

    def T_rgb_from_ir(self) -> np.ndarray:
        """Moves left-IR camera points into the RGB camera's frame (OpenCV axes: x right)."""
        transform = np.eye(4)
        transform[0, 3] -= self.rgb_offset_m
        return transform

    def horizontal_fov_rad(self) -> float:
        return 2.0 * math.atan(self.sensor_width_mm / (2.0 * self.focal_mm))

    def to_dict(self) -> dict:
        return asdict(self)


def sample_rig(rng: np.random.Generator, ranges: RigRanges) -> Rig:
    rgb_focal = None
    if ranges.rgb_hfov_deg:
        rgb_focal = ranges.sensor_width_mm / (2.0 * math.tan(math.radians(ranges.rgb_hfov_deg) / 2.0))
    return Rig(baseline_m=float(rng.uniform(*ranges.baseline_m)),
               focal_mm=float(rng.uniform(*ranges.focal_mm)),
               sensor_width_mm=float(ranges.sensor_width_mm), rgb_focal_mm=rgb_focal,
               rgb_offset_m=float(ranges.rgb_offset_m))


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

    def in_free_space(self, eye: np.ndarray, clearance_m: float | None = None) -> bool:
        clearance_m = self.clearance_m if clearance_m is None else clearance_m
        for direction in self.directions:
            hit = self._cast(eye, direction)
            if hit is None:
                continue
            location, normal, _ = hit
            if normal @ direction > 0:          # we are behind a surface: inside a solid
                return False
            if np.linalg.norm(location - eye) < clearance_m:
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

    def dolly_in(self, eye: np.ndarray, target: np.ndarray, distance_m: float) -> np.ndarray | None:
        """The eye moved along its view ray to ``distance_m`` from the surface it looks at, if that
        spot is free (clearance scaled down with the distance); None otherwise."""
        direction = (target - eye) / np.linalg.norm(target - eye)
        hit = self._cast(eye, direction)
        if hit is None:
            return None
        close_eye = hit[0] - distance_m * direction
        return close_eye if self.in_free_space(close_eye, clearance_m=0.5 * distance_m) else None

    def sample_far(self, rng: np.random.Generator, ranges: RigRanges, bounds: tuple[np.ndarray, np.ndarray],
                   floor_z: float | None, attempts: int) -> tuple[np.ndarray, dict]:
        """A view across the scene at a wall (or anything) ``far_view_distance_m`` away."""
        lo, hi = bounds
        for attempt in range(attempts):
            eye = rng.uniform(lo, hi)
            if floor_z is not None:
                eye[2] = floor_z + rng.uniform(*ranges.camera_height_m)
            azimuth, elevation = rng.uniform(0, 2 * math.pi), rng.uniform(-0.15, 0.15)
            direction = np.array([math.cos(azimuth) * math.cos(elevation), math.sin(azimuth) * math.cos(elevation),
                                  math.sin(elevation)])
            if np.any(eye < lo) or np.any(eye > hi) or not self.in_free_space(eye):
                continue
            hit = self._cast(eye, direction)
            distance = None if hit is None else float(np.linalg.norm(hit[0] - eye))
            if distance is None or not ranges.far_view_distance_m[0] <= distance <= ranges.far_view_distance_m[1]:
                continue
            return look_at_matrix(eye, hit[0]), {"target": hit[2].name, "attempts": attempt + 1,
                                                 "target_distance_m": distance, "view": "far"}
        raise RuntimeError(f"no far view ({ranges.far_view_distance_m[0]}-{ranges.far_view_distance_m[1]} m) "
                           f"found after {attempts} attempts: is the scene smaller than that?")

    @staticmethod
    def view_kind(rng: np.random.Generator, ranges: RigRanges) -> str:
        """normal, close or far; draws nothing when the rig has no close or far share (the generic rig)."""
        if not (ranges.close_view_probability or ranges.far_view_probability):
            return "normal"
        draw = rng.random()
        if draw < ranges.close_view_probability:
            return "close"
        return "far" if draw < ranges.close_view_probability + ranges.far_view_probability else "normal"

    def sample(self, rng: np.random.Generator, targets: list, ranges: RigRanges,
               bounds: tuple[np.ndarray, np.ndarray], floor_z: float | None,
               attempts: int = 400) -> tuple[np.ndarray, dict]:
        """(camera-to-world 4x4, info) looking at one of ``targets`` [(name, object, centre)], or, for
        the rig's share of far views, across the scene."""
        kind = self.view_kind(rng, ranges)
        if kind == "far":
            return self.sample_far(rng, ranges, bounds, floor_z, attempts)
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
            info = {"target": name, "attempts": attempt + 1}
            if kind == "close":
                eye = self.dolly_in(eye, centre, float(rng.uniform(*ranges.close_view_distance_m)))
                if eye is None:
                    continue
                info["view"] = "close"
            info["target_distance_m"] = float(np.linalg.norm(centre - eye))
            return look_at_matrix(eye, centre + jitter), info
        raise RuntimeError(f"no free camera pose found after {attempts} attempts (is the scene all solid, "
                           f"or is every object hidden?)")
