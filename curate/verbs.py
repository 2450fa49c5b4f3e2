"""The typed options of each ``depthcur curate`` verb: inputs, outputs and where to run.

A verb's processing parameters are its step's own config (PseudoLabelConfig, FilterConfig,
VqaConfig, FdeConfig, VirtualLidarConfig); the CLI generates one option per field of both.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from depthcur.core.exits import FieldValueError
from depthcur.core.validate import Checked

from .stereo.matchers import PseudoLabelSgbm


@dataclass(kw_only=True)
class CurateIO:
    """Where a curate verb reads, writes and runs."""

    #: input sample folders
    in_dir: Path
    #: output folder (finished outputs are skipped on a re-run)
    out: Path
    #: join a Ray cluster (HOST:PORT or 'auto'); local by default
    ray_address: str | None = None


@dataclass(kw_only=True)
class StereoJob(Checked, CurateIO):
    """``curate stereo``: the matcher backend's own parameters (the rest is PseudoLabelConfig)."""

    #: sgbm: disparity search range (rounded up to 16)
    num_disparities: int = field(default=PseudoLabelSgbm.num_disparities, metadata={"min": 1})
    #: sgbm: matching block size
    block_size: int = field(default=PseudoLabelSgbm.block_size, metadata={"min": 1, "odd": True})
    #: foundation-stereo: local clone of NVlabs/FoundationStereo
    fs_repo: Path | None = None
    #: foundation-stereo: checkpoint .pth (cfg.yaml beside it)
    ckpt: Path | None = None
    #: foundation-stereo: refinement iterations
    valid_iters: int = field(default=32, metadata={"min": 1})

    def matcher_params(self, matcher: str, extra: dict[str, Any]) -> dict[str, Any]:
        """The backend's parameters as PseudoLabelConfig.matcher_params records them."""
        if matcher == "sgbm":
            return {"num_disparities": self.num_disparities, "block_size": self.block_size, **extra}
        if matcher == "foundation-stereo":
            from .stereo.foundation_stereo import check_paths

            check_paths(self.fs_repo, self.ckpt)
            return {"fs_repo": str(self.fs_repo), "ckpt": str(self.ckpt), "valid_iters": self.valid_iters, **extra}
        raise FieldValueError("matcher", f"unknown matcher {matcher!r}", "choose sgbm or foundation-stereo")


@dataclass(kw_only=True)
class LayoutJob(CurateIO):
    """``curate import`` / ``curate export``: a dataset layout on one side, sample folders on the other."""

    #: dataset layout: lingbot, moge, kitti, generic, or (import only) a public benchmark such as nyuv2 or eth3d
    layout: str

    def __post_init__(self):
        from .io import LAYOUTS

        if self.layout not in LAYOUTS:
            raise FieldValueError("layout", f"unknown layout {self.layout!r}", f"choose one of {', '.join(LAYOUTS)}")


@dataclass(kw_only=True)
class LidarJob:
    """``curate lidar``: scans + images + calibration, or ``--virtual`` rings from dense depth samples."""

    #: output folder of sparse-depth samples
    out: Path
    #: folder of scans (.bin, .npy, .pcd, .ply)
    points: Path | None = None
    #: folder of images named like the scans
    images: Path | None = None
    #: KITTI calib file/folder or a JSON calib
    calib: Path | None = None
    #: dataset name (and key prefix)
    dataset: str = "lidar"
    #: sample an n-line pattern from the --in samples instead of projecting scans
    virtual: bool = False
    #: --virtual: samples with dense depth_gt
    in_dir: Path | None = None
    #: join a Ray cluster (HOST:PORT or 'auto'); local by default
    ray_address: str | None = None

    def __post_init__(self):
        if self.virtual and self.in_dir is None:
            raise ValueError("--virtual needs --in (samples with dense depth_gt)")
        if not self.virtual and None in (self.points, self.images, self.calib):
            raise ValueError("projection needs --points, --images and --calib (or use --virtual --in)")


@dataclass(kw_only=True)
class ReportJob(Checked):
    """``curate report``: several sample folders into one HTML page."""

    #: sample folders (repeat the flag)
    in_dirs: list[Path]
    #: output folder of index.html
    out: Path
    #: samples shown in the gallery
    gallery_size: int = field(default=12, metadata={"min": 0})
    #: join a Ray cluster (HOST:PORT or 'auto'); local by default
    ray_address: str | None = None
