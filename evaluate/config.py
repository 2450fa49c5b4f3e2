"""``depthcur eval``'s typed config (light: the CLI builds its flags from it without importing the metrics)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

from depthcur.core.validate import check_fields

from .align import ALIGNMENTS
from .benchmarks import BENCHMARKS

#: what ``depthcur eval`` runs without ``--protocol`` (``protocols.PROTOCOLS`` defines each)
DEFAULT_PROTOCOLS = ("raw", "block-mask:easy", "block-mask:medium", "block-mask:hard", "block-mask:extreme",
                     "points:100", "downsample:8", "downsample:16", "lidar:32", "sfm", "fde", "depthlm")


@dataclass
class EvalConfig:
    #: checkpoint path, cdm:PATH (a released Camera Depth Model) or raw-depth|fill-nearest|inpaint; repeat for a
    #: comparison table (raw-depth is always added)
    models: list[str]
    #: shard folder/file or raw sample folder; repeatable
    data: list[str]
    #: output folder (metrics.json, report.html, img/, records/)
    out: Path
    #: raw, raw:MATERIAL (transparent, specular ...), mono, block-mask:{easy,medium,hard,extreme}, points:N,
    #: downsample:{8,16}, lidar:L, downsample-priorda:F, lidar-priorda:L (Prior Depth Anything's samplers),
    #: sfm[:N], fde, depthlm; repeat the flag or separate with commas
    protocols: list[str] = field(default_factory=lambda: list(DEFAULT_PROTOCOLS))
    #: a paper's table (docs/benchmarks.md): fixes the protocols, alignment, datasets and splits, and writes
    #: benchmark-NAME.{json,md,html} beside the report
    benchmark: str | None = field(default=None, metadata={"choices": tuple(BENCHMARKS)})
    #: evaluate the first N samples
    max_samples: int | None = field(default=None, metadata={"min": 1})
    #: seed of every protocol's randomness
    seed: int = field(default=0, metadata={"min": 0})
    #: none|scale|scale_l1|affine|disparity_affine
    align: str = field(default="none", metadata={"choices": tuple(ALIGNMENTS)})
    #: samples pictured per protocol in the report
    gallery_samples: int = field(default=2, metadata={"min": 0})
    #: worst samples pictured per protocol and model
    worst_cases: int = field(default=1, metadata={"min": 0})
    #: > 0: that many Ray tasks, each evaluating one part of the data (0 = in this process)
    workers: int = field(default=0, metadata={"min": 0})
    #: join a Ray cluster (HOST:PORT or 'auto'); local by default
    ray_address: str | None = None

    def __post_init__(self):
        self.out = Path(self.out)
        self.protocols = [spec.strip() for entry in self.protocols for spec in entry.split(",") if spec.strip()]
        check_fields(self)
        if self.benchmark is not None:   # the preset's protocols and alignment replace the flags'
            self.protocols = BENCHMARKS[self.benchmark].protocols
            self.align = BENCHMARKS[self.benchmark].align
        if not self.models:
            raise ValueError("give at least one --model")
        if not self.data:
            raise ValueError("give at least one --data path")
        from .protocols import parse_spec  # protocols import cv2 and curate: not needed for --help

        for spec in self.protocols:
            parse_spec(spec)
        if self.workers > 1 and self.max_samples is not None:
            raise ValueError("--max-samples needs the in-process runner (--workers 0 or 1): with several "
                             "workers the first N samples of the data order are not known to any one worker")
        if "raw-depth" not in self.models:   # the camera's own depth is always a baseline row
            self.models = ["raw-depth", *self.models]

    def fingerprint(self) -> str:
        settings = {"models": self.models, "protocols": self.protocols, "seed": self.seed, "align": self.align,
                    "benchmark": self.benchmark}
        return hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:16]
