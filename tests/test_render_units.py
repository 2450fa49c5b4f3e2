"""Fast render-stage tests that need neither Blender nor Ray: config, jobs, rig maths, SGM."""

from __future__ import annotations


import numpy as np
import pytest

from depthcur.render.config import IR_SCALE, RenderConfig, RigRanges, SgmConfig, parse_resolution
from depthcur.render.gallery import mask_ratio_summary
from depthcur.render.jobs import SceneSpecError, expand_scenes, make_jobs, sample_seed
from depthcur.render.rig import fibonacci_directions, look_at_matrix, right_camera_pose, sample_rig
from depthcur.render.sgm import disparity_range, sensor_depth
from depthcur.schemas.keys import KEY_PATTERN
from depthcur.synthetic import make_sample


def test_parse_resolution_and_ir_size():
    assert parse_resolution("1280x960") == (1280, 960)
    assert RenderConfig(resolution="1280x960").ir_resolution == (960, 720)
    assert RenderConfig(resolution="160x120").ir_resolution == (120, 90)
    for bad in ("1280", "12x8", "161x120", "axb"):
        with pytest.raises(ValueError, match=bad):
            parse_resolution(bad)


def test_expand_scenes_procedural_folder_glob(tmp_path):
    assert [s.scene_id for s in expand_scenes("procedural:3")] == [f"procedural_{i:04d}" for i in range(3)]
    (tmp_path / "Living Room.OBJ").write_text("v 0 0 0\n")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "chair.glb").write_bytes(b"x")
    (tmp_path / "notes.txt").write_text("not a scene")
    scenes = expand_scenes(str(tmp_path))
    assert [s.scene_id for s in scenes] == ["living_room_obj", "chair_glb"]
    assert [s.scene_id for s in expand_scenes(str(tmp_path / "*.OBJ"))] == ["living_room_obj"]
    jobs = make_jobs(RenderConfig(samples_per_scene=2), scenes)
    assert [j.key for j in jobs] == ["sim/living_room_obj/0000", "sim/living_room_obj/0001",
                                     "sim/chair_glb/0000", "sim/chair_glb/0001"]
    assert all(KEY_PATTERN.match(j.key) and "." not in j.key for j in jobs)


def test_expand_scenes_names_the_bad_input(tmp_path):
    with pytest.raises(SceneSpecError, match=str(tmp_path)):
        expand_scenes(str(tmp_path))                      # empty folder
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(SceneSpecError, match="notes.txt"):
        expand_scenes(str(tmp_path / "*.txt"))            # glob of non-scenes
    with pytest.raises(SceneSpecError, match="nothing"):
        expand_scenes(str(tmp_path / "missing" / "*.glb"))
    with pytest.raises(SceneSpecError, match="procedural:x"):
        expand_scenes("procedural:x")


def test_sample_seeds_are_stable_and_distinct():
    config = RenderConfig(samples_per_scene=3)
    jobs = make_jobs(config, expand_scenes("procedural:2"))
    seeds = [sample_seed(7, j) for j in jobs]
    assert seeds == [sample_seed(7, j) for j in jobs]
    assert len(set(seeds)) == len(seeds)
    assert seeds != [sample_seed(8, j) for j in jobs]


def test_rig_sampling_stays_in_range_and_intrinsics_follow_sensor_width():
    rng = np.random.default_rng(0)
    ranges = RigRanges()
    rigs = [sample_rig(rng, ranges) for _ in range(500)]
    baselines = np.array([r.baseline_m for r in rigs])
    focals = np.array([r.focal_mm for r in rigs])
    assert 0.05 <= baselines.min() and baselines.max() <= 0.2 and baselines.std() > 0.03
    assert 16 <= focals.min() and focals.max() <= 28 and focals.std() > 2
    rig = rigs[0]
    K = rig.intrinsics(1280, 960)
    assert K.fx == pytest.approx(rig.focal_mm / 36.0 * 1280)
    assert (K.cx, K.cy) == (639.5, 479.5)
    K_ir = rig.intrinsics(960, 720)
    scaled = K.scaled(IR_SCALE, IR_SCALE)
    assert np.allclose(K_ir.as_list(), scaled.as_list())


def test_look_at_and_right_camera():
    eye, target = np.array([1.0, 2.0, 1.5]), np.array([3.0, -1.0, 0.5])
    pose = look_at_matrix(eye, target)
    assert np.allclose(pose[:3, :3] @ pose[:3, :3].T, np.eye(3), atol=1e-9)
    forward = -pose[:3, 2]
    assert np.allclose(forward, (target - eye) / np.linalg.norm(target - eye))
    assert abs(pose[2, 0]) < 1e-9                          # image x axis stays level
    right = right_camera_pose(pose, 0.1)
    assert np.linalg.norm(right[:3, 3] - eye) == pytest.approx(0.1)
    assert (right[:3, 3] - eye) @ pose[:3, 0] == pytest.approx(0.1)
    dirs = fibonacci_directions(26)
    assert np.allclose(np.linalg.norm(dirs, axis=1), 1) and abs(dirs.mean(axis=0)).max() < 0.1


def test_disparity_range_is_a_multiple_of_16_and_capped():
    config = SgmConfig(min_depth_m=0.4)
    assert disparity_range(config, 747.0, 0.2, 960) == 384
    assert disparity_range(config, 50.0, 0.05, 120) == 16
    assert disparity_range(config, 90.0, 0.2, 120) == 48     # 45 px -> 48 (cap is 48 at width 120)
    assert disparity_range(config, 900.0, 0.2, 120) == 48


def test_sgm_recovers_disparity_of_an_analytic_pair():
    sample = make_sample("t/sgm", height=120, width=160, seed=3)
    fx, baseline = sample.K_ir.fx, sample.baseline_m
    result = sensor_depth(sample.ir_left, sample.ir_right, fx_ir=fx, baseline_m=baseline, config=SgmConfig())
    valid = (result.disparity > 0) & (sample.disparity_gt > 0)
    assert valid.mean() > 0.3
    assert np.median(np.abs(result.disparity - sample.disparity_gt)[valid]) < 0.5
    assert not result.disparity[:, :result.num_disparities].any()       # unmatched left strip masked
    depth = result.depth_ir[valid]
    assert np.allclose(depth, fx * baseline / result.disparity[valid], rtol=1e-5)
    assert {"uniqueness_ratio", "disp12_max_diff", "speckle_window_size", "speckle_range", "P1", "P2",
            "num_disparities", "block_size", "ir_noise_std"} <= set(result.params)


def test_sensor_filters_only_remove_pixels():
    """The explicit LR check and the ZNCC threshold each drop pixels of plain SGBM, never add any."""
    sample = make_sample("t/filters", height=120, width=160, seed=5)
    kwargs = dict(fx_ir=sample.K_ir.fx, baseline_m=sample.baseline_m)
    plain = sensor_depth(sample.ir_left, sample.ir_right, config=SgmConfig(min_match_correlation=0.0), **kwargs)
    for changes in ({"explicit_lr_check": True, "min_match_correlation": 0.0}, {"min_match_correlation": 0.5}):
        filtered = sensor_depth(sample.ir_left, sample.ir_right, config=SgmConfig(**changes), **kwargs).disparity
        kept = filtered > 0
        assert 0 < kept.sum() < (plain.disparity > 0).sum()
        assert np.array_equal(filtered[kept], plain.disparity[kept])


def test_extra_ir_noise_lowers_sgm_coverage():
    sample = make_sample("t/noise", height=120, width=160, seed=4)
    kwargs = dict(fx_ir=sample.K_ir.fx, baseline_m=sample.baseline_m)
    clean = sensor_depth(sample.ir_left, sample.ir_right, config=SgmConfig(), **kwargs)
    noisy = sensor_depth(sample.ir_left, sample.ir_right, config=SgmConfig(ir_noise_std=40.0), **kwargs)
    assert (noisy.disparity > 0).mean() < (clean.disparity > 0).mean()


def test_mask_ratio_summary():
    summary = mask_ratio_summary({"a": 0.15, "b": 0.35, "c": 0.85})
    assert summary["count"] == 3 and summary["mean"] == pytest.approx(0.45)
    assert summary["histogram"]["counts"] == [0, 1, 0, 1, 0, 0, 0, 0, 1, 0]


def test_cli_rejects_a_bad_resolution_naming_the_flag(tmp_path):
    from typer.testing import CliRunner

    from depthcur.cli import app

    result = CliRunner().invoke(app, ["render", "--resolution", "161x120", "--out", str(tmp_path / "o")])
    assert result.exit_code == 2
    assert "--resolution" in result.output and "161x120" in result.output
    assert not (tmp_path / "o").exists()


def test_cli_reads_a_config_file(tmp_path):
    from typer.testing import CliRunner

    from depthcur.cli import app

    config = tmp_path / "render.yaml"
    config.write_text(f"scenes: {tmp_path / 'nothing_here'}\nout: {tmp_path / 'o'}\n")
    result = CliRunner().invoke(app, ["render", "--config", str(config)])
    assert result.exit_code == 2
    assert "nothing_here" in result.output
