"""Benchmark presets as data: which datasets, splits, protocols, alignment and metrics make up a
paper's table, the table's layout, and the numbers the paper published for released models.

A preset's columns are datasets × groups × metrics. A group is one protocol spec with the label the
paper's table uses for it (a masking level, a sparsity pattern, a material region). Datasets are
matched by the samples' ``dataset`` field, which is the ``curate import --format`` name.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Mapping

#: splits a benchmark reads: the datasets' evaluation splits; training splits are never scored
EVAL_SPLITS = ("test", "val")


@dataclass(frozen=True)
class Column:
    dataset: str     # the samples' ``dataset`` field
    group: str       # the paper's label for the protocol (level, pattern, region)
    protocol: str    # the protocol spec that produces it
    metric: str      # a key of the runner's summary rows

    @property
    def key(self) -> str:
        return f"{self.dataset}/{self.group}/{self.metric}"


@dataclass(frozen=True)
class PublishedRow:
    """Numbers a paper printed for one model; ``values`` maps :attr:`Column.key` to the number."""

    model: str
    values: Mapping[str, float]
    source: str      # paper, table or section, and what the number is


@dataclass(frozen=True)
class Benchmark:
    name: str
    title: str
    paper: str
    description: str
    datasets: tuple[str, ...]
    #: (label, protocol spec) per column group, in the paper's order
    groups: tuple[tuple[str, str], ...]
    metrics: tuple[str, ...]
    align: str = "none"
    splits: tuple[str, ...] = EVAL_SPLITS
    #: a dataset scored on other splits than ``splits`` (one whose GT is only public for training)
    dataset_splits: Mapping[str, tuple[str, ...]] = field(default_factory=lambda: MappingProxyType({}))
    resolution: str = "native: each dataset's images as imported, no resizing or cropping"
    published: tuple[PublishedRow, ...] = ()
    #: datasets the paper uses that no depthcur importer reads yet: shown as "no data"
    unsupported: tuple[str, ...] = ()
    #: one column block per sensor: ``datasets`` entries are ``dataset:device`` (the samples' fields)
    by_device: bool = False
    #: what the samples' depth_raw must be (their provenance "depth_raw" entry), when the table needs one kind
    raw_input: str | None = None
    notes: tuple[str, ...] = field(default=())

    def label_of(self, dataset: str, device: str) -> str:
        """The table's dataset label of a sample: ``dataset``, or ``dataset:device`` per sensor."""
        return f"{dataset}:{device}" if self.by_device else dataset

    def splits_of(self, dataset: str) -> tuple[str, ...]:
        return self.dataset_splits.get(dataset, self.splits)

    @property
    def protocols(self) -> list[str]:
        return list(dict.fromkeys(spec for _, spec in self.groups))

    def columns(self) -> list[Column]:
        return [Column(dataset, label, spec, metric) for dataset in self.datasets
                for label, spec in self.groups for metric in self.metrics]


BLOCK_LEVELS = tuple((level, f"block-mask:{level}") for level in ("easy", "medium", "hard", "extreme"))

LINGBOT_P1 = Benchmark(
    name="lingbot-p1",
    title="LingBot-Depth Protocol 1: block masking with Kinect-style noise",
    paper="Tan et al., Masked Depth Modeling for Spatial Perception (LingBot-Depth), arXiv 2601.17895",
    description="The GT depth is corrupted by Kinect-style noise and random blocks are removed at four levels "
                "(easy, medium, hard, extreme); the model completes the corrupted depth with the RGB image. "
                "Level parameters: the block-mask level table in the report (evaluate/protocols.py "
                "BLOCK_MASK_LEVELS).",
    datasets=("ibims1", "nyuv2", "diode"),
    groups=BLOCK_LEVELS,
    metrics=("rmse", "absrel"),
    notes=("The paper's own numbers for this table are not filled in: the paper text could not be read "
           "where this preset was written, and numbers are only entered from the paper itself.",),
)

LINGBOT_P2 = Benchmark(
    name="lingbot-p2",
    title="LingBot-Depth Protocol 2: sparse SfM points on ETH3D",
    paper="Tan et al., Masked Depth Modeling for Spatial Perception (LingBot-Depth), arXiv 2601.17895",
    description="The input depth is ETH3D's own sparse SfM points (COLMAP points3D projected into the "
                "image, stored by the eth3d importer as depth_raw); the model completes them to dense depth "
                "scored against the laser-scan GT.",
    datasets=("eth3d",),
    groups=(("SfM points", "raw"),),
    metrics=("rmse", "absrel", "delta1"),
    raw_input="sfm_points",
    notes=("Published numbers not filled in (paper text not read here).",),
)

METRICANYTHING_COMPLETION = Benchmark(
    name="metricanything-completion",
    title="MetricAnything: zero-shot depth completion and super-resolution",
    paper="Ma et al., MetricAnything: Scaling Metric Depth Pretraining with Noisy Heterogeneous Sources, "
          "arXiv 2601.22054",
    description="Sparse metric prompts from the GT, sampled as Prior Depth Anything's evaluation does: a "
                "32-line LiDAR pattern, 100 random valid points, and a ×8 and a ×16 low-resolution GT "
                "(super-resolution); the model sees the RGB image and the prompt.",
    datasets=("nyuv2", "eth3d", "kitti"),
    groups=(("LiDAR 32 lines", "lidar-priorda:32"), ("100 points", "points:100"), ("×8", "downsample-priorda:8"),
            ("×16", "downsample-priorda:16")),
    metrics=("absrel", "rmse"),
    notes=("MetricAnything §4.1 follows Prior Depth Anything's setup; the prompts follow its sampler "
           "(SpatialVision/Prior-Depth-Anything, prior_depth_anything/sparse_sampler.py, patterns LiDAR_N, N "
           "and downscale_K; its LiDAR and point samplers are adapted from OMNI-DC). LiDAR: a synthetic f = H "
           "camera, lines over ±0.5 rad pitch, 200 points per line over ±π/2.1 yaw. ×K: GT holes filled with "
           "the mean of the 5 nearest valid pixels, bilinear (corners aligned) downscale to H/K × W/K, each "
           "value at its cell's top-left pixel where the GT is valid. Code: evaluate/priorda_prompts.py.",
           "The LiDAR line count (32) is depthcur's choice, not read from the paper.",
           "Published numbers not filled in (paper text not read here)."),
)

METRICANYTHING_MONO = Benchmark(
    name="metricanything-mono",
    title="MetricAnything: prompt-free monocular metric depth",
    paper="Ma et al., MetricAnything: Scaling Metric Depth Pretraining with Noisy Heterogeneous Sources, "
          "arXiv 2601.22054",
    description="RGB only (protocol mono: no depth, no prompt); metric depth scored without alignment.",
    datasets=("booster", "middlebury2014", "sunrgbd", "eth3d", "nuscenes", "sintel"),
    groups=(("RGB only", "mono"),),
    metrics=("delta1", "absrel"),
    dataset_splits=MappingProxyType({"booster": ("train",)}),
    unsupported=("sunrgbd", "nuscenes", "sintel"),
    notes=("Booster is scored on its training split: its test-split GT is not public, so zero-shot "
           "evaluations use the labelled training scenes.",
           "Published numbers not filled in (paper text not read here)."),
)

RAW_SENSOR = Benchmark(
    name="raw-sensor",
    title="Raw-sensor refinement on transparent and specular objects",
    paper="Camera Depth Models (CDM), arXiv 2509.02530, for the HAMMER D435 numbers",
    description="The sensor's own depth is the input; scored on all valid GT pixels and separately on the "
                "pixels the material mask labels transparent or specular. The raw sensor itself is the "
                "raw-depth row (scored on the pixels it measured; its coverage column shows its holes).",
    datasets=("cleargrasp:d415", "cleargrasp:d435", "transcg:d435", "transcg:l515", "hammer:d435", "hammer:l515",
              "hammer:tof", "dreds:d415"),
    by_device=True,
    groups=(("all", "raw"), ("transparent", "raw:transparent"), ("specular", "raw:specular")),
    metrics=("mae", "absrel", "coverage"),
    published=(
        PublishedRow("CDM (D435)", MappingProxyType({"hammer:d435/all/mae": 0.0258}),
                     "CDM paper, HAMMER D435 L1 error in metres, as quoted in depthcur issue 15; "
                     "the table number was not re-read from the paper here"),
        PublishedRow("raw D435", MappingProxyType({"hammer:d435/all/mae": 0.0550}),
                     "CDM paper, HAMMER D435 raw sensor L1 error in metres, as quoted in depthcur issue 15"),
    ),
    notes=("One column block per dataset and sensor (the samples' dataset:device); dreds:d415 is STD, the "
           "real D415 captures (the simulated d415_sim depth is left out).",),
)

BENCHMARKS: dict[str, Benchmark] = {b.name: b for b in (LINGBOT_P1, LINGBOT_P2, METRICANYTHING_COMPLETION,
                                                        METRICANYTHING_MONO, RAW_SENSOR)}
