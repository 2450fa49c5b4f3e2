"""``depthcur curate {stereo, lidar, import, export, filter, vqa, fde, report}``.

Every verb runs on Ray (local unless ``--ray-address``), shows a progress bar, skips outputs that
are already complete, and exits non-zero naming each input that failed. Heavy imports stay inside
the command functions so ``--help`` is fast.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Callable, Sequence

import typer

from depthcur.core.config import ConfigOption
from depthcur.core.exits import ItemsFailed
from depthcur.core.options import options_from

from .exports.fde import FdeConfig
from .exports.vqa import VqaConfig
from .filters import FilterConfig
from .lidar.virtual import VirtualLidarConfig
from .stereo.pseudo_label import PseudoLabelConfig
from .verbs import CurateIO, LayoutJob, LidarJob, ReportJob, StereoJob

if TYPE_CHECKING:
    from .jobs import JobSummary

LAYOUT_HELP = ("lingbot (LingBot-Depth release), moge, kitti (raw + depth completion) or generic (rgb/, depth/, gt/); "
               "import only, the public benchmarks as distributed: nyuv2, ibims1, diode, eth3d, cleargrasp, "
               "transcg, hammer, dreds, scannetpp, middlebury2014, booster.")
#: the flags these verbs had before their options were generated from the config fields
IN = {"in_dir": "--in"}
DEPTH_RANGE = {"min_depth_m": "--min-depth", "max_depth_m": "--max-depth"}


#: job fields that name inputs or say how to run, not what is written: a resumed run may change them
MAY_DIFFER = ("in_dir", "points", "images", "calib", "out", "ray_address")


def finish(verb: str, job: Callable[[], "JobSummary"], out: Path | None = None, configs: Sequence[object] = ()
           ) -> "JobSummary":
    """Run a job; print its summary line; ItemsFailed names each failed input (exit code 1).
    Unusable input raises a UsageError (SchemaError ...) or a missing-file error: exit code 2.

    With ``out``, the fields of ``configs`` are the run's options: recorded in ``out`` on the first
    run, and a resumed run with other values is refused (``check_run_options``)."""
    from dataclasses import asdict

    from depthcur.schemas import check_run_options

    recorded = None
    if out is not None:
        recorded = check_run_options(out, {k: v for c in configs for k, v in asdict(c).items()}, MAY_DIFFER)
    try:
        summary = job()
    except ValueError:   # unusable input (UsageError, SchemaError): nothing ran, so nothing was made this way
        if recorded is not None:
            recorded.unlink(missing_ok=True)
        raise
    typer.echo(summary.line())
    if summary.failed:
        raise ItemsFailed(f"failed: {item}: {error}" for item, error in summary.failed)
    return summary


def register(app: typer.Typer) -> None:
    curate = typer.Typer(help="Pseudo-label stereo, project LiDAR, import/export layouts, filter, derive VQA/FDE "
                              "exports and report.", no_args_is_help=True)

    @curate.command(help="Stereo pseudo-labels: depth_gt = fx·B/d from the IR pair, LR-checked by swap-and-flip.")
    @options_from(StereoJob, PseudoLabelConfig, aliases={**IN, **DEPTH_RANGE, "lr_threshold_px": "--lr-threshold"})
    def stereo(job: StereoJob, cfg: PseudoLabelConfig, config: ConfigOption = None) -> None:
        from dataclasses import replace

        from .jobs import run_stereo

        # FoundationStereoUnavailable (missing --fs-repo/--ckpt) is a UsageError: exit code 2
        cfg = replace(cfg, matcher_params=job.matcher_params(cfg.matcher, cfg.matcher_params))
        summary = finish("stereo", lambda: run_stereo(job.in_dir, job.out, cfg, job.ray_address), job.out,
                         (job, cfg))
        judged = [r for r in summary.results if "stereo_bad2" in r]
        if judged:   # pairs with GT disparity: the labels' precision and density, as means over pairs
            typer.echo(f"against GT disparity (mean of {len(judged)} pairs): bad-2 "
                       f"{100 * sum(r['stereo_bad2'] for r in judged) / len(judged):.2f} % of labelled pixels, "
                       f"density {sum(r['stereo_density'] for r in judged) / len(judged):.3f}")

    @curate.command(help="LiDAR point clouds + calibration -> sparse depth_gt (z-buffer), or --virtual n-line "
                         "LiDAR from dense depth.")
    @options_from(LidarJob, VirtualLidarConfig, aliases={**IN, "azimuth_step_deg": "--azimuth-step"})
    def lidar(job: LidarJob, virtual: VirtualLidarConfig, config: ConfigOption = None) -> None:
        from .jobs import run_lidar, run_virtual_lidar

        if job.virtual:
            finish("lidar", lambda: run_virtual_lidar(job.in_dir, job.out, virtual, job.ray_address), job.out,
                   (job, virtual))
        else:
            finish("lidar", lambda: run_lidar(job.points, job.images, job.calib, job.out, job.dataset,
                                              job.ray_address), job.out, (job,))

    @curate.command(name="import", help=f"Import a dataset layout into raw sample folders. Layouts: {LAYOUT_HELP}")
    @options_from(LayoutJob, aliases={**IN, "layout": "--format"})
    def import_(job: LayoutJob, config: ConfigOption = None) -> None:
        from .jobs import run_import

        finish("import", lambda: run_import(job.in_dir, job.layout, job.out, job.ray_address), job.out, (job,))

    @curate.command(help=f"Export raw sample folders into a dataset layout. Layouts: {LAYOUT_HELP}")
    @options_from(LayoutJob, aliases={**IN, "layout": "--format"})
    def export(job: LayoutJob, config: ConfigOption = None) -> None:
        from .jobs import run_export

        finish("export", lambda: run_export(job.in_dir, job.layout, job.out, job.ray_address), job.out, (job,))

    @curate.command(name="filter", help="Reject degenerate/sparse/out-of-range/duplicate samples into quarantine/ "
                                        "with reasons; flag glass/mirror suspects for review.")
    @options_from(CurateIO, FilterConfig, aliases={**IN, **DEPTH_RANGE,
                                                   "max_out_of_range_frac": "--max-out-of-range"})
    def filter_(job: CurateIO, cfg: FilterConfig, config: ConfigOption = None) -> None:
        from .jobs import run_filter

        finish("filter", lambda: run_filter(job.in_dir, job.out, cfg, job.ray_address), job.out, (job, cfg))

    @curate.command(help="DepthLM VQA: focal-normalised images with a marker per query pixel and JSONL answers.")
    @options_from(CurateIO, VqaConfig, aliases={**IN, "focal_px": "--focal", "marker_radius_px": "--marker-radius"})
    def vqa(job: CurateIO, cfg: VqaConfig, config: ConfigOption = None) -> None:
        from .jobs import run_vqa

        finish("vqa", lambda: run_vqa(job.in_dir, job.out, cfg, job.ray_address), job.out, (job, cfg))

    @curate.command(help="FDE triplets from instance masks: target mask, tight box, text prompt, boundary band.")
    @options_from(CurateIO, FdeConfig, aliases={**IN, "min_area_frac": "--min-area", "max_area_frac": "--max-area",
                                                "band_radius_px": "--band-radius"})
    def fde(job: CurateIO, cfg: FdeConfig, config: ConfigOption = None) -> None:
        from .jobs import run_fde

        finish("fde", lambda: run_fde(job.in_dir, job.out, cfg, job.ray_address), job.out, (job, cfg))

    @curate.command(help="HTML report: mask-ratio histogram per source, depth percentiles per dataset, gallery.")
    @options_from(ReportJob, aliases={"in_dirs": "--in"})
    def report(job: ReportJob, config: ConfigOption = None) -> None:
        from .jobs import run_report

        summary = finish("report", lambda: run_report(job.in_dirs, job.out, job.gallery_size, job.ray_address))
        if summary.results:
            typer.echo(f"report: {summary.results[0]}")

    app.add_typer(curate, name="curate")
