"""Camera profiles, device selection, close/far views and the profile's RGB camera (no Blender),
plus one tiny Blender run: a profile's camera in the sample, IR untouched by RGB denoising."""

from __future__ import annotations

import json
import math
import subprocess
import sys

import numpy as np
import pytest

from depthcur.render.camera_profiles import CameraProfileError, load_profile, scaled_size, shipped_profiles
from depthcur.render.config import RenderConfig, RigRanges
from depthcur.render.devices import GpuUnavailable, backend_order, ray_gpus_per_task
from depthcur.render.rig import PoseSampler, Rig, sample_rig
from depthcur.render.session import sensor_depth_on_rgb
from depthcur.render.sgm import sensor_depth
from depthcur.synthetic import speckle, warp_right

PROFILES = [name for name in shipped_profiles() if name != "generic"]


def test_every_required_profile_ships_with_its_sources():
    assert {"generic", "d415", "d435", "d455", "gemini2", "zed2i"} <= set(shipped_profiles())
    for name in PROFILES:
        profile = load_profile(name)
        assert profile.name == name and profile.sources and profile.baseline_m > 0
    assert load_profile("zed2i").projector is False and load_profile("d435").projector is True


def test_d435_profile_lands_in_the_config():
    config = RenderConfig(camera="d435", camera_scale=0.25)
    # datasheet: 50 mm baseline, 1280x720 IR at 87 deg, 1920x1080 RGB at 69 deg; x 0.25 -> 320x180, 480x272
    assert config.ir_resolution == (320, 180) and config.resolution == (480, 272)
    assert config.rig.baseline_m == (0.05, 0.05)
    rig = sample_rig(np.random.default_rng(0), config.rig)
    assert math.degrees(rig.horizontal_fov_rad()) == pytest.approx(87.0)
    assert rig.intrinsics(320, 180).fx == pytest.approx(160 / math.tan(math.radians(43.5)))
    assert rig.rgb_intrinsics(480, 272).fx == pytest.approx(240 / math.tan(math.radians(34.5)))
    # the D4's 126-disparity search at 1280 px: 640 / tan(43.5 deg) * 0.05 / 126 = 0.2676 m (datasheet Min-Z 28 cm)
    assert config.sgm.min_depth_m == pytest.approx(0.26763, abs=1e-4)
    assert config.rig.close_view_probability > 0 and config.rig.far_view_probability > 0
    assert config.to_dict()["camera_profile"]["name"] == "d435"


def test_generic_camera_keeps_todays_rig():
    config = RenderConfig()
    assert config.camera_profile is None and config.rig == RigRanges()
    assert config.ir_resolution == (960, 720) and "camera_profile" not in config.to_dict()


def test_profile_errors_name_the_option_file_and_key(tmp_path):
    with pytest.raises(CameraProfileError, match="no camera profile 'd999'.*--camera.*d435"):
        RenderConfig(camera="d999")
    bad = tmp_path / "mine.yaml"
    bad.write_text("name: mine\nbaseline_m: 0.05\nir_resolution: [640, 480]\nir_hfov_deg: 70\n"
                   "rgb_resolution: [640, 480]\nrgb_hfov_deg: 70\nprojecter: true\n")
    with pytest.raises(CameraProfileError, match=r"mine\.yaml: unknown key\(s\) projecter"):
        RenderConfig(camera=str(bad))
    bad.write_text(bad.read_text().replace("projecter: true", "baseline_m: -1"))
    with pytest.raises(CameraProfileError, match=r"mine\.yaml, key baseline_m"):
        RenderConfig(camera=str(bad))


def test_user_profile_file_and_conflicting_flags(tmp_path):
    mine = tmp_path / "mine.yaml"
    mine.write_text("name: mine\nbaseline_m: 0.08\nir_resolution: [640, 480]\nir_hfov_deg: 70\n"
                    "rgb_resolution: [640, 480]\nrgb_hfov_deg: 70\nrange_m: [0.5, 6]\n")
    config = RenderConfig(camera=str(mine))
    assert config.rig.baseline_m == (0.08, 0.08) and config.sgm.max_depth_m == 6
    with pytest.raises(ValueError, match="baseline_m") as caught:
        RenderConfig(camera="d435", rig=RigRanges(baseline_m=(0.1, 0.1)))
    assert "d435" in str(caught.value)
    with pytest.raises(ValueError, match="--camera-scale"):
        RenderConfig(camera="d435", resolution="640x480")


def test_scaled_sizes_are_multiples_of_four():
    assert scaled_size((1280, 720), 0.125) == (160, 88)
    assert scaled_size((1920, 1080), 1.0) == (1920, 1080)
    assert scaled_size((1280, 720), 0.01) == (32, 32)


@pytest.mark.parametrize("name", PROFILES)
def test_sgm_preset_of_each_profile_on_a_textured_slanted_plane(name):
    """A speckled plane from 1.0 m (left) to 1.6 m (right) seen by the profile's IR pair at 1/4 size:
    the profile's matcher finds fx*B/Z to a small fraction of a pixel."""
    config = RenderConfig(camera=name, camera_scale=0.25)
    width, height = config.ir_resolution
    rig = sample_rig(np.random.default_rng(0), config.rig)
    fx = rig.intrinsics(width, height).fx
    # disparity of each right-image column (warp_right samples it there), then the same surface
    # point's disparity at its left-image column x_R + d: the left-referenced truth SGM estimates
    columns = np.arange(width + 96, dtype=np.float64)
    right_disparity = fx * rig.baseline_m / np.linspace(1.0, 1.6 * (width + 96) / width, width + 96)
    truth_row = np.interp(np.arange(width), columns + right_disparity, right_disparity)
    truth = np.repeat(truth_row[None, :].astype(np.float32), height, axis=0)
    rng = np.random.default_rng(1)
    texture = speckle(height, width + 96, rng, density=0.3)
    left = texture[:, :width]
    right = warp_right(texture, np.repeat(right_disparity[None, :].astype(np.float32), height, axis=0))[:, :width]
    as_ir = lambda image: np.clip((0.1 + 0.8 * image) * 255, 0, 255).astype(np.uint8)  # noqa: E731
    result = sensor_depth(as_ir(left), as_ir(right), fx_ir=fx, baseline_m=rig.baseline_m, config=config.sgm)
    valid = result.disparity > 0
    assert valid.mean() > 0.5, f"{name}: SGM kept only {valid.mean():.0%}"
    median = float(np.median(np.abs(result.disparity - truth)[valid]))
    assert median < 0.2, f"{name}: median |SGM - fx*B/Z| = {median:.3f} px"


def test_offset_rgb_camera_registers_sensor_depth():
    """A wall at 2 m seen by an RGB camera 15 mm left of the left IR camera, same lens: the wall's
    depth shifts by fx * 0.015 / 2 px to the right on the RGB grid and keeps its value."""
    rig = Rig(baseline_m=0.05, focal_mm=18.0, sensor_width_mm=36.0, rgb_focal_mm=18.0 + 1e-3, rgb_offset_m=-0.015)
    assert not rig.rgb_is_left_ir and rig.T_rgb_from_ir()[0, 3] == pytest.approx(0.015)
    K = rig.intrinsics(200, 100)
    depth = np.zeros((100, 200), np.float32)
    depth[:, 60:140] = 2.0
    registered = sensor_depth_on_rgb(depth, rig, K, rig.rgb_intrinsics(200, 100), (200, 100))
    shift = K.fx * 0.015 / 2.0                               # 100 * 0.015 / 2 = 0.75 px
    columns = np.nonzero(registered[50] > 0)[0]
    assert columns.min() == round(59.5 + shift) and np.allclose(registered[50, columns], 2.0, atol=1e-3)
    same = Rig(0.05, 18.0, 36.0)
    assert same.rgb_is_left_ir and np.array_equal(sensor_depth_on_rgb(depth, same, K, K, (200, 100)), depth)


def test_view_kind_shares_and_no_draw_for_the_generic_rig():
    rng = np.random.default_rng(3)
    state = rng.bit_generator.state
    assert PoseSampler.view_kind(rng, RigRanges()) == "normal"
    assert rng.bit_generator.state == state               # generic renders keep their random stream
    ranges = RigRanges(close_view_probability=0.2, far_view_probability=0.3)
    kinds = [PoseSampler.view_kind(rng, ranges) for _ in range(4000)]
    assert kinds.count("close") / 4000 == pytest.approx(0.2, abs=0.03)
    assert kinds.count("far") / 4000 == pytest.approx(0.3, abs=0.03)
    with pytest.raises(ValueError, match="close_view_probability"):
        RigRanges(close_view_probability=0.7, far_view_probability=0.5)


def test_gpu_requests_and_refusals():
    assert ray_gpus_per_task("cpu", 8) == 0 and ray_gpus_per_task("auto", 0) == 0
    assert ray_gpus_per_task("auto", 2) == 1 and ray_gpus_per_task("gpu", 1) == 1
    with pytest.raises(GpuUnavailable, match="no GPU.*--device"):
        ray_gpus_per_task("gpu", 0)
    assert backend_order("gpu", "cuda") == ["cuda"]
    assert backend_order("auto", "hip") == ["hip", "optix", "cuda", "oneapi"]


def test_cycles_device_selection_in_blender():
    """cpu renders on the CPU, auto falls back to it and says so, gpu refuses (this machine has no GPU)."""
    script = """
import json, bpy
from depthcur.render.devices import GpuUnavailable, select_device
scene = bpy.context.scene
out = {"cpu": select_device(scene, "cpu", "optix"), "auto": select_device(scene, "auto", "cuda")}
try:
    select_device(scene, "gpu", "optix")
except GpuUnavailable as exc:
    out["gpu_error"] = str(exc)
print("RESULT" + json.dumps(out))
"""
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    line = next(x for x in run.stdout.splitlines() if x.startswith("RESULT"))
    result = json.loads(line[len("RESULT"):])
    if result["auto"]["device"] == "GPU":
        pytest.skip("this machine has a GPU: the refusal cannot be shown here")
    assert result["cpu"] == {"requested": "cpu", "device": "CPU"}
    assert result["auto"]["device"] == "CPU" and "no GPU" in result["auto"]["note"]
    assert "finds no OPTIX GPU" in result["gpu_error"] and "--device cpu" in result["gpu_error"]


@pytest.mark.blender
@pytest.mark.slow
def test_profile_render_and_rgb_denoising_leave_ir_untouched(tmp_path):
    """One tiny D435 view twice, RGB denoised and not (1 thread: Cycles is then deterministic)."""
    from depthcur.core.ray_runner import shutdown_ray
    from depthcur.render import render_scenes
    from depthcur.schemas import read_sample, scan_samples

    samples = {}
    try:
        for denoise in (True, False):
            config = RenderConfig(scenes="procedural:1", out=tmp_path / str(denoise), samples_per_scene=1,
                                  camera="d435", camera_scale=0.125, spp=2, seed=5, threads_per_worker=1,
                                  denoise_rgb=denoise, device="cpu", write_gallery=False)
            assert render_scenes(config).ok
            samples[denoise] = read_sample(scan_samples(config.out).samples[0])
        # --device gpu without a GPU: refused before any task is queued; a usage error (exit code 2)
        import ray

        if ray.cluster_resources().get("GPU"):
            return
        with pytest.raises(GpuUnavailable, match="--device gpu.*no GPU") as refused:
            render_scenes(RenderConfig(scenes="procedural:1", out=tmp_path / "gpu", resolution="64x48", spp=1,
                                       device="gpu"))
        assert refused.value.exit_code == 2 and not list((tmp_path / "gpu").glob("sim/*/*/meta.json"))
    finally:
        shutdown_ray()
    on, off = samples[True], samples[False]
    assert np.array_equal(on.ir_left, off.ir_left) and np.array_equal(on.ir_right, off.ir_right)
    assert np.array_equal(on.depth_raw, off.depth_raw)
    assert not np.array_equal(on.rgb, off.rgb)
    renderer = on.provenance["renderer"]
    assert renderer["denoising"]["ir"] is False and renderer["denoising"]["rgb"]["denoiser"] == "OPENIMAGEDENOISE"
    assert renderer["denoising"]["rgb"]["denoising_input_passes"] == "RGB_ALBEDO_NORMAL"
    assert off.provenance["renderer"]["denoising"]["rgb"] is False
    assert renderer["device"] == "CPU" and renderer["device_selection"]["requested"] == "cpu"
    # the profile's camera in the sample: 50 mm baseline, 160x88 IR at 87 deg, 240x136 RGB at 69 deg, offset RGB
    assert on.baseline_m == pytest.approx(0.05)
    assert on.ir_left.shape == (88, 160) and on.rgb.shape == (136, 240, 3)
    assert on.K_ir.fx == pytest.approx(80 / math.tan(math.radians(43.5)))
    assert on.K_rgb.fx == pytest.approx(120 / math.tan(math.radians(34.5)))
    assert on.T_rgb_from_ir[0, 3] == pytest.approx(0.015)
    camera = on.provenance["camera"]
    assert camera["name"] == "d435" and camera["ir_hfov_deg"] == 87.0 and camera["sources"]


def test_camera_from_a_captured_sample(tmp_path):
    """A captured sample's K_ir, K_rgb, baseline and T_rgb_from_ir become the rendered camera."""
    from depthcur.schemas import Intrinsics, write_sample
    from depthcur.synthetic import make_sample

    sample = make_sample("real/rig/0001", height=120, width=160, seed=2)
    sample.K_ir = Intrinsics(100.0, 100.0, 79.5, 59.5)
    sample.K_rgb = Intrinsics(80.0, 80.0, 79.5, 59.5)
    sample.T_rgb_from_ir = np.eye(4)
    sample.T_rgb_from_ir[0, 3] = 0.02                      # the RGB camera 2 cm left of the left IR camera
    folder = write_sample(tmp_path / "captured", sample)
    config = RenderConfig(camera="d435", camera_from_capture=folder)
    rig = sample_rig(np.random.default_rng(0), config.rig)
    assert config.rig.baseline_m == (sample.baseline_m, sample.baseline_m)
    assert config.ir_resolution == (160, 120) and config.resolution == (160, 120)
    assert rig.intrinsics(160, 120).fx == pytest.approx(100.0)
    assert rig.rgb_intrinsics(160, 120).fx == pytest.approx(80.0)
    assert rig.rgb_offset_m == pytest.approx(-0.02) and rig.T_rgb_from_ir()[0, 3] == pytest.approx(0.02)
    assert config.sgm.max_depth_m == 10.0                   # the rest comes from --camera d435
    assert config.camera_profile.name == "capture:0001"
    no_ir = make_sample("real/rig/0002", height=120, width=160, seed=2)
    no_ir.ir_left = no_ir.ir_right = None
    with pytest.raises(CameraProfileError, match="has no ir_left.*--camera-from-capture"):
        RenderConfig(camera_from_capture=write_sample(tmp_path / "captured", no_ir))
