"""Render the procedural scene kinds at 320x240 and write one picture per kind for docs/render.md:
RGB | perfect depth | material class | sensor depth | where the sensor fails.

    .venv/bin/python scripts/scene_gallery.py [--out docs/img] [--work /tmp/scene_gallery]

About 1-2 minutes per picture on 2 cores.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np

from depthcur.core.pictures import depth_colormap, robust_range
from depthcur.render import RenderConfig, render_scenes
from depthcur.render.scenes.config import SceneConfig
from depthcur.render.scenes.materials import material_mask_from_instances
from depthcur.schemas import read_sample, scan_samples, write_bytes_atomic
from depthcur.schemas.codecs import encode_rgb
from depthcur.schemas.fields import MaterialClass

TILE_WIDTH = 200
COLUMNS = ("RGB", "perfect depth", "material class", "sensor depth (SGM)", "sensor fails")
#: material class colours: unlabelled (sky, assets) black, opaque grey, glass cyan, specular yellow, dark purple
CLASS_COLOURS = np.array([[0, 0, 0], [150, 150, 150], [0, 220, 255], [255, 220, 0], [150, 60, 200]], np.uint8)
HARD = (MaterialClass.TRANSPARENT, MaterialClass.SPECULAR, MaterialClass.DARK)
#: a sensor depth this far off the perfect one counts as a failure (a mirror's reflection, a refraction)
WRONG_DEPTH = 0.1


def write_box_obj(path: Path, size, bottom: float = 0.0) -> None:
    """A Wavefront OBJ box (OBJ is y-up)."""
    w, d, h = size
    corners = [(x, y, z) for x in (-w / 2, w / 2) for y in (-d / 2, d / 2) for z in (bottom, bottom + h)]
    faces = [(1, 2, 4, 3), (5, 7, 8, 6), (1, 5, 6, 2), (3, 4, 8, 7), (1, 3, 7, 5), (2, 6, 8, 4)]
    path.write_text("\n".join([f"v {x} {z} {-y}" for x, y, z in corners]
                              + ["f " + " ".join(map(str, f)) for f in faces]) + "\n")


def kinds(asset_folder: Path) -> dict[str, tuple[dict, dict]]:
    """picture name -> (RenderConfig overrides, SceneConfig overrides)"""
    return {
        "scene_default": ({"seed": 3}, {}),
        "scene_windows": ({"seed": 21}, {"window_count": (2, 2), "window_glass_probability": 1.0,
                                         "cable_count": (2, 2)}),
        "scene_hard": ({"seed": 5}, {"glass_rate": 0.3, "mirror_rate": 0.15, "metal_rate": 0.25,
                                     "dark_rate": 0.15}),
        "scene_assets": ({"seed": 30, "hard_view_probability": 0.0},
                         {"assets": str(asset_folder), "asset_count": (8, 8), "asset_max_size_m": 0.45,
                          "furniture_count": (4, 6), "clutter_per_surface": (0, 1)}),
    }


def tile(image: np.ndarray, height: int) -> np.ndarray:
    import cv2

    if image.ndim == 2:
        image = np.repeat(image[:, :, None], 3, axis=2)
    return cv2.resize(image, (TILE_WIDTH, height), interpolation=cv2.INTER_NEAREST)


def picture(sample) -> np.ndarray:
    import cv2

    classes = material_mask_from_instances(sample.instance_mask, sample.provenance["instances"])
    near, far = robust_range(sample.depth_gt)
    sensor, gt = sample.depth_raw, sample.depth_gt
    failed = (sensor == 0) | (np.abs(sensor - gt) > WRONG_DEPTH * gt)
    # failures: red on hard materials (expected), white on opaque ones, blue on the sky; the rest dimmed
    fails = (cv2.cvtColor(sample.rgb, cv2.COLOR_RGB2GRAY)[..., None] * 0.35).astype(np.uint8).repeat(3, axis=2)
    fails[failed & np.isin(classes, HARD)] = (255, 40, 40)
    fails[failed & (classes == MaterialClass.OPAQUE)] = (255, 255, 255)
    fails[failed & (classes == MaterialClass.UNLABELLED)] = (60, 120, 255)
    height = int(round(TILE_WIDTH * sample.height / sample.width))
    tiles = [sample.rgb, depth_colormap(gt, near, far), CLASS_COLOURS[classes], depth_colormap(sensor, near, far),
             fails]
    body = np.concatenate([tile(t, height) for t in tiles], axis=1)
    header = np.full((18, body.shape[1], 3), 255, np.uint8)
    for i, name in enumerate(COLUMNS):
        cv2.putText(header, name, (i * TILE_WIDTH + 4, 13), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (0, 0, 0), 1, cv2.LINE_AA)
    return np.concatenate([header, body], axis=0)


def failure_rates(sample) -> dict[str, float]:
    classes = material_mask_from_instances(sample.instance_mask, sample.provenance["instances"])
    failed = (sample.depth_raw == 0) | (np.abs(sample.depth_raw - sample.depth_gt) > WRONG_DEPTH * sample.depth_gt)
    return {c.name.lower(): round(float(failed[classes == c].mean()), 3)
            for c in MaterialClass if np.any(classes == c)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("docs/img"))
    parser.add_argument("--work", type=Path, default=None)
    args = parser.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="scene_gallery-"))
    assets = work / "assets"
    assets.mkdir(parents=True, exist_ok=True)
    write_box_obj(assets / "crate.obj", (0.4, 0.3, 0.25))
    write_box_obj(assets / "pillar.obj", (0.12, 0.12, 0.45))
    for name, (render_options, scene_options) in kinds(assets).items():
        options = {"scenes": "procedural:1", "samples_per_scene": 1, "resolution": (320, 240), "spp": 16,
                   "write_gallery": False, **render_options}
        config = RenderConfig(out=work / name, scene=SceneConfig(**scene_options), **options)
        report = render_scenes(config)
        if not report.ok:
            raise SystemExit(f"{name}: {report.failures}")
        sample = read_sample(scan_samples(work / name).samples[0])
        write_bytes_atomic(args.out / f"render_{name}.png", encode_rgb(picture(sample)))
        print(name, "sensor fails by material class:", failure_rates(sample))


if __name__ == "__main__":
    main()
