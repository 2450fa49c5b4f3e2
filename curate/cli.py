"""``depthcur curate {stereo, lidar, import, export, filter, vqa, fde, report}``.

Every verb runs on Ray (local unless ``--ray-address``), shows a progress bar, skips outputs that
are already complete, and exits non-zero naming each input that failed. Heavy imports stay inside
the command functions so ``--help`` is fast.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Callable, List, Optional

import typer

from depthcur.core.config import ConfigOption

if TYPE_CHECKING:
    from .jobs import JobSummary

RayAddress = typer.Option(None, "--ray-address", help="Join a Ray cluster (HOST:PORT or 'auto'); local by default.")
LAYOUT_HELP = "lingbot (LingBot-Depth release), moge, kitti (raw + depth completion) or generic (rgb/, depth/, gt/)."


def finish(job: Callable[[], "JobSummary"]) -> "JobSummary":
    """Run a job; print its summary line; exit 1 naming each failed input, 2 on unusable input."""
    from depthcur.schemas import SchemaError

    try:
        summary = job()
    except (SchemaError, FileNotFoundError, NotADirectoryError) as exc:
        typer.secho(f"error: {exc}", err=True, fg="red")
        raise typer.Exit(code=2) from None
    typer.echo(summary.line())
    for item, error in summary.failed:
        typer.secho(f"  failed: {item}: {error}", err=True, fg="red")
    if summary.failed:
        raise typer.Exit(code=1)
    return summary


def check_layout(layout: str) -> str:
    from .io import LAYOUTS

    if layout not in LAYOUTS:
        raise typer.BadParameter(f"unknown layout {layout!r}; choose one of {', '.join(LAYOUTS)}")
    return layout


def register(app: typer.Typer) -> None:
    curate = typer.Typer(help="Pseudo-label stereo, project LiDAR, import/export layouts, filter, derive VQA/FDE "
                              "exports and report.", no_args_is_help=True)

    @curate.command(help="Stereo pseudo-labels: depth_gt = fx·B/d from the IR pair, LR-checked by swap-and-flip.")
    def stereo(in_dir: Path = typer.Option(..., "--in", help="Raw sample folders with ir_left/ir_right."),
               out: Path = typer.Option(..., "--out", help="Where labelled samples are written."),
               matcher: str = typer.Option("sgbm", help="sgbm or foundation-stereo."),
               lr_threshold: float = typer.Option(1.0, help="LR consistency threshold in pixels."),
               min_depth: float = typer.Option(0.1, help="Range filter: nearest kept depth (m)."),
               max_depth: float = typer.Option(20.0, help="Range filter: farthest kept depth (m)."),
               min_texture: float = typer.Option(2.0, help="Confidence filter: min local IR std (0-255)."),
               num_disparities: int = typer.Option(64, help="sgbm: disparity search range (rounded up to 16)."),
               block_size: int = typer.Option(5, help="sgbm: matching block size."),
               fs_repo: Optional[Path] = typer.Option(None, "--fs-repo", help="foundation-stereo: local clone of "
                                                      "NVlabs/FoundationStereo."),
               ckpt: Optional[Path] = typer.Option(None, "--ckpt", help="foundation-stereo: checkpoint .pth "
                                                   "(cfg.yaml beside it)."),
               valid_iters: int = typer.Option(32, help="foundation-stereo: refinement iterations."),
               ray_address: Optional[str] = RayAddress, config: ConfigOption = None) -> None:
        from .jobs import run_stereo
        from .stereo import PseudoLabelConfig

        if matcher == "sgbm":
            params = {"num_disparities": num_disparities, "block_size": block_size}
        elif matcher == "foundation-stereo":
            from .stereo.foundation_stereo import FoundationStereoUnavailable, check_paths

            try:
                check_paths(fs_repo, ckpt)
            except FoundationStereoUnavailable as exc:
                raise typer.BadParameter(str(exc)) from None
            params = {"fs_repo": str(fs_repo), "ckpt": str(ckpt), "valid_iters": valid_iters}
        else:
            raise typer.BadParameter(f"unknown matcher {matcher!r}; choose sgbm or foundation-stereo")
        cfg = PseudoLabelConfig(matcher=matcher, lr_threshold_px=lr_threshold, min_depth_m=min_depth,
                                max_depth_m=max_depth, min_texture=min_texture, matcher_params=params)
        finish(lambda: run_stereo(in_dir, out, cfg, ray_address))

    @curate.command(help="LiDAR point clouds + calibration -> sparse depth_gt (z-buffer), or --virtual n-line "
                         "LiDAR from dense depth.")
    def lidar(out: Path = typer.Option(..., "--out"),
              points: Optional[Path] = typer.Option(None, help="Folder of scans (.bin, .npy, .pcd, .ply)."),
              images: Optional[Path] = typer.Option(None, help="Folder of images named like the scans."),
              calib: Optional[Path] = typer.Option(None, help="KITTI calib file/folder or a JSON calib."),
              dataset: str = typer.Option("lidar", help="Dataset name (and key prefix)."),
              virtual: bool = typer.Option(False, "--virtual", help="Sample an n-line pattern from --in samples."),
              in_dir: Optional[Path] = typer.Option(None, "--in", help="--virtual: samples with dense depth_gt."),
              n_lines: int = typer.Option(32, help="--virtual: number of rings."),
              azimuth_step: float = typer.Option(0.2, help="--virtual: azimuth step in degrees."),
              dropout: float = typer.Option(0.0, help="--virtual: fraction of returns dropped."),
              ray_address: Optional[str] = RayAddress, config: ConfigOption = None) -> None:
        if virtual:
            from .jobs import run_virtual_lidar
            from .lidar import VirtualLidarConfig

            if in_dir is None:
                raise typer.BadParameter("--virtual needs --in (samples with dense depth_gt)")
            cfg = VirtualLidarConfig(n_lines=n_lines, azimuth_step_deg=azimuth_step, dropout=dropout)
            finish(lambda: run_virtual_lidar(in_dir, out, cfg, ray_address))
            return
        from .jobs import run_lidar

        if points is None or images is None or calib is None:
            raise typer.BadParameter("projection needs --points, --images and --calib (or use --virtual --in)")
        finish(lambda: run_lidar(points, images, calib, out, dataset, ray_address))

    @curate.command(name="import", help=f"Import a dataset layout into raw sample folders. Layouts: {LAYOUT_HELP}")
    def import_(layout: str = typer.Option(..., "--format", help="Dataset layout."),
                in_dir: Path = typer.Option(..., "--in", help="Dataset root."),
                out: Path = typer.Option(..., "--out", help="Raw sample folders."),
                ray_address: Optional[str] = RayAddress, config: ConfigOption = None) -> None:
        from .jobs import run_import

        finish(lambda: run_import(in_dir, check_layout(layout), out, ray_address))

    @curate.command(help=f"Export raw sample folders into a dataset layout. Layouts: {LAYOUT_HELP}")
    def export(layout: str = typer.Option(..., "--format", help="Dataset layout."),
               in_dir: Path = typer.Option(..., "--in", help="Raw sample folders."),
               out: Path = typer.Option(..., "--out", help="Layout root."),
               ray_address: Optional[str] = RayAddress, config: ConfigOption = None) -> None:
        from .jobs import run_export

        finish(lambda: run_export(in_dir, check_layout(layout), out, ray_address))

    @curate.command(name="filter", help="Reject degenerate/sparse/out-of-range/duplicate samples into quarantine/ "
                                        "with reasons; flag glass/mirror suspects for review.")
    def filter_(in_dir: Path = typer.Option(..., "--in"), out: Path = typer.Option(..., "--out"),
                min_valid_ratio: float = typer.Option(0.05), min_depth: float = typer.Option(0.05),
                max_depth: float = typer.Option(80.0), max_out_of_range: float = typer.Option(0.01),
                duplicate_hamming: int = typer.Option(4, help="Perceptual-hash distance counted as duplicate."),
                glass_rel_diff: float = typer.Option(0.15), glass_frac: float = typer.Option(0.05),
                ray_address: Optional[str] = RayAddress, config: ConfigOption = None) -> None:
        from .filters import FilterConfig
        from .jobs import run_filter

        cfg = FilterConfig(min_valid_ratio=min_valid_ratio, min_depth_m=min_depth, max_depth_m=max_depth,
                           max_out_of_range_frac=max_out_of_range, duplicate_hamming=duplicate_hamming,
                           glass_rel_diff=glass_rel_diff, glass_frac=glass_frac)
        finish(lambda: run_filter(in_dir, out, cfg, ray_address))

    @curate.command(help="DepthLM VQA: focal-normalised images with a marker per query pixel and JSONL answers.")
    def vqa(in_dir: Path = typer.Option(..., "--in"), out: Path = typer.Option(..., "--out"),
            focal: float = typer.Option(1000.0, help="Unified focal length in pixels."),
            points_per_image: int = typer.Option(4, help="Query pixels (marked images) per sample."),
            marker: str = typer.Option("circle", help="circle, cross or dot."),
            marker_radius: int = typer.Option(8), seed: int = typer.Option(0),
            ray_address: Optional[str] = RayAddress, config: ConfigOption = None) -> None:
        from .exports.vqa import MARKER_STYLES, VqaConfig
        from .jobs import run_vqa

        if marker not in MARKER_STYLES:
            raise typer.BadParameter(f"unknown marker {marker!r}; choose one of {', '.join(MARKER_STYLES)}")
        cfg = VqaConfig(focal_px=focal, points_per_image=points_per_image, marker=marker,
                        marker_radius_px=marker_radius, seed=seed)
        finish(lambda: run_vqa(in_dir, out, cfg, ray_address))

    @curate.command(help="FDE triplets from instance masks: target mask, tight box, text prompt, boundary band.")
    def fde(in_dir: Path = typer.Option(..., "--in"), out: Path = typer.Option(..., "--out"),
            min_area: float = typer.Option(0.002, help="Smallest target area (fraction of the image)."),
            max_area: float = typer.Option(0.5, help="Largest target area (fraction of the image)."),
            band_radius: int = typer.Option(10, help="Boundary band radius in pixels."),
            val_frac: float = typer.Option(0.1), test_frac: float = typer.Option(0.1), seed: int = typer.Option(0),
            ray_address: Optional[str] = RayAddress, config: ConfigOption = None) -> None:
        from .exports.fde import FdeConfig
        from .jobs import run_fde

        cfg = FdeConfig(min_area_frac=min_area, max_area_frac=max_area, band_radius_px=band_radius,
                        val_frac=val_frac, test_frac=test_frac, seed=seed)
        finish(lambda: run_fde(in_dir, out, cfg, ray_address))

    @curate.command(help="HTML report: mask-ratio histogram per source, depth percentiles per dataset, gallery.")
    def report(in_dirs: List[Path] = typer.Option(..., "--in", help="Sample folders (repeatable)."),
               out: Path = typer.Option(..., "--out"),
               gallery_size: int = typer.Option(12, help="Samples shown in the gallery."),
               ray_address: Optional[str] = RayAddress, config: ConfigOption = None) -> None:
        from .jobs import run_report

        summary = finish(lambda: run_report(in_dirs, out, gallery_size, ray_address))
        if summary.results:
            typer.echo(f"report: {summary.results[0]}")

    app.add_typer(curate, name="curate")
