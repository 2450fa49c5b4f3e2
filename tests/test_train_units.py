"""Unit tests of the train stage against hand-computed values and properties."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from depthcur.train.config import ConfigError, MaskConfig, load_config
from depthcur.train.losses import distance_balanced, l1_valid, log_distance, robust_mae, ssi_mage
from depthcur.train.loop import lr_factor, make_optimizer
from depthcur.train.masking import depth_token_mask, patch_valid_fraction
from depthcur.train.models import (BackboneSpec, DinoBackbone, PromptNet, RGBDViT, count_parameters,
                                   dinov2_key_shapes, load_dinov2_weights)
from depthcur.train.models.lingbot import LingbotDepth
from depthcur.train.stages.mdm import network_config

torch.set_num_threads(1)


def smooth_field(h: int, w: int, seed: int) -> np.ndarray:
    ys, xs = np.mgrid[0:h, 0:w] / np.array([h, w])[:, None, None]
    rng = np.random.default_rng(seed)
    a, b, c = rng.uniform(0.5, 1.5, 3)
    return (2.0 + a * np.sin(2.0 * xs + b) + 0.5 * c * ys).astype(np.float32)


# ---------------------------------------------------------------- losses

def test_robust_mae_drops_exactly_the_top_20_percent():
    target = torch.arange(1, 11, dtype=torch.float32).reshape(1, 2, 5)
    pred = torch.zeros_like(target)
    valid = torch.ones_like(target, dtype=torch.bool)
    # residuals 1..10: the two largest (9, 10) are dropped -> mean(1..8) = 4.5
    assert robust_mae(pred, target, valid).item() == pytest.approx(4.5)
    # 9 valid pixels (10 excluded): floor(1.8) = 1 dropped (9) -> mean(1..8) = 4.5 again
    valid[0, 1, 4] = False
    assert robust_mae(pred, target, valid).item() == pytest.approx(4.5)
    # an outlier in the dropped share does not move the loss
    target2 = target.clone()
    target2[0, 1, 3] = 1e6
    valid2 = torch.ones_like(valid)
    assert robust_mae(pred, target2, valid2).item() == pytest.approx(robust_mae(pred, target, torch.ones_like(valid)).item())


def test_l1_valid_ignores_invalid_pixels():
    pred = torch.tensor([[[1.0, 2.0, 5.0]]])
    gt = torch.tensor([[[2.0, 2.0, 0.0]]])
    assert l1_valid(pred, gt, gt > 0).item() == pytest.approx(0.5)


def test_ssi_mage_is_zero_for_scaled_and_shifted_copy_and_positive_otherwise():
    gt = torch.from_numpy(smooth_field(64, 80, 0))[None]
    valid = torch.ones_like(gt, dtype=torch.bool)
    valid[:, :5, :7] = False
    assert ssi_mage(3.0 * gt + 2.0, gt, valid).item() == pytest.approx(0.0, abs=1e-5)
    assert ssi_mage(0.2 * gt - 7.0, gt, valid).item() == pytest.approx(0.0, abs=1e-5)
    other = torch.from_numpy(smooth_field(64, 80, 1))[None]
    assert ssi_mage(other, gt, valid).item() > 1e-3
    assert ssi_mage(-gt, gt, valid).item() > 1e-3  # a flipped sign is not a valid scale


def test_distance_balanced_loss_hand_values():
    # C = e^2: D_log(e) = 1 - 1/2 = 0.5, D_log(1) = 1 -> |0.5 - 1| = 0.5; second pixel exact -> mean 0.25
    pred = torch.tensor([[[math.e, 1.0]]])
    gt = torch.tensor([[[1.0, 1.0]]])
    valid = torch.ones_like(gt, dtype=torch.bool)
    assert distance_balanced(pred, gt, valid, log_base=math.e ** 2).item() == pytest.approx(0.25)
    # C = 400: D_log(400) = 0 and D_log(1) = 1
    assert log_distance(torch.tensor([400.0, 1.0])).tolist() == pytest.approx([0.0, 1.0])
    assert distance_balanced(torch.tensor([[[400.0]]]), torch.tensor([[[1.0]]]),
                             torch.ones(1, 1, 1, dtype=torch.bool)).item() == pytest.approx(1.0)
    # equal relative error weighs the same near and far: log compresses distance
    near = distance_balanced(torch.tensor([[[1.1]]]), torch.tensor([[[1.0]]]), torch.ones(1, 1, 1, dtype=torch.bool))
    far = distance_balanced(torch.tensor([[[110.0]]]), torch.tensor([[[100.0]]]), torch.ones(1, 1, 1, dtype=torch.bool))
    assert near.item() == pytest.approx(far.item(), rel=1e-5)


# ---------------------------------------------------------------- masking

@st.composite
def depth_with_holes(draw):
    gh, gw = draw(st.integers(2, 6)), draw(st.integers(2, 6))
    patch = 4
    depth = np.full((gh * patch, gw * patch), 2.0, np.float32)
    holes = draw(st.lists(st.tuples(st.integers(0, gh * patch - 1), st.integers(0, gw * patch - 1),
                                    st.integers(1, 12), st.integers(1, 12)), max_size=6))
    for y, x, hh, ww in holes:
        depth[y:y + hh, x:x + ww] = 0
    return depth, patch, draw(st.integers(0, 2 ** 31 - 1))


@settings(max_examples=150, deadline=None)
@given(depth_with_holes())
def test_masking_properties(case):
    depth, patch, seed = case
    cfg = MaskConfig()
    mask = depth_token_mask(depth, patch, cfg, np.random.default_rng(seed))
    frac = patch_valid_fraction(depth, patch).ravel()
    assert mask.shape == frac.shape and mask.dtype == bool
    assert mask[frac == 0].all(), "an all-invalid depth patch was left visible"
    ratio = mask.mean()
    assert ratio >= cfg.ratio_range[0] - 1e-9
    n = frac.size
    coarse = math.ceil(cfg.ratio_range[0] * n - 1e-9) > math.floor(cfg.ratio_range[1] * n + 1e-9)
    if not coarse:
        assert ratio <= max(cfg.ratio_range[1], (frac == 0).mean()) + 1e-9


def test_masked_depth_tokens_are_hidden_and_rgb_tokens_always_kept():
    torch.manual_seed(0)
    spec = BackboneSpec(embed_dim=32, depth=2, num_heads=2, pos_grid=4, layerscale_init=1.0)
    vit = RGBDViT(spec).eval()
    rgb = torch.randn(1, 3, 28, 42)
    depth = torch.rand(1, 1, 28, 42) + 1
    mask = torch.tensor([[True, False, True, False, True, False]])
    out = vit(rgb, depth, mask)
    assert out.rgb_tokens[0].shape == (1, 6, 32)  # every RGB token comes out
    changed = depth.clone()
    changed[..., :14, :14] += 5.0  # patch 0 is masked: its content must not matter
    np.testing.assert_allclose(vit(rgb, changed, mask).rgb_tokens[0].detach(), out.rgb_tokens[0].detach(), atol=1e-6)
    changed[..., :14, 14:28] += 5.0  # patch 1 is visible: it must matter
    assert not torch.allclose(vit(rgb, changed, mask).rgb_tokens[0], out.rgb_tokens[0], atol=1e-4)
    # monocular (all masked) equals giving no depth at all except the modality embedding path
    all_masked = vit(rgb, depth, torch.ones(1, 6, dtype=torch.bool)).rgb_tokens[0]
    assert torch.isfinite(all_masked).all()


# ---------------------------------------------------------------- models

def test_dinov2_named_state_dict_loads_strictly(tmp_path):
    spec = BackboneSpec(embed_dim=32, depth=3, num_heads=2, pos_grid=5, num_register_tokens=4)
    gen = torch.Generator().manual_seed(0)
    official = {k: torch.randn(shape, generator=gen) for k, shape in dinov2_key_shapes(spec).items()}
    path = tmp_path / "dinov2_tiny_reg4.pth"
    torch.save({"teacher": {f"backbone.{k}": v for k, v in official.items()}}, path)  # training-checkpoint layout
    backbone = DinoBackbone(spec)
    load_dinov2_weights(backbone, str(path))
    state = backbone.state_dict()
    assert set(state) == set(official)
    for key, value in official.items():
        torch.testing.assert_close(state[key], value)
    # a missing tensor is an error naming the file
    broken = dict(official)
    broken.pop("blocks.2.ls2.gamma")
    torch.save(broken, tmp_path / "broken.pth")
    with pytest.raises(ValueError, match="broken.pth"):
        load_dinov2_weights(DinoBackbone(spec), str(tmp_path / "broken.pth"))
    with pytest.raises(FileNotFoundError, match="cannot be downloaded"):
        load_dinov2_weights(DinoBackbone(spec), str(tmp_path / "absent.pth"))


def test_vit_large_matches_dinov2_vitl14_layout():
    spec = load_config("large").model.backbone_spec()
    with torch.device("meta"):
        backbone = DinoBackbone(spec)
    shapes = {k: tuple(v.shape) for k, v in backbone.state_dict().items()}
    assert shapes == dinov2_key_shapes(spec)
    assert shapes["pos_embed"] == (1, 1370, 1024) and shapes["blocks.23.mlp.fc1.weight"] == (4096, 1024)


def test_prompt_injection_is_zero_initialised_and_about_5_percent():
    cfg = load_config("large").model
    with torch.device("meta"):
        net = PromptNet(cfg.backbone_spec(), cfg.dpt_features, cfg.prompt_width, cfg.prompt_blocks)
    extra = count_parameters(net, "prompt_")
    assert 0.03 < extra / (count_parameters(net) - extra) < 0.07
    tiny = load_config("tiny").model
    torch.manual_seed(0)
    small = PromptNet(tiny.backbone_spec(), tiny.dpt_features, tiny.prompt_width, tiny.prompt_blocks).eval()
    rgb = torch.rand(1, 3, 42, 56)
    a = small(rgb, torch.rand(1, 3, 42, 56) + 0.5)
    b = small(rgb, torch.rand(1, 3, 42, 56) * 3 + 0.5)
    torch.testing.assert_close(a, b)  # the conditioned head starts as the plain head


def tiny_mdm(**model_overrides) -> LingbotDepth:
    cfg = load_config("tiny").model
    return LingbotDepth(**{**network_config(cfg), **model_overrides})


def test_mdm_net_any_size_and_monocular():
    net = tiny_mdm().eval()
    rgb = torch.rand(2, 3, 70, 98)
    out = net(rgb, torch.rand(2, 70, 98) + 1, depth_mask=torch.zeros(2, 35, dtype=torch.bool))
    assert out["depth"].shape == out["mask_logits"].shape == (2, 70, 98) and (out["depth"] > 0).all()
    assert net(rgb)["depth"].shape == (2, 70, 98)
    assert net(rgb, num_tokens=80)["depth"].shape == (2, 70, 98)   # another token budget, same output size


def test_push_pull_fill_keeps_valid_pixels_and_interpolates_holes():
    from depthcur.train.models.depth_prior import push_pull_fill

    ys, xs = torch.meshgrid(torch.arange(40.0), torch.arange(60.0), indexing="ij")
    ramp = (1.0 + 0.05 * xs + 0.02 * ys)[None]
    valid = torch.rand(1, 40, 60, generator=torch.Generator().manual_seed(0)) < 0.3
    valid[:, 10:30, 20:45] = False                       # one big hole in the middle
    filled = push_pull_fill(ramp, valid)
    assert torch.equal(filled[valid], ramp[valid])
    hole = ~valid
    # a smooth interpolation of a plane: 10x closer than the mean of the valid pixels
    constant_error = (ramp[hole] - ramp[valid].mean()).abs().mean()
    assert (filled[hole] - ramp[hole]).abs().mean() < 0.1 * constant_error
    assert torch.equal(push_pull_fill(ramp, torch.zeros_like(valid)), torch.zeros_like(ramp))


def test_fill_prior_ignores_isolated_specks_inside_holes():
    from depthcur.train.models.depth_prior import drop_specks, log_depth_prior

    depth = torch.full((1, 28, 42), 2.0)
    depth[:, :, :21] = 0                      # a hole over the left half ...
    depth[:, 10, 8] = 0.3                     # ... with one wrong stereo pixel in it
    kept = drop_specks(depth > 0)
    assert not kept[0, 10, 8] and torch.equal(kept[0, :, 21:], (depth > 0)[0, :, 21:])
    prior = log_depth_prior("fill", depth, None, 14, torch.rand(1, 3, 28, 42))
    torch.testing.assert_close(prior.exp(), torch.full_like(prior, 2.0))   # the speck did not spread


def test_mdm_with_fill_prior_starts_as_the_classical_fill_of_what_it_sees():
    from depthcur.train.models.depth_prior import visible_depth

    torch.manual_seed(0)
    net = tiny_mdm(depth_prior="fill").eval()
    depth = torch.from_numpy(smooth_field(42, 56, 1))[None]
    depth[:, :, :10] = 0                                   # a stereo-style invalid strip
    mask = torch.zeros(1, 12, dtype=torch.bool)
    mask[0, 5] = True                                      # one depth token hidden from the model
    out = net(torch.rand(1, 3, 42, 56), depth, depth_mask=mask)["depth"]
    seen = visible_depth(depth, mask, 14)
    assert (seen[0, 14:28, 14:28] == 0).all() and (seen[0, :14, 14:28] > 0).all()
    # residual head starts at zero: visible pixels come back exactly, the rest is the fill
    torch.testing.assert_close(out[seen > 0], depth[seen > 0], rtol=1e-5, atol=1e-5)
    assert (out[0, :, :10] > 0).all() and ((out[0, :, :10] - depth[0, :, 10:11]).abs() < 1.0).all()
    monocular = net(torch.rand(1, 3, 42, 56))["depth"]
    torch.testing.assert_close(monocular, torch.full_like(monocular, math.exp(0.7)))


# ---------------------------------------------------------------- config and schedule

def test_config_files_validate_and_name_the_problem(tmp_path):
    good = tmp_path / "cfg.yaml"
    good.write_text("preset: tiny\nmodel: {depth: 3}\ndata: {crop: [42, 56], weights: {sim: 2}}\n")
    cfg = load_config(good)
    assert cfg.model.depth == 3 and cfg.crop == (42, 56) and cfg.data.weights == {"sim": 2.0}
    bad = tmp_path / "bad.toml"
    bad.write_text("preset = 'tiny'\n[model]\nembed_dim = 49\n")
    with pytest.raises(ConfigError, match=r"bad.toml.*divisible"):
        load_config(bad)
    typo = tmp_path / "typo.yaml"
    typo.write_text("preset: tiny\noptim: {lr_bakbone: 1.0}\n")
    with pytest.raises(ConfigError, match="optim.lr_bakbone"):
        load_config(typo)
    with pytest.raises(ConfigError, match="preset"):
        load_config("huge")


def test_optimizer_groups_and_schedule():
    cfg = load_config("large")
    assert lr_factor(0, cfg, True) == pytest.approx(1 / 2000)
    assert lr_factor(1999, cfg, True) == pytest.approx(1.0)
    assert lr_factor(25000, cfg, True) == pytest.approx(0.5)
    assert lr_factor(50000, cfg, False) == pytest.approx(0.25)
    assert lr_factor(10, cfg, False) == 1.0  # the head is not warmed up
    tiny = load_config("tiny")
    net = tiny_mdm()
    opt, _ = make_optimizer(net, tiny)
    by_kind = {}
    for group in opt.param_groups:
        by_kind.setdefault(group["kind"], []).append(group)
    backbone_ids = {id(p) for g in by_kind["backbone"] for p in g["params"]}
    assert backbone_ids == {id(p) for n, p in net.named_parameters() if "backbone" in n and p.requires_grad}
    # as in the official module tree, the depth patch embedding trains at the backbone rate
    assert id(net.encoder.backbone.depth_patch_embed.proj.weight) in backbone_ids
    assert id(net.encoder.output_projections[0].weight) not in backbone_ids
    assert opt.defaults["betas"] == (0.9, 0.999)
    assert {g["weight_decay"] for g in opt.param_groups} == {0.0, 0.05}


# ---------------------------------------------------------------- pictures

def test_training_preview_follows_the_shared_picture_conventions(tmp_path):
    from depthcur.core.pictures import ERROR_INVALID_COLOUR
    from depthcur.train.visualize import preview_image, write_loss_curve

    size, patch = 28, 14
    gt = torch.linspace(1.0, 4.0, size * size).reshape(1, size, size)   # near at the top, far at the bottom
    gt[0, 0] = 0.0                                                      # no target on the first row
    pred = gt.clone()
    pred[0, -1] += 1.0                                                  # last row 1 m off: saturated error
    batch = {"rgb": torch.zeros(1, 3, size, size), "depth_gt": gt, "depth_raw": gt.clone(),
             "depth_mask": torch.tensor([[True, False, False, False]])}
    image = preview_image(batch, pred, patch)
    scale = 480 // (5 * size) + 1                                       # small previews are enlarged

    def pixel(panel: int, y: int, x: int) -> np.ndarray:
        return image[18 + y * scale, (panel * size + x) * scale].astype(int)

    assert tuple(pixel(1, 5, 5)) == (90, 90, 90)                       # masked depth token greyed
    near, far = pixel(3, 1, 5), pixel(3, size - 1, 5)
    assert near[0] > near[2] and far[2] > far[0]                        # target: near red, far blue
    assert tuple(pixel(4, 0, 5)) == ERROR_INVALID_COLOUR                # error unknown without a target
    assert pixel(4, 10, 5).sum() < 10 and pixel(4, size - 1, 5).sum() > 400
    (tmp_path / "metrics.csv").write_text("step,loss\n" + "".join(f"{s},{1 / (s + 1)}\n" for s in range(20)))
    assert write_loss_curve(tmp_path, "t").read_bytes().startswith(b"\x89PNG")


def test_one_table_maps_stage_names_to_classes_and_checkpoints_are_checked_against_it(tmp_path):
    from depthcur.train import checkpoint
    from depthcur.train.inference import load_predictor
    from depthcur.train.stages import STAGES, DistillStage, MDMStage, PromptStage, stage_class

    assert STAGES == {"mdm": MDMStage, "prompt": PromptStage, "distill": DistillStage}
    assert all(stage_class(name).name == name for name in STAGES)
    with pytest.raises(ValueError, match="unknown stage 'mono'; use one of mdm, prompt, distill"):
        stage_class("mono")
    path = tmp_path / "foreign.pt"
    checkpoint.save_atomic({"stage": "mono", "config": load_config("tiny").to_dict(), "model": {}}, path)
    with pytest.raises(ValueError, match=r"foreign.pt: unknown stage 'mono'"):
        load_predictor(path)


def test_init_backbone_loads_plain_dinov2_into_the_mdm_backbone(tmp_path):
    """``--init-backbone`` fills every DINOv2 tensor of the MDM ViT; the depth patch embedding,
    which DINOv2 does not have, keeps its initial values."""
    net = tiny_mdm()
    backbone = net.encoder.backbone
    gen = torch.Generator().manual_seed(0)
    official = {k: torch.randn(shape, generator=gen) for k, shape in dinov2_key_shapes(backbone.spec).items()}
    torch.save(official, tmp_path / "dinov2.pth")
    depth_embed = backbone.depth_patch_embed.proj.weight.clone()
    load_dinov2_weights(backbone, str(tmp_path / "dinov2.pth"))
    assert all(torch.equal(backbone.state_dict()[k], v) for k, v in official.items())
    assert torch.equal(backbone.depth_patch_embed.proj.weight, depth_embed)


@pytest.mark.parametrize("preset", ["tiny", "small", "base", "large"])
def test_every_preset_is_a_config_of_the_lingbot_network(preset):
    """Each preset builds the one MDM network; the ViT and decoder widths are the preset's."""
    from depthcur.train.stages import MDMStage

    cfg = load_config(preset)
    with torch.device("meta"):   # shapes only: no memory for ViT-L
        net = MDMStage(cfg).build_model()
    assert isinstance(net, LingbotDepth)
    assert net.encoder.spec.embed_dim == cfg.model.embed_dim and len(net.encoder.backbone.blocks) == cfg.model.depth
    assert net.neck.input_blocks[0].in_channels == cfg.model.embed_dim + 2
    assert [blocks.out_channels for blocks in net.depth_head.input_blocks] == list(cfg.model.decoder_channels)
    if preset in ("tiny", "small"):   # and it runs (the larger ones have the same layout)
        out = MDMStage(cfg).build_model().eval()(torch.rand(1, 3, 28, 42), torch.rand(1, 28, 42) + 1)
        assert out["depth"].shape == (1, 28, 42) and torch.isfinite(out["depth"]).all()


def test_aspect_range_gives_batches_their_own_whole_patch_shapes_and_resumes_exactly(tmp_path):
    """With data.aspect_range on, MDM trains on batches of several shapes, each whole patches with about the
    crop's pixel count; a run resumed from its step-3 checkpoint draws the same shapes and losses."""
    import shutil

    from depthcur.synthetic import make_sample
    from depthcur.train.data.mixing import memory_stream
    from depthcur.train.loop import Trainer
    from depthcur.train.stages import MDMStage

    cfg = load_config("tiny")
    cfg.data.aspect_range, cfg.run.steps, cfg.run.checkpoint_every = (0.5, 2.0), 6, 3
    shapes: list[tuple[int, int]] = []

    class ShapeRecordingMDM(MDMStage):
        def prepare(self, items, rng):
            batch = super().prepare(items, rng)
            shapes.append(tuple(batch["rgb"].shape[2:]))
            return batch

    def stream():
        return [memory_stream("sim", [make_sample(f"synthetic/s{i:03d}", height=60, width=80, seed=i)
                                      for i in range(4)])]

    full = Trainer(ShapeRecordingMDM(cfg), cfg, stream(), tmp_path / "full").run()
    full_shapes = list(shapes)
    patch, crop_pixels = cfg.model.patch_size, cfg.crop[0] * cfg.crop[1]
    assert len(full_shapes) == 6 and len(set(full_shapes)) > 1, full_shapes
    for height, width in full_shapes:
        assert height % patch == 0 and width % patch == 0
        assert 0.85 < height * width / crop_pixels < 1.15, (height, width)
    assert all(math.isfinite(loss) for loss in full.losses)

    shutil.copytree(tmp_path / "full", tmp_path / "resumed")
    (tmp_path / "resumed" / "checkpoints" / "step_00000006.pt").unlink()
    shapes.clear()
    resumed = Trainer(ShapeRecordingMDM(cfg), cfg, stream(), tmp_path / "resumed", resume=True).run()
    assert shapes == full_shapes[3:] and resumed.losses == full.losses[3:]


def test_aspect_range_off_keeps_the_crop_and_must_start_above_zero():
    from depthcur.train.augment import batch_crop_shape

    assert batch_crop_shape((56, 70), (0.0, 0.0), 14, np.random.default_rng(0)) == (56, 70)
    assert load_config("tiny").data.aspect_range == (0.0, 0.0)
    assert load_config("large").data.aspect_range == (0.5, 2.0)
    cfg = load_config("tiny")
    cfg.data.aspect_range = (0.0, 2.0)
    with pytest.raises(ConfigError, match="aspect_range"):
        cfg.validate()
