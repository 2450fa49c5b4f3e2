"""Camera profiles: a real RGB-D camera as a data file (``render/cameras/NAME.yaml``), loaded and
applied to a :class:`RenderConfig`.

A profile fixes what the ``generic`` camera draws at random: the stereo baseline, the IR and RGB
resolutions and fields of view, the RGB camera's offset from the left IR camera, the sensor's
range and its matcher preset, the projector and the view distances. ``--camera NAME`` picks a
shipped profile, ``--camera PATH`` a user's file with the same keys, and
``--camera-from-capture SAMPLE`` builds one from a captured sample's real intrinsics and extrinsics.
A profile's values replace the config fields they stand for; a field also set away from its
default to another value is a conflict and is refused, never silently overridden.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from depthcur.core.exits import FieldValueError, UsageError
from depthcur.core.validate import Checked

#: the shipped profiles, one YAML file each
PROFILE_DIR = Path(__file__).resolve().parent / "cameras"
GENERIC = "generic"
#: SgmConfig fields a profile's ``sgm`` mapping may set (the matcher preset)
SGM_PRESET_KEYS = ("block_size", "uniqueness_ratio", "disp12_max_diff", "speckle_window_size", "speckle_range",
                   "explicit_lr_check", "explicit_lr_tolerance_px", "min_match_correlation", "mode")


class CameraProfileError(UsageError):
    """A profile name that does not exist, or a profile file with a bad key or value."""


@dataclass
class CameraProfile(Checked):
    """One camera, as its datasheet describes it (units: metres, degrees, pixels)."""

    name: str
    #: stereo baseline between the two IR (or, for passive cameras, colour) imagers
    baseline_m: float = field(metadata={"above": 0})
    #: IR imager resolution [width, height] and horizontal field of view
    ir_resolution: tuple[int, int] = field(metadata={"min": 32})
    ir_hfov_deg: float = field(metadata={"above": 0, "below": 180})
    #: RGB resolution and horizontal field of view
    rgb_resolution: tuple[int, int] = field(metadata={"min": 32})
    rgb_hfov_deg: float = field(metadata={"above": 0, "below": 180})
    #: the RGB camera's position along the left IR camera's +x axis (image right)
    rgb_offset_m: float = field(default=0.0, metadata={"min": -0.5, "max": 0.5})
    #: depth unit of the device's 16-bit depth stream
    depth_unit_m: float = field(default=0.001, metadata={"above": 0})
    #: the sensor's min and max depth: the matcher's disparity range and its far cut-off
    range_m: tuple[float, float] = field(default=(0.3, 10.0), metadata={"above": 0, "ordered": True})
    #: the device's disparity search range at its native IR width (0: the one range_m's minimum needs)
    disparity_range_px: int = field(default=0, metadata={"min": 0})
    #: sub-pixel bits of the device's disparity (OpenCV SGBM, which simulates it, has 4)
    subpixel_bits: int = field(default=4, metadata={"min": 0, "max": 8})
    #: usual working distances (the generic draw of view distances)
    view_distance_m: tuple[float, float] = field(default=(0.5, 3.5), metadata={"above": 0, "ordered": "<="})
    close_view_probability: float = field(default=0.1, metadata={"min": 0, "max": 1})
    far_view_probability: float = field(default=0.1, metadata={"min": 0, "max": 1})
    #: an active camera's IR projector; False = passive stereo
    projector: bool = True
    #: projected dots per IR pixel row (dot pitch); not in datasheets: an estimate
    dots_per_ir_pixel: float = field(default=0.4, metadata={"above": 0})
    #: matcher preset: SgmConfig fields (SGM_PRESET_KEYS)
    sgm: dict[str, Any] = field(default_factory=dict)
    description: str = ""
    #: where each value comes from
    sources: list[str] = field(default_factory=list)
    #: the file it was read from
    path: str = ""

    def __post_init__(self):
        self.ir_resolution = tuple(int(v) for v in self.ir_resolution)
        self.rgb_resolution = tuple(int(v) for v in self.rgb_resolution)
        self.range_m = tuple(float(v) for v in self.range_m)
        self.view_distance_m = tuple(float(v) for v in self.view_distance_m)
        super().__post_init__()
        unknown = sorted(set(self.sgm) - set(SGM_PRESET_KEYS))
        if unknown:
            raise FieldValueError("sgm", f"unknown matcher key(s) {', '.join(unknown)}",
                                  f"use {', '.join(SGM_PRESET_KEYS)}")

    @property
    def min_depth_m(self) -> float:
        """The nearest depth: the device's disparity range at native width, else range_m's minimum."""
        if not self.disparity_range_px:
            return self.range_m[0]
        fx = focal_px(self.ir_resolution[0], self.ir_hfov_deg)
        return fx * self.baseline_m / self.disparity_range_px

    def to_dict(self) -> dict:
        data = asdict(self)
        data["min_depth_m"] = self.min_depth_m
        return data


def focal_px(width: int, hfov_deg: float) -> float:
    return width / (2.0 * math.tan(math.radians(hfov_deg) / 2.0))


def hfov_deg(width: int, fx: float) -> float:
    return math.degrees(2.0 * math.atan(width / (2.0 * fx)))


def shipped_profiles() -> list[str]:
    """``generic`` (built in: today's random rig) and the profile files."""
    return [GENERIC] + sorted(p.stem for p in PROFILE_DIR.glob("*.yaml"))


def load_profile(name_or_path: str | Path) -> CameraProfile:
    """A shipped profile by name, or a profile file; errors name the file and the key."""
    import yaml

    path = Path(name_or_path)
    if path.suffix.lower() not in (".yaml", ".yml"):
        path = PROFILE_DIR / f"{name_or_path}.yaml"
        if not path.is_file():
            raise CameraProfileError(f"no camera profile {str(name_or_path)!r}", "--camera",
                                     f"use one of {', '.join(shipped_profiles())}, or the path of a .yaml profile")
    if not path.is_file():
        raise CameraProfileError(f"camera profile file {path} does not exist", "--camera")
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise CameraProfileError(f"camera profile {path} is not valid YAML: {exc}", "--camera") from None
    if not isinstance(data, dict):
        raise CameraProfileError(f"camera profile {path} must be a mapping of keys", "--camera")
    known = {f.name for f in fields(CameraProfile)} - {"path"}
    unknown = sorted(set(data) - known)
    if unknown:
        raise CameraProfileError(f"camera profile {path}: unknown key(s) {', '.join(unknown)}", "--camera",
                                 f"use {', '.join(sorted(known))}")
    try:
        return CameraProfile(**{**data, "path": str(path)})
    except FieldValueError as exc:
        raise CameraProfileError(f"camera profile {path}, key {exc.field}: {exc.what}", "--camera",
                                 exc.todo) from None
    except TypeError as exc:      # a required key is missing
        raise CameraProfileError(f"camera profile {path}: {exc}", "--camera") from None


def profile_from_capture(sample_path: str | Path, based_on: CameraProfile | None) -> CameraProfile:
    """A profile from a captured sample's K_ir, K_rgb, baseline_m and T_rgb_from_ir (and image sizes).

    The renderer's cameras have square pixels and a centred principal point, and the RGB camera
    moves only along x: fx sets each FOV, the x translation the offset; the rest is recorded."""
    import numpy as np

    from depthcur.schemas import read_sample

    path = Path(sample_path)
    folder = path.parent if path.name == "meta.json" else path
    sample = read_sample(folder)
    for name in ("K_ir", "ir_left", "baseline_m", "K_rgb"):
        if getattr(sample, name) is None:
            raise CameraProfileError(f"captured sample {folder} has no {name}", "--camera-from-capture",
                                     "record with the IR stream on, so the sample holds the IR pair, K_ir and the "
                                     "baseline")
    ir_h, ir_w = sample.ir_left.shape[:2]
    T = np.asarray(sample.T_rgb_from_ir if sample.T_rgb_from_ir is not None else np.eye(4), dtype=float)
    base = asdict(based_on) if based_on is not None else {}
    base.pop("path", None)
    values = {**base, "name": f"capture:{folder.name}", "baseline_m": float(sample.baseline_m),
              "ir_resolution": (ir_w, ir_h), "ir_hfov_deg": hfov_deg(ir_w, sample.K_ir.fx),
              "rgb_resolution": (sample.width, sample.height), "rgb_hfov_deg": hfov_deg(sample.width, sample.K_rgb.fx),
              # T_rgb_from_ir moves IR points into the RGB frame: the RGB camera sits at -t
              "rgb_offset_m": float(-T[0, 3]),
              "description": f"from captured sample {folder} (K_ir {sample.K_ir.as_list()}, "
                             f"K_rgb {sample.K_rgb.as_list()}, T_rgb_from_ir {T.tolist()}); principal points "
                             "centred and the RGB rotation and y/z offset dropped by the renderer",
              "sources": [str(folder)], "path": str(folder)}
    return CameraProfile(**values)


def resolve_profile(camera: str, from_capture: Path | None) -> CameraProfile | None:
    """The profile a config names; None for the generic camera."""
    based_on = None if camera == GENERIC else load_profile(camera)
    if from_capture is not None:
        return profile_from_capture(from_capture, based_on)
    return based_on


def scaled_size(size: tuple[int, int], scale: float) -> tuple[int, int]:
    """``size`` times ``scale``, each side a multiple of 4 and at least 32 (the renderer's sizes)."""
    return tuple(max(32, 4 * int(round(side * scale / 4))) for side in size)


def profile_settings(profile: CameraProfile) -> dict[str, Any]:
    """The RenderConfig fields a profile sets, as ``{dotted.field: value}``."""
    sensor_width = 36.0
    focal_mm = sensor_width / (2.0 * math.tan(math.radians(profile.ir_hfov_deg) / 2.0))
    settings: dict[str, Any] = {
        "rig.baseline_m": (profile.baseline_m, profile.baseline_m),
        "rig.focal_mm": (focal_mm, focal_mm),
        "rig.sensor_width_mm": sensor_width,
        "rig.view_distance_m": profile.view_distance_m,
        "rig.close_view_probability": profile.close_view_probability,
        "rig.far_view_probability": profile.far_view_probability,
        "rig.far_view_distance_m": (min(profile.view_distance_m[1], profile.range_m[1]), profile.range_m[1]),
        "rig.rgb_hfov_deg": profile.rgb_hfov_deg,
        "rig.rgb_offset_m": profile.rgb_offset_m,
        "sgm.min_depth_m": profile.min_depth_m,
        "sgm.max_depth_m": profile.range_m[1],
        "projector": profile.projector,
        "speckle_dots_per_ir_pixel": profile.dots_per_ir_pixel,
    }
    settings.update({f"sgm.{key}": value for key, value in profile.sgm.items()})
    return settings


def _default_of(config, dotted: str):
    from dataclasses import MISSING

    owner = config
    *parents, name = dotted.split(".")
    for part in parents:
        owner = getattr(owner, part)
    f = next(f for f in fields(owner) if f.name == name)
    default = f.default_factory() if f.default_factory is not MISSING else f.default
    return owner, name, default


def apply_profile(config, profile: CameraProfile) -> None:
    """Set the config's camera fields from ``profile`` (in place); refuse a field set otherwise."""
    for dotted, value in profile_settings(profile).items():
        owner, name, default = _default_of(config, dotted)
        current = getattr(owner, name)
        if _same(current, value):
            continue
        if not _same(current, default):
            # named as the option (rig.baseline_m -> rig_baseline_m) so the CLI names the flag
            raise FieldValueError(dotted.replace(".", "_"),
                                  f"the camera profile {profile.name!r} sets {dotted} to {value!r}, "
                                  f"but it is also given as {current!r}",
                                  "leave it at its default, or write a profile file with your value (--camera PATH)")
        setattr(owner, name, value)
    default_resolution = _default_of(config, "resolution")[2]
    rgb_size = scaled_size(profile.rgb_resolution, config.camera_scale)
    if not _same(config.resolution, default_resolution) and not _same(config.resolution, rgb_size):
        raise FieldValueError("resolution", f"the camera profile {profile.name!r} fixes the resolutions "
                              f"(RGB {profile.rgb_resolution[0]}x{profile.rgb_resolution[1]}, IR "
                              f"{profile.ir_resolution[0]}x{profile.ir_resolution[1]})",
                              "leave --resolution out and scale them with --camera-scale")
    config.resolution = rgb_size
    config._profile_ir_resolution = scaled_size(profile.ir_resolution, config.camera_scale)
    config.rig.__post_init__()      # the new values meet the same checks as flags
    config.sgm.__post_init__()


def _same(a, b) -> bool:
    if isinstance(a, (tuple, list)) and isinstance(b, (tuple, list)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    if isinstance(a, float) or isinstance(b, float):
        return isinstance(a, (int, float)) and isinstance(b, (int, float)) and math.isclose(a, b, rel_tol=1e-9)
    return a == b
