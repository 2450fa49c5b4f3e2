"""``depthcur render``. Light at import: bpy/ray load only when the command runs."""

from __future__ import annotations

import typer

from depthcur.core.config import ConfigOption
from depthcur.core.exits import ItemsFailed
from depthcur.core.options import options_from

from .config import RenderConfig


def register(app: typer.Typer) -> None:
    @app.command(help="Render speckle-stereo RGB-D samples with Blender Cycles and simulate SGM sensor depth. "
                      "--scenes is procedural:N, a folder of scene files, or a glob "
                      "(.blend .glb .gltf .obj .fbx .usd .usda .usdc .usdz). Every field of RenderConfig "
                      "is an option: --rig-* the camera rig ranges, --sgm-* the simulated sensor.")
    @options_from(RenderConfig, aliases={"sgm_ir_noise_std": "--ir-noise-std", "scene_assets": "--assets"})
    def render(cfg: RenderConfig, config: ConfigOption = None) -> None:
        from depthcur.core.progress import get_logger

        from .runner import render_scenes

        report = render_scenes(cfg)     # a --scenes that names nothing: SceneSpecError, exit code 2
        get_logger("depthcur.render").info("rendered %d, skipped %d (already done), failed %d -> %s",
                                           len(report.rendered), len(report.skipped), len(report.failures),
                                           cfg.out / "render_report.json")
        if not report.ok:
            raise ItemsFailed(f"scene {scene} failed: {message}" for scene, message in report.failed_scenes.items())
