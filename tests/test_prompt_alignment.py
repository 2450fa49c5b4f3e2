"""Sparse prompts as MetricAnything samples them, GMDR/PDSA as Prior Depth Anything defines them, the priors."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from depthcur.core.exits import UsageError
from depthcur.train.config import ConfigError, config_from_dict, load_config, preset_config
from depthcur.train.depthpro_prior import DepthProUnavailable
from depthcur.train.priors import prior_for_training
from depthcur.train.prompt_alignment import gmdr, nearest_prompts, nearest_prompts_on_grid, pdsa
from depthcur.train.prompts import prompt_count, prompt_input, sample_prompt

torch.set_num_threads(1)

# a 1 x 4 image: prompts at columns 0, 1, 3, the query pixel at column 2 (pixel distances 2, 1, 1)
PRIOR_DISPARITY = np.array([[1.0, 2.0, 3.0, 4.0]])
PROMPT_DISPARITY = np.array([[1.0, 3.0, 0.0, 4.0]])


def depth_of(disparity: np.ndarray) -> np.ndarray:
    return np.where(disparity > 0, 1.0 / np.where(disparity > 0, disparity, 1.0), 0.0).astype(np.float32)


def affine_in_disparity_case(h: int = 48, w: int = 64, count: int = 300, seed: int = 0):
    """A truth depth, a prior whose disparity is an exact affine map of the truth's, and a prompt of the truth."""
    ys, xs = np.mgrid[0:h, 0:w]
    truth = (1.5 + np.sin(xs / 9.0) + ys / 30.0).astype(np.float32)
    prior = depth_of((1.0 / truth - 0.05) / 1.7)      # truth disparity = 1.7 * prior disparity + 0.05
    prompt = sample_prompt(truth, count, np.random.default_rng(seed))
    return truth, prior, prompt


def test_prompt_count_is_the_papers_range_at_1536_and_scales_with_pixel_count():
    cfg = load_config("large").prompt
    rng = np.random.default_rng(0)
    paper = [prompt_count(cfg, 1536, 1536, rng) for _ in range(400)]
    assert 2000 <= min(paper) and max(paper) <= 40000
    assert 0.008 < np.mean(paper) / 1536 ** 2 < 0.010            # "around 1 %": mean 21,000 of 2.36 M pixels
    at_480 = [prompt_count(cfg, 480, 640, rng) for _ in range(400)]
    ratio = 480 * 640 / 1536 ** 2
    assert round(2000 * ratio) <= min(at_480) and max(at_480) <= round(40000 * ratio)   # 260 .. 5,208
    assert prompt_count(cfg, 8, 8, rng) == cfg.min_count
    few_valid = np.zeros((48, 64), np.float32)
    few_valid[3, 5:12] = 2.0
    assert (sample_prompt(few_valid, 1000, rng) > 0).sum() == 7  # clipped to the valid pixel count


@pytest.mark.parametrize("align", [gmdr, pdsa])
def test_a_prior_affine_in_disparity_is_recovered_exactly_and_prompt_pixels_are_unchanged(align):
    truth, prior, prompt = affine_in_disparity_case()
    aligned = align(prior, prompt)
    np.testing.assert_allclose(aligned, truth, rtol=2e-5)
    on_prompt = prompt > 0
    np.testing.assert_array_equal(aligned[on_prompt], prompt[on_prompt])


def test_pdsa_of_three_prompt_pixels_matches_the_hand_computed_weighted_fit():
    # rows weighted by normalised inverse distance (0.2, 0.4, 0.4), so squared residuals by 1 : 4 : 4:
    # scale 684/936 = 19/26, shift 29/9 - 19/26 * 25/9 = 31/26, disparity 19/26 * 3 + 31/26 = 44/13
    out = pdsa(depth_of(PRIOR_DISPARITY), depth_of(PROMPT_DISPARITY), k=5)
    assert out[0, 2] == pytest.approx(13 / 44, rel=1e-6)
    np.testing.assert_array_equal(out[0, [0, 1, 3]], depth_of(PROMPT_DISPARITY)[0, [0, 1, 3]])


def test_gmdr_of_three_prompt_pixels_matches_the_hand_computed_global_fit():
    # unweighted: scale 39/42 = 13/14, shift 8/3 - 13/14 * 7/3 = 1/2, disparity 13/14 * 3 + 1/2 = 23/7
    out = gmdr(depth_of(PRIOR_DISPARITY), depth_of(PROMPT_DISPARITY))
    assert out[0, 2] == pytest.approx(7 / 23, rel=1e-6)


def test_pdsa_of_a_flat_prior_is_inverse_distance_interpolation_of_the_prompt():
    out = pdsa(np.full((1, 4), 2.0, np.float32), depth_of(PROMPT_DISPARITY))
    assert out[0, 2] == pytest.approx(9 / 29, rel=1e-6)          # disparity (1*1 + 4*3 + 4*4) / 9 = 29/9


def test_invalid_prior_pixels_stay_invalid_and_prompts_over_them_are_kept():
    truth, prior, prompt = affine_in_disparity_case()
    prior[:, :5] = 0
    for align in (gmdr, pdsa):
        out = align(prior, prompt)
        hole = np.zeros_like(prompt, bool)
        hole[:, :5] = True
        assert (out[hole & (prompt == 0)] == 0).all()
        np.testing.assert_array_equal(out[prompt > 0], prompt[prompt > 0])
        np.testing.assert_allclose(out[~hole], truth[~hole], rtol=2e-5)


def test_grid_nearest_neighbours_equal_brute_force():
    rng = np.random.default_rng(3)
    h, w, k = 37, 53, 5
    clustered = np.concatenate([rng.normal((8, 10), 3, (40, 2)), rng.uniform((0, 0), (h, w), (25, 2))])
    cells = np.unique(np.clip(np.round(clustered), 0, (h - 1, w - 1)), axis=0)
    prompts = torch.tensor(cells, dtype=torch.float64)
    pixels = torch.stack(torch.meshgrid(torch.arange(h, dtype=torch.float64), torch.arange(w, dtype=torch.float64),
                                        indexing="ij"), -1).reshape(-1, 2)
    grid_d, grid_i = nearest_prompts_on_grid(h, w, prompts, k)
    brute_d, _ = nearest_prompts(pixels, prompts, k)
    torch.testing.assert_close(grid_d, brute_d, rtol=0, atol=1e-12)
    torch.testing.assert_close(torch.linalg.norm(pixels[:, None] - prompts[grid_i], dim=2), grid_d)


def test_prompt_input_stacks_pdsa_gmdr_and_the_mask():
    truth, prior, prompt = affine_in_disparity_case(24, 32, 60)
    channels = prompt_input(prior, prompt)
    assert channels.shape == (3, 24, 32) and channels.dtype == np.float32
    np.testing.assert_array_equal(channels[2], (prompt > 0).astype(np.float32))
    np.testing.assert_allclose(channels[0], truth, rtol=2e-5)
    np.testing.assert_allclose(channels[1], truth, rtol=2e-5)


def test_prior_choice_errors_name_the_option_and_what_to_supply(tmp_path):
    assert prior_for_training("auto", None).kind == "flat"
    with pytest.raises(UsageError, match="--prior"):
        prior_for_training("mdm", None)
    with pytest.raises(UsageError, match="--prompt-prior flat"):
        prior_for_training("flat", tmp_path)
    with pytest.raises(DepthProUnavailable, match="does not exist.*ml-depth-pro"):
        prior_for_training("depthpro", tmp_path / "missing")
    with pytest.raises(DepthProUnavailable, match="not a clone of apple/ml-depth-pro"):
        prior_for_training("depthpro", tmp_path)
    clone = tmp_path / "ml-depth-pro"
    (clone / "src" / "depth_pro").mkdir(parents=True)
    (clone / "src" / "depth_pro" / "depth_pro.py").write_text("")
    with pytest.raises(DepthProUnavailable, match=r"no checkpoint .*depth_pro\.pt"):
        prior_for_training("auto", clone)          # auto recognises the clone


def test_runs_saved_with_the_retired_gaussian_pdsa_width_still_load():
    saved = preset_config("tiny").to_dict()
    del saved["prompt"]["pdsa_neighbours"]
    saved["prompt"]["pdsa_sigma"] = 0.08          # what runs before the PriorDA alignment saved
    assert config_from_dict(saved).prompt.pdsa_neighbours == 5
    saved["prompt"]["not_an_option"] = 1
    with pytest.raises(ConfigError, match="not_an_option"):
        config_from_dict(saved)


def test_a_distill_checkpoint_is_the_student_prior_and_not_an_mdm_one(tmp_path):
    from depthcur.train import checkpoint as ckpt
    from depthcur.train.stages import DistillStage

    cfg = preset_config("tiny")
    student = DistillStage(cfg).build_model().eval()
    path = tmp_path / "student.pt"
    ckpt.save_atomic({"stage": "distill", "step": 1, "config": cfg.to_dict(), "model": student.state_dict(),
                      "extras": {}}, path)
    prior = prior_for_training("student", path)
    assert prior.kind == "student" and prior_for_training("auto", path).kind == "student"
    rgb = torch.rand(2, 3, 28, 42)
    with torch.no_grad():
        expected = student(rgb).numpy()
    np.testing.assert_allclose(prior(rgb), expected, rtol=1e-5, atol=1e-6)
    with pytest.raises(UsageError, match="holds a 'distill' checkpoint"):
        prior_for_training("mdm", path)
