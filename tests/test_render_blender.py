"""Render-stage tests with real Cycles renders at 160x120 (one small run shared by the module).

Also runs the ``depthcur render`` CLI as a subprocess: SIGKILL after the first sample lands,
resume, and bad scene files in a folder.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from depthcur.render import RenderConfig, render_scenes
from depthcur.render.config import SgmConfig
from depthcur.render.scenes.materials import NON_LAMBERTIAN
from depthcur.schemas import read_sample, sample_dir, scan_samples
from depthcur.schemas.keys import KEY_PATTERN

pytestmark = [pytest.mark.blender, pytest.mark.slow]

RESOLUTION = "160x120"
SPP = 8
SEED = 11
SAMPLES = 2          # per scene
SCENES = 2           # the shared fixture; the kill/resume run renders the first scene only
DIFFUSE = ("textured", "plain")


def run_config(out: Path) -> RenderConfig:
    return RenderConfig(scenes=f"procedural:{SCENES}", out=out, samples_per_scene=SAMPLES, resolution=RESOLUTION,
                        spp=SPP, seed=SEED, workers=1, threads_per_worker=2)


def cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "depthcur.cli", "render", *args]


def cli_args(out: Path) -> list[str]:
    return cli("--scenes", "procedural:1", "--out", str(out), "--samples-per-scene", str(SAMPLES),
               "--resolution", RESOLUTION, "--spp", str(SPP), "--seed", str(SEED), "--workers", "1",
               "--threads-per-worker", "2")


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    from depthcur.core.ray_runner import shutdown_ray

    out = tmp_path_factory.mktemp("render") / "out"
    report = render_scenes(run_config(out))
    samples = [read_sample(p) for p in scan_samples(out).samples]
    yield out, report, samples
    shutdown_ray()


def materials_on_ir_grid(sample) -> np.ndarray:
    """Material kind per IR pixel, from the instance mask and the instance table in provenance."""
    table = sample.provenance["instances"]
    names = np.array(["background"] + [table[str(i)]["material"] for i in range(1, len(table) + 1)])
    mask = cv2.resize(sample.instance_mask, sample.ir_left.shape[::-1], interpolation=cv2.INTER_NEAREST)
    return names[mask]


def sensor_disparity(sample) -> np.ndarray:
    """fx·B/depth_raw on the IR grid (depth_raw is the nearest-upsampled SGM depth)."""
    depth = cv2.resize(sample.depth_raw, sample.ir_left.shape[::-1], interpolation=cv2.INTER_NEAREST)
    disparity = np.zeros_like(depth)
    disparity[depth > 0] = sample.K_ir.fx * sample.baseline_m / depth[depth > 0]
    return disparity


def matchable(sample) -> np.ndarray:
    """IR pixels right of the masked left strip that have ground truth."""
    strip = sample.provenance["sgm"]["num_disparities"]
    columns = np.arange(sample.ir_left.shape[1])[None, :] >= strip
    return columns & (sample.disparity_gt > 0)


def test_run_writes_every_sample_report_and_pictures(rendered):
    out, report, samples = rendered
    assert report.ok and report.requested == SCENES * SAMPLES and len(report.rendered) == SCENES * SAMPLES
    assert sorted(s.key for s in samples) == [f"sim/procedural_{n:04d}/{i:04d}" for n in range(SCENES)
                                              for i in range(SAMPLES)]
    saved = json.loads((out / "render_report.json").read_text())
    assert saved["ok"] and sorted(saved["rendered"]) == sorted(report.rendered)
    gallery = cv2.imread(str(out / "gallery.png"))
    assert gallery.shape[0] > 2 * 180 and gallery.shape[1] == 6 * 240
    assert gallery.std() > 20                                  # not blank
    stats = json.loads((out / "mask_ratio_stats.json").read_text())
    assert stats["count"] == SCENES * SAMPLES
    assert stats["mean"] == pytest.approx(np.mean([s.stats["mask_ratio"] for s in samples]))
    assert cv2.imread(str(out / "mask_ratio_hist.png")) is not None


def test_sgm_matches_gt_disparity_on_diffuse_surfaces(rendered):
    _, _, samples = rendered
    errors = []
    for sample in samples:
        region = matchable(sample) & np.isin(materials_on_ir_grid(sample), DIFFUSE)
        disparity = sensor_disparity(sample)
        valid = region & (disparity > 0)
        assert valid.sum() > 0.5 * region.sum()
        errors.append(np.abs(disparity - sample.disparity_gt)[valid])
    median = float(np.median(np.concatenate(errors)))
    assert median < 0.5, f"median |SGM - fx·B/Z| on diffuse surfaces is {median:.3f} px"


def test_glass_and_metal_are_mostly_holes(rendered):
    _, _, samples = rendered
    holes = {"diffuse": [0, 0], "glass_metal": [0, 0]}
    for sample in samples:
        kinds = materials_on_ir_grid(sample)
        missing = sensor_disparity(sample) == 0
        for group, members in (("diffuse", DIFFUSE), ("glass_metal", ("glass", "metal"))):
            region = matchable(sample) & np.isin(kinds, members)
            holes[group][0] += int((missing & region).sum())
            holes[group][1] += int(region.sum())
    assert holes["glass_metal"][1] > 300, "the views should show glass or metal"
    diffuse = holes["diffuse"][0] / holes["diffuse"][1]
    glass_metal = holes["glass_metal"][0] / holes["glass_metal"][1]
    assert diffuse < 0.15, diffuse
    assert glass_metal > 0.3 and glass_metal > 4 * diffuse, (glass_metal, diffuse)


def test_z_pass_is_planar_across_the_whole_width(rendered):
    """SGM ≈ fx·B/Z in every column band. Had the Z pass been ray distance, fx·B/Z would be off by
    the factor 1/cos(angle to the axis) towards the edges: the test checks the bands against that too."""
    _, _, samples = rendered
    bands, checked = 4, 0
    for sample in samples:
        disparity = sensor_disparity(sample)
        valid = matchable(sample) & (disparity > 0) & np.isin(materials_on_ir_grid(sample), DIFFUSE)
        strip = sample.provenance["sgm"]["num_disparities"]
        edges = np.linspace(strip, disparity.shape[1], bands + 1).astype(int)
        rows, columns = np.indices(disparity.shape)
        K = sample.K_ir
        for lo, hi in zip(edges[:-1], edges[1:]):
            band = valid & (columns >= lo) & (columns < hi)
            if band.sum() < 200:
                continue
            error = disparity[band] - sample.disparity_gt[band]
            assert abs(np.median(error)) < 0.3 and np.median(np.abs(error)) < 0.5, (sample.key, lo, hi)
            # the error a ray-distance "depth" would have caused in this band
            ray_scale = np.sqrt(1 + ((columns[band] - K.cx) / K.fx) ** 2 + ((rows[band] - K.cy) / K.fy) ** 2)
            if hi == disparity.shape[1]:
                ray_error = np.median(sample.disparity_gt[band] * (1 - 1 / ray_scale))
                assert ray_error > 2 * abs(np.median(error)), (sample.key, ray_error)
            checked += 1
        # GT disparity itself is fx·B/Z of the stored planar depth
        depth_ir = cv2.resize(sample.depth_gt, disparity.shape[::-1], interpolation=cv2.INTER_NEAREST)
        has = (depth_ir > 0) & (sample.disparity_gt > 0)
        relative = sample.disparity_gt[has] * depth_ir[has] / (K.fx * sample.baseline_m) - 1
        assert np.median(np.abs(relative)) < 0.02
    assert checked >= 2 * len(samples)


def test_metadata_within_sampled_ranges(rendered):
    _, _, samples = rendered
    for sample in samples:
        assert KEY_PATTERN.match(sample.key) and "." not in sample.key
        assert sample.source == "sim" and sample.depth_gt_kind == "rendered"
        assert sample.rgb.shape == (120, 160, 3) and sample.depth_gt.shape == sample.depth_raw.shape == (120, 160)
        assert sample.instance_mask.shape == (120, 160)
        assert sample.ir_left.shape == sample.ir_right.shape == sample.disparity_gt.shape == (90, 120)
        rig = sample.provenance["rig"]
        assert 0.05 <= sample.baseline_m <= 0.2 and rig["baseline_m"] == sample.baseline_m
        assert 16 <= rig["focal_mm"] <= 28 and rig["sensor_width_mm"] == 36.0
        assert sample.K_rgb.fx == pytest.approx(rig["focal_mm"] / 36.0 * 160)
        assert sample.K_ir.fx == pytest.approx(sample.K_rgb.fx * 0.75)
        assert np.allclose(sample.T_rgb_from_ir, np.eye(4))
        assert set(SgmConfig().__dataclass_fields__) <= set(sample.provenance["sgm"])
        assert sample.provenance["renderer"]["spp"] == SPP and sample.provenance["seed"] == SEED
        # the camera is inside the room, clear of geometry, and every mask id is a known instance
        width, depth, height = sample.provenance["scene"]["room_size_m"]
        eye = np.array(rig["camera_to_world_left"])[:3, 3]
        assert abs(eye[0]) < width / 2 and abs(eye[1]) < depth / 2 and 0 < eye[2] < height
        assert sample.depth_gt[sample.depth_gt > 0].min() >= 0.3 * 0.9
        assert set(np.unique(sample.instance_mask).tolist()) <= {int(k) for k in sample.provenance["instances"]}
        materials = {v["material"] for v in sample.provenance["instances"].values()}
        assert set(NON_LAMBERTIAN) <= materials
        assert 0 < sample.stats["mask_ratio"] < 1


def _wait_for_first_sample(process: subprocess.Popen, out: Path, timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if scan_samples(out).samples if out.is_dir() else []:
            return
        if process.poll() is not None:
            raise AssertionError(f"render exited early with {process.returncode}: {process.stderr.read()}")
        time.sleep(0.2)
    raise AssertionError("no sample landed in time")


def test_sigkill_then_resume_gives_exactly_the_expected_samples_and_same_records(rendered, tmp_path):
    fixture_out, _, fixture_samples = rendered
    out = tmp_path / "out"
    process = subprocess.Popen(cli_args(out), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                               start_new_session=True)
    try:
        _wait_for_first_sample(process, out)
    finally:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    landed = scan_samples(out).samples
    assert 1 <= len(landed) <= SAMPLES
    for path in landed:                                 # whatever looks whole is whole
        read_sample(path)
    rerun = subprocess.run(cli_args(out), capture_output=True, text=True, timeout=600)
    assert rerun.returncode == 0, rerun.stderr
    report = json.loads((out / "render_report.json").read_text())
    assert len(report["skipped"]) >= 1 and len(report["skipped"]) + len(report["rendered"]) == SAMPLES
    scan = scan_samples(out)
    assert not scan.leftovers
    keys = sorted(read_sample(p).key for p in scan.samples)
    assert keys == [f"sim/procedural_0000/{i:04d}" for i in range(SAMPLES)]
    # a fixed seed reproduces the same record (another process, another run, fewer scenes)
    for expected in [s for s in fixture_samples if s.scene_id == "procedural_0000"]:
        again = read_sample(sample_dir(out, expected.key))
        assert again.baseline_m == expected.baseline_m and again.K_rgb == expected.K_rgb
        assert again.provenance["rig"] == expected.provenance["rig"]
        assert again.provenance["instances"] == expected.provenance["instances"]
        assert np.array_equal(again.instance_mask, expected.instance_mask)
        assert np.array_equal(again.depth_gt, expected.depth_gt)
        assert np.abs(again.ir_left.astype(int) - expected.ir_left).mean() < 0.5
        assert np.abs(again.rgb.astype(int) - expected.rgb).mean() < 0.5
        assert again.stats == pytest.approx(expected.stats, rel=1e-3)


def test_bad_scene_files_are_named_and_others_continue(tmp_path):
    scenes = tmp_path / "scenes"
    scenes.mkdir()
    (scenes / "broken.glb").write_bytes(b"this is not a glTF file")
    (scenes / "points_only.obj").write_text("v 0 0 0\nv 1 0 0\nv 0 1 0\n")
    cube = ["v -0.5 -0.5 0", "v 0.5 -0.5 0", "v 0.5 0.5 0", "v -0.5 0.5 0",
            "v -0.5 -0.5 1", "v 0.5 -0.5 1", "v 0.5 0.5 1", "v -0.5 0.5 1",
            "f 1 4 3 2", "f 5 6 7 8", "f 1 2 6 5", "f 2 3 7 6", "f 3 4 8 7", "f 4 1 5 8"]
    (scenes / "cube.obj").write_text("\n".join(cube) + "\n")
    export = (f"import bpy; bpy.ops.wm.read_factory_settings(use_empty=True); "
              f"bpy.ops.mesh.primitive_cube_add(size=1); bpy.ops.mesh.primitive_uv_sphere_add(location=(1.5, 0, 0)); "
              f"bpy.ops.export_scene.gltf(filepath={str(scenes / 'two.glb')!r}); "
              f"bpy.ops.wm.save_as_mainfile(filepath={str(scenes / 'two.blend')!r})")
    subprocess.run([sys.executable, "-c", export], check=True, capture_output=True, timeout=120)
    out = tmp_path / "out"
    result = subprocess.run(cli("--scenes", str(scenes), "--out", str(out), "--samples-per-scene", "1",
                                "--resolution", "64x48", "--spp", "2", "--threads-per-worker", "2"),
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 1, result.stderr
    assert "broken.glb" in result.stderr and "could not be read" in result.stderr
    assert "points_only.obj" in result.stderr and "no geometry" in result.stderr
    rendered = {read_sample(p).key: read_sample(p) for p in scan_samples(out).samples}
    assert sorted(rendered) == ["sim/cube_obj/0000", "sim/two_blend/0000", "sim/two_glb/0000"]
    for key in ("sim/two_blend/0000", "sim/two_glb/0000"):      # both objects got their own instance id
        assert len(rendered[key].provenance["instances"]) == 2
        assert (rendered[key].instance_mask > 0).mean() > 0.02
    report = json.loads((out / "render_report.json").read_text())
    assert set(report["failed_scenes"]) == {"broken_glb", "points_only_obj"}


def test_empty_scene_folder_is_a_clear_error(tmp_path):
    result = subprocess.run(cli("--scenes", str(tmp_path), "--out", str(tmp_path / "out")),
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert str(tmp_path) in result.stderr and "no scene files" in result.stderr
