"""Field definitions of the sample record (docs/data-format.md): one table that validation,
codecs, Arrow schemas and the generated format spec all read."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class Source(str, Enum):
    SIM = "sim"
    REAL = "real"
    PUBLIC = "public"
    LIDAR = "lidar"


class DepthGtKind(str, Enum):
    RENDERED = "rendered"
    STEREO_PSEUDO = "stereo_pseudo"
    LIDAR = "lidar"
    SFM = "sfm"
    SENSOR = "sensor"
    TEACHER = "teacher"


class MaterialClass(int, Enum):
    """Codes of ``material_mask``: what a pixel's surface is made of, where a dataset says."""

    UNLABELLED = 0
    OPAQUE = 1
    TRANSPARENT = 2
    SPECULAR = 3          # mirrors and polished metal
    DARK = 4              # light-absorbing surfaces that active sensors miss


class Split(str, Enum):
    TRAIN = "train"
    VAL = "val"
    TEST = "test"


#: Scene taxonomy of the LingBot-Depth capture table (plus "synthetic" and "unknown").
SCENE_CATEGORIES = (
    "residential_lt50", "residential_50_100", "residential_gt100", "office", "meeting_room",
    "classroom", "library", "workshop", "laboratory", "retail", "restaurant_cafe", "hotel", "gym",
    "lobby_corridor", "hospital", "school_hall", "airport_station", "museum", "parking_garage",
    "machinery_room", "elevator", "corridor_passage", "storage_warehouse", "outdoor",
    "synthetic", "unknown",
)

#: Default metres per unit of 16-bit depth PNGs (RealSense and LingBot-Depth use mm).
DEFAULT_DEPTH_SCALE = 0.001

#: largest unit a 16-bit depth PNG holds
UINT16_LIMIT = 65535


@dataclass(frozen=True)
class MapField:
    """An image-like field of the record."""

    name: str
    dtypes: tuple[str, ...]          # accepted numpy dtypes
    channels: int                    # 1 => H×W, 3 => H×W×3
    grid: str                        # "rgb" or "ir": which resolution it lives at
    ext: str                         # default on-disk / WebDataset extension
    doc: str
    depth: bool = False              # metres, 0 = invalid, encoded with a depth scale


MAP_FIELDS: tuple[MapField, ...] = (
    MapField("rgb", ("uint8",), 3, "rgb", "png", "colour image, PNG or JPEG"),
    MapField("depth_raw", ("float32",), 1, "rgb", "png",
             "sensor depth with holes (SGM in sim, the camera's own depth on the rig)", depth=True),
    MapField("depth_gt", ("float32",), 1, "rgb", "png", "target depth", depth=True),
    MapField("ir_left", ("uint8", "uint16"), 1, "ir", "png", "left IR image of the speckle pair"),
    MapField("ir_right", ("uint8", "uint16"), 1, "ir", "png", "right IR image of the speckle pair"),
    MapField("disparity_gt", ("float32",), 1, "ir", "npy",
             "ground-truth disparity fx_ir*B/Z in IR pixels, 0 = invalid"),
    MapField("instance_mask", ("uint16",), 1, "rgb", "png", "object pass index, 0 = background"),
    MapField("material_mask", ("uint8",), 1, "rgb", "png",
             "MaterialClass code per pixel: 0 unlabelled, 1 opaque, 2 transparent, 3 specular, 4 dark"),
    MapField("depth_raw_filtered", ("float32",), 1, "rgb", "png",
             "depth_raw after the camera SDK's post-processing filters (render --postprocess-filters)", depth=True),
)
MAP_FIELD_BY_NAME = {f.name: f for f in MAP_FIELDS}


@dataclass(frozen=True)
class ScalarField:
    name: str
    type: str
    required: bool
    doc: str


SCALAR_FIELDS: tuple[ScalarField, ...] = (
    ScalarField("key", "str", True, "unique id, [a-z0-9_-/], no dots (WebDataset splits on the first dot)"),
    ScalarField("source", "enum Source", True, "sim, real, public or lidar"),
    ScalarField("dataset", "str", True, "dataset name"),
    ScalarField("scene_id", "str", False, "scene identifier"),
    ScalarField("scene_category", "str", False, "LingBot-Depth capture taxonomy"),
    ScalarField("device", "str", False, "camera / renderer that produced the sample"),
    ScalarField("split", "enum Split", False, "train, val or test"),
    ScalarField("depth_gt_kind", "enum DepthGtKind", False, "how depth_gt was made; required when depth_gt is set"),
    ScalarField("K_rgb", "Intrinsics", True, "fx, fy, cx, cy in pixels at the stored RGB resolution"),
    ScalarField("K_ir", "Intrinsics", False, "IR intrinsics at the stored IR resolution"),
    ScalarField("baseline_m", "float", False, "IR stereo baseline in metres"),
    ScalarField("T_rgb_from_ir", "4x4 float", False, "rigid transform from the left-IR frame to the RGB frame"),
    ScalarField("stats", "dict[str, float]", False, "valid ratios, mask ratio, depth min/median/max, LR-consistent ratio"),
    ScalarField("provenance", "JSON object", False, "seeds, renderer/SGM/matcher parameters, checkpoint hashes, versions"),
)
REQUIRED_SCALARS = tuple(f.name for f in SCALAR_FIELDS if f.required)
