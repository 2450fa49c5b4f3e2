"""``depthcur render``. Light at import: bpy/ray load only when the command runs."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from depthcur.core.config import ConfigOption


def register(app: typer.Typer) -> None:
    @app.command(help="Render speckle-stereo RGB-D samples with Blender Cycles and simulate SGM sensor depth. "
                      "SPEC is procedural:N, a folder of scene files, or a glob "
                      "(.blend .glb .gltf .obj .fbx .usd .usda .usdc .usdz).")
    def render(
        scenes: str = typer.Option("procedural:1", "--scenes", help="procedural:N, a folder, or a glob."),
        out: Path = typer.Option(Path("render_out"), "--out", help="Output folder of raw sample folders."),
        samples_per_scene: int = typer.Option(2, "--samples-per-scene", min=1, help="Camera views per scene."),
        resolution: str = typer.Option("1280x960", "--resolution",
                                       help="RGB WIDTHxHEIGHT; the IR pair is rendered at 3/4 of it."),
        spp: int = typer.Option(16, "--spp", min=1, help="Cycles samples per pixel (no denoising)."),
        seed: int = typer.Option(0, "--seed", help="Makes scenes, rigs, poses and renders reproducible."),
        workers: int = typer.Option(1, "--workers", min=1, help="Ray workers, one Blender process each."),
        threads_per_worker: int = typer.Option(2, "--threads-per-worker", min=1, help="Cycles CPU threads per worker."),
        ray_address: Optional[str] = typer.Option(None, "--ray-address",
                                                  help="Join a Ray cluster ('auto' or HOST:PORT); local by default."),
        ir_noise_std: float = typer.Option(0.0, "--ir-noise-std",
                                           help="Extra Gaussian IR noise (8-bit grey levels) before SGM."),
        config: ConfigOption = None,
    ) -> None:
        from depthcur.core.progress import get_logger

        from .config import RenderConfig, SgmConfig, parse_resolution
        from .jobs import SceneSpecError
        from .runner import render_scenes

        log = get_logger("depthcur.render")
        try:
            size = parse_resolution(resolution)
        except ValueError as exc:
            raise typer.BadParameter(str(exc), param_hint="--resolution") from None
        run = RenderConfig(scenes=scenes, out=out, samples_per_scene=samples_per_scene, resolution=size, spp=spp,
                           seed=seed, workers=workers, threads_per_worker=threads_per_worker,
                           ray_address=ray_address, sgm=SgmConfig(ir_noise_std=ir_noise_std))
        try:
            report = render_scenes(run)
        except SceneSpecError as exc:
            typer.secho(f"depthcur render: {exc}", err=True, fg="red")
            raise typer.Exit(code=2) from None
        log.info("rendered %d, skipped %d (already done), failed %d -> %s", len(report.rendered),
                 len(report.skipped), len(report.failures), out / "render_report.json")
        for scene, message in report.failed_scenes.items():
            typer.secho(f"depthcur render: scene {scene} failed: {message}", err=True, fg="red")
        if not report.ok:
            raise typer.Exit(code=1)
