"""Richer procedural rooms: furniture from parts, clutter on surfaces, windows, cables, hard-material
rates and scattered assets. Scene graphs are built in bpy without rendering (in a subprocess, so bpy
stays out of the test process); one tiny render checks depth and SGM holes on glass and mirrors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from depthcur.core.exits import FieldValueError
from depthcur.render.scenes.config import SceneConfig

pytestmark = [pytest.mark.blender]

#: the rooms of the rate test are smaller than the default ones: the rates are shares, not counts
RATE_ROOMS = 30
RATES = {"glass_rate": 0.2, "mirror_rate": 0.1, "metal_rate": 0.15, "dark_rate": 0.1}
RATE_OPTIONS = {**RATES, "hard_minimum": False, "furniture_count": (5, 7), "clutter_per_surface": (2, 3),
                "window_count": (0, 0), "cable_count": (0, 0)}
#: the room shell and what the rates do not cover
NOT_RATED = ("floor", "ceiling", "wall", "sky", "cable", "window_glass")
TOLERANCE_M = 1e-4


# ----------------------------------------------------------------------------------------------- probe
def _box(obj) -> tuple[np.ndarray, np.ndarray]:
    """World box of a mesh object from its evaluated vertices (independent of the builder's own boxes)."""
    coords = np.array([obj.matrix_world @ v.co for v in obj.data.vertices])
    return coords.min(axis=0), coords.max(axis=0)


def _room_summary(seed: int, options: dict) -> dict:
    """Build one room into an empty scene and measure it: instances, clutter resting, asset boxes."""
    import bpy
    from mathutils import Vector

    from depthcur.render.scenes import build_procedural_room

    bpy.ops.wm.read_factory_settings(use_empty=True)
    built = build_procedural_room(f"room_{seed}", np.random.default_rng(seed), SceneConfig(**options))
    bpy.context.view_layer.update()
    objects = {o.name: o for o in bpy.context.scene.objects}
    resting = []
    for name, placement in built.info["placements"].items():
        obj = objects[name]
        meshes = [obj] if obj.type == "MESH" else [c for c in obj.children_recursive if c.type == "MESH"]
        lo = np.min([_box(m)[0] for m in meshes], axis=0)
        hi = np.max([_box(m)[1] for m in meshes], axis=0)
        # straight down from 1 mm above the object's bottom onto the support it was put on: the first
        # face hit is the support's top (not its underside, as for a sunken object), at the object's bottom
        xy = (lo[:2] + hi[:2]) / 2 if obj.type != "MESH" else np.array(obj.matrix_world.translation[:2])
        support = objects[placement["on"]]
        to_local = support.matrix_world.inverted()
        origin, below = to_local @ Vector((*xy, lo[2] + 0.001)), to_local @ Vector((*xy, lo[2] - 1.0))
        hit, location, _, _ = support.ray_cast(origin, below - origin)
        top = (support.matrix_world @ location).z if hit else None
        resting.append({"name": name, "kind": "asset" if obj.type != "MESH" else "clutter",
                        "bottom": float(lo[2]), "surface_z": placement["surface_z"], "on": placement["on"],
                        "support_top": top,
                        "box": [lo.tolist(), hi.tolist()]})
    return {"instances": [[i.category, i.material] for i in built.instances],
            "curves": sorted(o.name for o in bpy.context.scene.objects if o.type == "CURVE"),
            "resting": resting, "info": {k: built.info[k] for k in ("windows", "cables", "assets", "material_counts")}}


def probe(jobs: list) -> None:
    """Subprocess entry: print one JSON summary per (seed, options)."""
    print(json.dumps([_room_summary(seed, options) for seed, options in jobs]))


def build_rooms(jobs: list) -> list[dict]:
    """Build and measure rooms in a fresh Python (bpy) process."""
    code = (f"import runpy, json; runpy.run_path({str(Path(__file__))!r})['probe']"
            f"(json.loads({json.dumps(json.dumps(jobs))}))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


# ----------------------------------------------------------------------------------------------- tests
@pytest.fixture(scope="module")
def rich_rooms(tmp_path_factory) -> dict:
    """Two default rooms of seed 5 and one of seed 6, rooms full of windows and cables, the rate rooms,
    and rooms with scattered assets: one bpy process for the module."""
    folder = tmp_path_factory.mktemp("assets")
    write_box_obj(folder / "crate.obj", size=(2.0, 1.0, 0.5), bottom=5.0)    # 2 m wide, floating 5 m up
    (folder / "notes.txt").write_text("not an asset")
    busy = {"window_count": (2, 2), "cable_count": (2, 2)}
    assets = {"assets": str(folder), "asset_count": (3, 3), "asset_max_size_m": 0.3}
    jobs = [(5, {}), (5, {}), (6, {}), (7, busy), (8, busy), (9, assets), (10, assets)]
    jobs += [(100 + i, RATE_OPTIONS) for i in range(RATE_ROOMS)]
    rooms = build_rooms(jobs)
    return {"same": rooms[0:2], "other": rooms[2], "busy": rooms[3:5], "assets": rooms[5:7],
            "rates": rooms[7:]}


def write_box_obj(path: Path, size: tuple[float, float, float], bottom: float) -> None:
    """A Wavefront OBJ box of ``size`` metres whose bottom lies at z = ``bottom`` (OBJ is y-up; Blender's
    importer turns +y into +z)."""
    w, d, h = size
    corners = [(x, y, z) for x in (-w / 2, w / 2) for y in (-d / 2, d / 2) for z in (bottom, bottom + h)]
    faces = [(1, 2, 4, 3), (5, 7, 8, 6), (1, 5, 6, 2), (3, 4, 8, 7), (1, 3, 7, 5), (2, 6, 8, 4)]
    lines = [f"v {x} {z} {-y}" for x, y, z in corners] + ["f " + " ".join(map(str, f)) for f in faces]
    path.write_text("\n".join(lines) + "\n")


def test_a_seed_builds_the_same_room_and_another_seed_another(rich_rooms):
    first, second = rich_rooms["same"]
    assert first["instances"] == second["instances"] and first["resting"] == second["resting"]
    assert first["instances"] != rich_rooms["other"]["instances"]
    categories = [category for category, _ in first["instances"]]
    assert [categories.count(shell) for shell in ("floor", "ceiling", "wall")] == [1, 1, 4]
    # furniture from parts and clutter on it; the default room holds every hard kind the rates allow
    assert {"table", "chair", "shelf", "cabinet"} & set(categories)
    assert any(r["kind"] == "clutter" for r in first["resting"])
    for room in (first, rich_rooms["other"]):
        assert {"glass", "metal", "mirror"} <= {material for _, material in room["instances"]}


def test_windows_and_cables_are_built_as_asked(rich_rooms):
    for room in rich_rooms["busy"]:
        categories = [category for category, _ in room["instances"]]
        assert len(room["info"]["windows"]) == 2 and categories.count("sky") == 2
        assert categories.count("window_glass") == sum(w["glass"] for w in room["info"]["windows"])
        assert room["info"]["cables"] == 2 and len(room["curves"]) == 2 and categories.count("cable") == 2


def test_hard_material_rates_hold_over_many_rooms(rich_rooms):
    objects = [material for room in rich_rooms["rates"] for category, material in room["instances"]
               if category not in NOT_RATED]
    assert len(objects) > 300
    for kind in ("glass", "mirror", "metal", "dark"):
        share = objects.count(kind) / len(objects)
        assert share == pytest.approx(RATES[f"{kind}_rate"], abs=0.025), kind


def test_clutter_rests_on_its_surface_without_interpenetration(rich_rooms):
    resting = [r for room in rich_rooms["same"][:1] + [rich_rooms["other"]] for r in room["resting"]]
    assert len(resting) >= 5
    for item in resting:
        assert item["bottom"] == pytest.approx(item["surface_z"], abs=TOLERANCE_M), item["name"]
        assert item["support_top"] == pytest.approx(item["bottom"], abs=TOLERANCE_M), item["name"]
    for room in rich_rooms["same"][:1] + [rich_rooms["other"]]:
        boxes = [(np.array(r["box"][0]), np.array(r["box"][1])) for r in room["resting"]]
        for i, a in enumerate(boxes):
            for b in boxes[i + 1:]:
                assert not np.all(np.minimum(a[1], b[1]) - np.maximum(a[0], b[0]) > 0.002)


def test_assets_from_a_folder_are_scaled_and_scattered_on_surfaces(rich_rooms):
    for room in rich_rooms["assets"]:
        assets = [r for r in room["resting"] if r["kind"] == "asset"]
        assert len(assets) == len(room["info"]["assets"]) >= 2
        assert {a["file"].rsplit("/", 1)[-1] for a in room["info"]["assets"]} == {"crate.obj"}
        for asset in assets:
            extent = np.array(asset["box"][1]) - np.array(asset["box"][0])
            # the 2 m crate is shrunk to 0.3 m (rotated about z, so its box is up to sqrt(2) wider)
            assert extent[2] == pytest.approx(0.5 * 0.3 / 2.0, abs=1e-3)
            assert max(extent[:2]) <= 0.3 * 2 ** 0.5 + 1e-3
            assert asset["bottom"] == pytest.approx(asset["surface_z"], abs=TOLERANCE_M)
            assert asset["support_top"] == pytest.approx(asset["bottom"], abs=TOLERANCE_M)
        assert [c for c, m in room["instances"] if m == "asset"] == ["crate"] * len(assets)


def test_bad_scene_options_name_the_field(tmp_path):
    with pytest.raises(FieldValueError, match="assets"):
        SceneConfig(assets=str(tmp_path / "missing"))
    with pytest.raises(FieldValueError, match="holds no"):
        SceneConfig(assets=str(tmp_path))
    with pytest.raises(FieldValueError, match="add up to"):
        SceneConfig(glass_rate=0.5, mirror_rate=0.3, metal_rate=0.3)
    with pytest.raises(FieldValueError, match="furniture_count"):
        SceneConfig(furniture_count=(5, 2))


# ----------------------------------------------------------------------------------------------- one render
#: a rich room at the smallest size: many hard objects, every view aimed at one, windows and cables
RENDER_OPTIONS = {"scenes": "procedural:1", "samples_per_scene": 1, "resolution": "160x120", "spp": 8,
                  "seed": 3, "threads_per_worker": 2, "hard_view_probability": 1.0, "write_gallery": False}
RENDER_SCENE = {"glass_rate": 0.3, "mirror_rate": 0.15, "metal_rate": 0.25, "dark_rate": 0.0,
                "window_count": (1, 1), "cable_count": (1, 1)}


def render_one(out: str) -> None:
    """Subprocess entry: render the one sample in this process's Blender (no Ray)."""
    from depthcur.render.config import RenderConfig
    from depthcur.render.jobs import expand_scenes, make_jobs
    from depthcur.render.session import BlenderSession

    config = RenderConfig(out=Path(out), scene=SceneConfig(**RENDER_SCENE), **RENDER_OPTIONS)
    session = BlenderSession()
    for job in make_jobs(config, expand_scenes(config.scenes)):
        session.render(job, config)


def test_a_rich_room_renders_valid_depth_and_sgm_holes_on_glass_and_mirrors(tmp_path):
    import cv2

    from depthcur.render.scenes.materials import material_mask_from_instances
    from depthcur.schemas import read_sample, scan_samples
    from depthcur.schemas.fields import MaterialClass

    code = f"import runpy; runpy.run_path({str(Path(__file__))!r})['render_one']({str(tmp_path)!r})"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    [path] = scan_samples(tmp_path).samples
    sample = read_sample(path)
    # perfect depth everywhere in a closed room (the sky plane outside a window is geometry too)
    assert np.isfinite(sample.depth_gt).all() and np.mean(sample.depth_gt > 0) > 0.99
    assert sample.depth_gt.max() < 12.0
    classes = material_mask_from_instances(sample.instance_mask, sample.provenance["instances"])
    np.testing.assert_array_equal(sample.material_mask, classes)   # the written field is the instance table's
    ir_size = sample.ir_left.shape[::-1]
    classes = cv2.resize(classes, ir_size, interpolation=cv2.INTER_NEAREST)
    sensor = cv2.resize(sample.depth_raw, ir_size, interpolation=cv2.INTER_NEAREST)
    matchable = np.arange(ir_size[0])[None, :] >= sample.provenance["sgm"]["num_disparities"]
    hard = matchable & np.isin(classes, [MaterialClass.TRANSPARENT, MaterialClass.SPECULAR])
    opaque = matchable & (classes == MaterialClass.OPAQUE)
    assert hard.sum() > 200 and opaque.sum() > 200
    gt = cv2.resize(sample.depth_gt, ir_size, interpolation=cv2.INTER_NEAREST)
    # the sensor fails where it gives no depth or a depth 10 % off (a mirror's reflection, a refraction)
    failed = (sensor == 0) | (np.abs(sensor - gt) > 0.1 * gt)
    assert failed[hard].mean() > 1.5 * failed[opaque].mean() and failed[hard].mean() > 0.5
    # where the sensor does measure on diffuse surfaces, it is right (within 5 % of the perfect depth)
    measured = opaque & (sensor > 0)
    assert np.median(np.abs(sensor[measured] - gt[measured]) / gt[measured]) < 0.05
