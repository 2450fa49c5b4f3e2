"""Typed configuration of a render run; the CLI flags mirror these fields one to one."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path

from depthcur.core.stereo import SgbmParams
from depthcur.core.exits import FieldValueError
from depthcur.core.validate import Checked, check_fields

from .scenes.config import SceneConfig

from .postprocess import PostProcessConfig

#: Sensor width of every simulated camera (Blender's default full-frame width, fitted
#: horizontally). With focal lengths U[16, 28] mm this gives a horizontal FOV of 97°..65°,
#: the range of active-stereo RGB-D cameras (RealSense D435: 87°).
SENSOR_WIDTH_MM = 36.0

#: The IR stereo pair is rendered at this fraction of the RGB resolution (960x720 for 1280x960).
IR_SCALE = 0.75


def parse_resolution(text: str | tuple[int, int] | list[int]) -> tuple[int, int]:
    """``"1280x960"`` or (1280, 960) -> (1280, 960); both sides must be multiples of 4 so the IR size is exact."""
    parts = text.lower().split("x") if isinstance(text, str) else text
    try:
        width, height = (int(part) for part in parts)
    except (TypeError, ValueError):
        raise ValueError(f"resolution {text!r} must look like WIDTHxHEIGHT, e.g. 1280x960") from None
    if width < 32 or height < 32 or width % 4 or height % 4:
        raise ValueError(f"resolution '{width}x{height}': width and height must be >= 32 and multiples of 4 "
                         f"(the IR pair is rendered at 3/4 of it)")
    return width, height


#: Cycles devices: ``auto`` uses a GPU when Cycles finds one, ``gpu`` fails without one
DEVICES = ("auto", "cpu", "gpu")
#: Cycles GPU backends (the add-on preferences' compute_device_type, lower case)
GPU_BACKENDS = ("optix", "cuda", "hip", "oneapi")

#: a (lo, hi) range of positive numbers; lo == hi fixes the value
POSITIVE_RANGE = {"above": 0, "ordered": "<="}


@dataclass
class RigRanges(Checked):
    """Per-sample camera rig distribution (LingBot-Depth §3.1)."""

    #: stereo baseline range in metres, drawn uniformly per sample
    baseline_m: tuple[float, float] = field(default=(0.05, 0.2), metadata=POSITIVE_RANGE)
    #: focal length range in millimetres, drawn uniformly per sample
    focal_mm: tuple[float, float] = field(default=(16.0, 28.0), metadata=POSITIVE_RANGE)
    #: sensor width of every simulated camera (mm), fitted horizontally
    sensor_width_mm: float = field(default=SENSOR_WIDTH_MM, metadata={"above": 0})
    #: distance from the camera to the object it looks at
    view_distance_m: tuple[float, float] = field(default=(1.2, 3.5), metadata=POSITIVE_RANGE)
    #: camera height above the scene's floor (procedural rooms)
    camera_height_m: tuple[float, float] = field(default=(0.9, 1.8), metadata=POSITIVE_RANGE)
    #: share of close views: the camera dollies in to this distance from the surface it looks at
    close_view_probability: float = field(default=0.0, metadata={"min": 0, "max": 1})
    #: distance to the surface of a close view (the sensor's near limit lies in or above it)
    close_view_distance_m: tuple[float, float] = field(default=(0.1, 0.3), metadata=POSITIVE_RANGE)
    #: share of far views: the camera looks across the room at a wall this far away
    far_view_probability: float = field(default=0.0, metadata={"min": 0, "max": 1})
    #: distance to the wall of a far view (up to the sensor's max range)
    far_view_distance_m: tuple[float, float] = field(default=(3.0, 10.0), metadata=POSITIVE_RANGE)
    #: horizontal FOV of the RGB camera in degrees; 0 = the left IR camera's (the RGB camera is that camera)
    rgb_hfov_deg: float = field(default=0.0, metadata={"min": 0, "below": 180})
    #: RGB camera position along the left IR camera's +x axis (m); 0 = at the left IR camera
    rgb_offset_m: float = field(default=0.0, metadata={"min": -0.5, "max": 0.5})

    def __post_init__(self):
        super().__post_init__()
        if self.close_view_probability + self.far_view_probability > 1:
            raise FieldValueError("close_view_probability", "close and far views together exceed 1",
                                  "give shares that add up to at most 1", other="far_view_probability")


@dataclass
class SgmConfig(SgbmParams):
    """The simulated active-stereo sensor: StereoSGBM with the sensor preset, then the sensor's filters.

    The SGBM fields (block_size, p1_factor, p2_factor, speckle_range, mode and those below) are
    :class:`depthcur.core.stereo.SgbmParams`; here are the sensor's values where they differ.
    """

    uniqueness_ratio: int = 15
    #: left-right check inside SGBM (max allowed difference in integer pixels)
    disp12_max_diff: int = 1
    speckle_window_size: int = 50
    pre_filter_cap: int = 31
    #: also run a right matcher and drop pixels whose two disparities disagree
    explicit_lr_check: bool = False
    #: largest left-right disagreement (px) that the explicit check keeps
    explicit_lr_tolerance_px: float = field(default=1.0, metadata={"min": 0})
    #: matching-score threshold: drop pixels whose left and right windows (block_size + 2 wide)
    #: correlate (ZNCC) below this, like the score threshold of a real sensor; 0 disables
    min_match_correlation: float = field(default=0.5, metadata={"min": 0, "max": 1})
    #: the nearest depth the sensor measures; sets the disparity search range fx*B/min_depth
    min_depth_m: float = field(default=0.4, metadata={"above": 0})
    #: optional extra sensor noise: Gaussian noise (grey levels, 8-bit) added to both IR images
    #: before matching; 0 keeps only Cycles' own sampling noise
    ir_noise_std: float = field(default=0.0, metadata={"min": 0})
    #: depth beyond this is dropped (a real sensor's range limit); 0 keeps all
    max_depth_m: float = field(default=10.0, metadata={"min": 0})

    def __post_init__(self):
        super().__post_init__()
        if self.max_depth_m and self.max_depth_m <= self.min_depth_m:   # 0 keeps all depths
            raise FieldValueError("max_depth_m", f"the range {self.min_depth_m} .. {self.max_depth_m} is inverted or "
                                  "empty", "give a maximum above the minimum, or 0 to keep all depths",
                                  other="min_depth_m")


@dataclass
class RenderConfig:
    """Everything a render run needs. ``scenes`` is ``procedural:N``, a folder or a glob."""

    #: procedural:N, a folder, or a glob of scene files
    scenes: str = "procedural:1"
    #: output folder of raw sample folders
    out: Path = Path("render_out")
    #: camera views per scene
    samples_per_scene: int = field(default=2, metadata={"min": 1})
    #: RGB WIDTHxHEIGHT (or W,H); the IR pair is rendered at 3/4 of it
    resolution: tuple[int, int] = field(default=(1280, 960), metadata={"parse": parse_resolution})
    #: camera profile: a name from render/cameras/ (generic, d415, d435, d455, gemini2, zed2i) or a profile file
    camera: str = "generic"
    #: renders a named profile's IR and RGB resolutions times this (FOV and baseline stay)
    camera_scale: float = field(default=1.0, metadata={"above": 0, "max": 2})
    #: a captured sample folder (or its meta.json) whose K_ir, K_rgb, baseline and T_rgb_from_ir set the camera
    camera_from_capture: Path | None = None
    #: Cycles samples per pixel
    spp: int = field(default=16, metadata={"min": 1})
    #: Cycles device: auto (a GPU when Cycles finds one, else the CPU), cpu, or gpu (fails without one)
    device: str = field(default="auto", metadata={"choices": DEVICES})
    #: GPU backend of --device gpu (auto tries it first, then the others)
    gpu_backend: str = field(default="optix", metadata={"choices": GPU_BACKENDS})
    #: denoise the RGB pass (OpenImageDenoise, albedo + normal guides); the IR pair is never denoised
    denoise_rgb: bool = True
    #: makes scenes, rigs, poses and renders reproducible
    seed: int = field(default=0, metadata={"min": 0})
    #: Ray workers, one Blender process each
    workers: int = field(default=1, metadata={"min": 1})
    #: Cycles CPU threads per worker
    threads_per_worker: int = field(default=2, metadata={"min": 1})
    #: join a Ray cluster ('auto' or HOST:PORT); local by default
    ray_address: str | None = None
    rig: RigRanges = field(default_factory=RigRanges)
    sgm: SgmConfig = field(default_factory=SgmConfig)
    #: how procedural rooms are furnished (--scene-*): furniture, clutter, windows, hard-material rates, assets
    scene: SceneConfig = field(default_factory=SceneConfig)
    postprocess: PostProcessConfig = field(default_factory=PostProcessConfig)
    #: dots per projector texture row relative to the IR width (dot pitch ~ 1/this of a pixel row)
    speckle_dots_per_ir_pixel: float = field(default=0.4, metadata={"above": 0})
    #: the speckle projector lights the IR pair; off = passive stereo (the IR pair sees the room lights)
    projector: bool = True
    #: projector power (W) for a target 2 m away (scaled with the squared target distance, like auto-exposure)
    projector_power_w: float = field(default=120.0, metadata={"min": 0})
    #: the low ambient world strength of the IR passes
    ir_ambient: float = field(default=0.02, metadata={"min": 0})
    #: chance that a view is aimed at a glass/metal/mirror object (procedural rooms always hold some)
    hard_view_probability: float = field(default=0.6, metadata={"min": 0, "max": 1})
    #: dataset name of the samples (and their key prefix)
    dataset: str = "depthcur_sim"
    #: write gallery.png (the first samples, one per scene first)
    write_gallery: bool = True

    def __post_init__(self):
        from .camera_profiles import apply_profile, resolve_profile

        self.out = Path(self.out)
        self.resolution = parse_resolution(self.resolution)
        if self.camera_from_capture is not None:
            self.camera_from_capture = Path(self.camera_from_capture)
        check_fields(self)
        #: the camera profile in use (None: generic); its IR size, else 3/4 of the RGB size
        self.camera_profile = resolve_profile(self.camera, self.camera_from_capture)
        self._profile_ir_resolution: tuple[int, int] | None = None
        if self.camera_profile is not None:
            apply_profile(self, self.camera_profile)

    @property
    def ir_resolution(self) -> tuple[int, int]:
        if self._profile_ir_resolution is not None:
            return self._profile_ir_resolution
        width, height = self.resolution
        return int(round(width * IR_SCALE)), int(round(height * IR_SCALE))

    def to_dict(self) -> dict:
        data = asdict(self)
        data["out"] = str(self.out)
        data["camera_from_capture"] = None if self.camera_from_capture is None else str(self.camera_from_capture)
        if self.camera_profile is not None:      # a changed profile file must not resume into the same folder
            data["camera_profile"] = self.camera_profile.to_dict()
        return data
