"""depthcur's MetricAnything networks against the released Student-DepthMap.

The fixture (../shared/fixtures/metric-anything, see its README) lists every key and shape of the
released state dict and holds the official ``infer`` output for weights made by a rule.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from depthcur.train import load_model
from depthcur.train.models.depthpro import merge_tiles, split_tiles
from depthcur.train.models.dinov3 import VITH16PLUS, DinoV3, swiglu_hidden
from depthcur.train.models.metric_anything import (RELEASED, MetricAnythingStudent, MetricAnythingTeacher,
                                                   load_student_strictly, multires_spec)
from tests.test_lingbot_parity import fixture_weights

FIXTURES = Path(__file__).resolve().parents[2] / "shared" / "fixtures" / "metric-anything"
SHAPES = FIXTURES / "student_depthmap_state_dict_shapes.json"
OUTPUTS = FIXTURES / "student_depthmap_seed7.npz"

needs_shapes = pytest.mark.skipif(not SHAPES.is_file(), reason=f"fixture {SHAPES} not present")


@pytest.fixture(scope="module")
def released_shapes() -> dict[str, list[int]]:
    return json.loads(SHAPES.read_text())


def meta_state(shapes: dict[str, list[int]]) -> dict[str, torch.Tensor]:
    return {k: torch.empty(s, device="meta") for k, s in shapes.items()}


@needs_shapes
def test_released_config_has_every_key_and_shape(released_shapes):
    with torch.device("meta"):
        model = MetricAnythingStudent(RELEASED)
    ours = {k: list(v.shape) for k, v in model.state_dict().items()}
    assert ours == released_shapes
    # parameters = the JSON's tensors minus the buffers (RoPE periods, 32 qkv bias masks)
    buffers = {k for k, _ in model.named_buffers()}
    assert buffers == {k for k in released_shapes if k.endswith(("periods", "bias_mask"))}
    expected = sum(int(np.prod(s)) for k, s in released_shapes.items() if k not in buffers)
    assert sum(p.numel() for p in model.parameters()) == expected == 876_664_001


def test_released_teacher_prompt_layers_are_about_5_percent():
    with torch.device("meta"):
        teacher = MetricAnythingTeacher(RELEASED)
    extra = sum(p.numel() for n, p in teacher.named_parameters() if n.startswith("prompt_layers."))
    # 7 levels x (10 x (3*3*256*256 + 256) + 256*256 + 256) + the stem 3*3*3*256 + 256 = 41,773,312
    assert extra == 7 * (10 * (9 * 256 * 256 + 256) + 256 * 256 + 256) + 9 * 3 * 256 + 256 == 41_773_312
    assert 0.045 < extra / 876_664_001 < 0.05


@needs_shapes
def test_released_state_dict_loads_strictly_through_load_model(released_shapes, tmp_path):
    path = tmp_path / "student.pt"
    torch.save({"state_dict": meta_state(released_shapes)}, path)   # wrapped, as from_pretrained accepts
    model = load_model(path)
    assert isinstance(model, MetricAnythingStudent) and not model.training
    assert model.img_size == 1536


@needs_shapes
@pytest.mark.parametrize("change", ["missing", "renamed"])
def test_one_missing_or_renamed_key_fails_naming_it(released_shapes, change, tmp_path):
    state = meta_state(released_shapes)
    key = "encoder.patch_encoder.blocks.17.mlp.w2.bias"
    tensor = state.pop(key)
    if change == "renamed":
        state["encoder.patch_encoder.blocks.17.mlp.fc2.bias"] = tensor
    path = tmp_path / "student.pt"
    torch.save(state, path)
    with pytest.raises(ValueError, match=r"missing keys: encoder\.patch_encoder\.blocks\.17\.mlp\.w2\.bias") as err:
        load_model(path)
    assert str(path) in str(err.value)
    if change == "renamed":
        assert "unexpected keys: encoder.patch_encoder.blocks.17.mlp.fc2.bias" in str(err.value)


def test_misshapen_tensor_is_named():
    model = MetricAnythingStudent(multires_spec("tiny"))
    state = dict(model.state_dict())
    state["head.0.bias"] = torch.zeros(3)
    with pytest.raises(ValueError, match=r"shape mismatch: head\.0\.bias"):
        load_student_strictly(model, state, "test")


def test_dinov3_vith16plus_dimensions():
    """ViT-H+/16: SwiGLU hidden int(1280*6*2/3) = 5120; RoPE periods 100^(2i/40), i < 16 (head width 64)."""
    assert swiglu_hidden(1280, 6.0, 8) == 5120
    assert swiglu_hidden(100, 4.0, 8) == 272   # int(400*2/3) = 266, rounded up to a multiple of 8
    vit = DinoV3(VITH16PLUS.__class__(embed_dim=64, depth=1, num_heads=1))
    periods = vit.rope_embed.periods
    assert periods.shape == (16,)
    assert periods[0].item() == 1.0 and periods[-1].item() == pytest.approx(100 ** (30 / 32), rel=1e-6)
    mask = vit.blocks[0].attn.qkv.bias_mask
    assert mask[:64].eq(1).all() and mask[64:128].eq(0).all() and mask[128:].eq(1).all()


def test_rope_table_by_hand():
    """Head width 16: periods 100^(2i/8) = 1, 10^0.5, 10, 10^1.5; a token's angles are 2 pi c / period for
    its row coordinate, then its column coordinate, the 8 angles repeated twice (rotate-half layout)."""
    vit = DinoV3(VITH16PLUS.__class__(embed_dim=16, depth=1, num_heads=1, n_storage_tokens=2))
    sin, cos = vit.rope_embed(2, 3)
    assert sin.shape == cos.shape == (6, 16)
    # token 0: row 0 of 2 -> 2*(0.5/2)-1 = -0.5; column 0 of 3 -> 2*(0.5/3)-1 = -2/3
    row, col = -0.5, -2 / 3
    expected = [2 * np.pi * c / p for c in (row, col) for p in (1, 10 ** 0.5, 10, 10 ** 1.5)] * 2
    np.testing.assert_allclose(sin[0].numpy(), np.sin(expected), atol=1e-5)
    np.testing.assert_allclose(cos[0].numpy(), np.cos(expected), atol=1e-5)


def test_tiles_split_and_merge_back_to_the_full_grid():
    """Merging tiles of a token-index map reproduces the map: the trimmed overlaps agree."""
    grid = 8                                  # tokens per tile side; 4 tiles per image side -> 32 x 32
    image = torch.arange(32 * 32, dtype=torch.float32).reshape(1, 1, 32, 32).repeat(2, 1, 1, 1)
    image[1] *= -1
    for overlap, side, trim in ((0.25, 32, grid // 8), (0.5, 16, grid // 4)):
        part = image[..., :side, :side].contiguous()
        tiles = split_tiles(part, grid, overlap)
        assert torch.equal(merge_tiles(tiles, batch=2, trim=trim), part)


@pytest.mark.parametrize("family", ["dinov3", "dinov2"])
def test_tiny_student_and_teacher_run(family):
    torch.manual_seed(0)
    spec = multires_spec("tiny", family)
    student = MetricAnythingStudent(spec)
    rgb = torch.rand(1, 3, 40, 56)
    fx = torch.tensor([50.0])
    depth = student(rgb, fx)
    assert depth.shape == (1, 40, 56)
    assert (depth >= 1e-3).all() and (depth <= 1e3).all()
    # zero-initialised prompt layers: a fresh teacher with the student's weights predicts what it does
    teacher = MetricAnythingTeacher(spec)
    missing = teacher.load_state_dict(student.state_dict(), strict=False).missing_keys
    assert missing and all(k.startswith("prompt_layers.") for k in missing)
    prompt = torch.cat([torch.rand(1, 2, 40, 56) * 5, (torch.rand(1, 1, 40, 56) > 0.9).float()], 1)
    assert torch.allclose(teacher(rgb, prompt, fx), depth)
    extra = sum(p.numel() for n, p in teacher.named_parameters() if n.startswith("prompt_layers."))
    assert 0 < extra < 0.1 * sum(p.numel() for p in student.parameters())


def test_focal_length_scales_depth_linearly():
    """Metric inverse depth = canonical x width / f_px: doubling f_px doubles depth where unclamped."""
    torch.manual_seed(1)
    student = MetricAnythingStudent(multires_spec("tiny")).eval()
    torch.nn.init.constant_(student.head[-2].bias, 1.0)   # canonical inverse depth ~1: away from the clamp
    x = torch.randn(3, 512, 512)
    near, far = student.infer(x, f_px=100.0)["depth"], student.infer(x, f_px=200.0)["depth"]
    inside = (far < 500) & (near > 2e-3)
    assert inside.any()
    assert torch.allclose(far[inside], 2 * near[inside], rtol=1e-5)


@pytest.mark.slow_parity
@pytest.mark.timeout(7200)
@pytest.mark.skipif(os.environ.get("DEPTHCUR_FULL_PARITY") != "1" or not OUTPUTS.is_file(),
                    reason="full-size parity: set DEPTHCUR_FULL_PARITY=1 (minutes of CPU, ~8 GB RAM)")
def test_full_student_matches_official_infer(tmp_path):
    data = np.load(OUTPUTS)
    meta = json.loads(str(data["meta"]))
    weights = fixture_weights(meta)
    for name in data.files:
        if name.startswith("buffer/"):
            weights[name[len("buffer/"):]] = torch.from_numpy(data[name])
    path = tmp_path / "student.pt"
    torch.save(weights, path)
    del weights
    model = load_model(path)
    mean = torch.tensor([0.485, 0.456, 0.406])[:, None, None]
    std = torch.tensor([0.229, 0.224, 0.225])[:, None, None]
    start = time.perf_counter()
    ours = model.infer((torch.from_numpy(data["image"]) - mean) / std, f_px=200.0)["depth"].numpy()
    official = data["depth"]
    unclamped = (official < 999.0) & (ours < 999.0)
    error = float(np.abs(np.log(ours[unclamped]) - np.log(official[unclamped])).max())
    print(f"full parity: infer {time.perf_counter() - start:.0f} s, {unclamped.mean():.0%} unclamped, "
          f"max |log error| {error:.2e}")
    assert unclamped.mean() > 0.2
    assert np.array_equal(official >= 999.0, ours >= 999.0) or np.mean((official >= 999.0) != (ours >= 999.0)) < 1e-3
    assert error < 1e-3


# ---------------------------------------------------------------- the networks in the prompt/distill stages

def multires_config(**model):
    from depthcur.train.config import load_config, preset_config

    cfg = preset_config("tiny")
    for name, value in {"network": "multires", **model}.items():
        setattr(cfg.model, name, value)
    return load_config(cfg)


def test_config_choices_match_the_network_tables():
    from depthcur.train import config
    from depthcur.train.models import metric_anything

    assert config.MULTIRES_SIZES == tuple(metric_anything.MULTIRES_PRESETS)
    assert config.VIT_FAMILIES == metric_anything.VIT_FAMILIES


def test_distill_stage_trains_the_multires_student_with_the_vit_at_the_backbone_rate():
    from depthcur.train.loop import param_groups
    from depthcur.train.stages.distill import DistillStage

    cfg = multires_config()
    stage = DistillStage(cfg)
    torch.manual_seed(0)
    model = stage.build_model()
    assert isinstance(model, MetricAnythingStudent) and model.spec == multires_spec("tiny")
    torch.nn.init.constant_(model.head[-2].bias, 1.0)   # away from the 1000 m clamp, so gradients flow
    gt = torch.full((1, 24, 32), 2.0)
    batch = {"rgb": torch.rand(1, 3, 24, 32), "depth_gt": gt, "fx": torch.tensor([30.0])}
    stage.loss(model, batch).backward()
    assert model.encoder.patch_encoder.blocks[0].attn.qkv.weight.grad.abs().sum() > 0
    vit = {id(p) for p in model.encoder.patch_encoder.parameters()}
    for group in param_groups(model, cfg):
        assert all((id(p) in vit) == (group["kind"] == "backbone") for p in group["params"])


def test_prompt_stage_builds_the_multires_teacher_on_dinov2_too():
    from depthcur.train.stages.prompt import PromptStage

    model = PromptStage(multires_config(vit="dinov2")).build_model()
    assert isinstance(model, MetricAnythingTeacher)
    assert model.encoder.patch_encoder.patch_size == 14


@needs_shapes
def test_distill_init_from_a_released_student(released_shapes, tmp_path):
    from depthcur.train.stages.distill import DistillStage

    path = tmp_path / "student.pth"
    torch.save(meta_state(released_shapes), path)
    stage = DistillStage(multires_config())
    stage.start_from(str(path))
    assert (stage.cfg.model.network, stage.cfg.model.multires) == ("multires", "released")
    model = stage.build_model()
    assert isinstance(model, MetricAnythingStudent) and model.training and model.img_size == 1536
    other = tmp_path / "other.pt"
    torch.save({"weight": torch.zeros(2)}, other)
    with pytest.raises(ValueError, match="not a MetricAnything Student-DepthMap"):
        DistillStage(multires_config()).start_from(str(other))


@needs_shapes
def test_released_student_as_an_eval_predictor(released_shapes, tmp_path):
    """``depthcur eval --model STUDENT.pt``: the file becomes a distill predictor on the released network."""
    from depthcur.train.inference import load_predictor

    path = tmp_path / "student.pt"
    torch.save(meta_state(released_shapes), path)
    with pytest.raises(RuntimeError):   # meta tensors cannot move to the CPU: the network itself was built
        load_predictor(path, device="cpu")
    from depthcur.train.stages.distill import DistillStage

    state = DistillStage.run_state_from_released(meta_state(released_shapes))
    model = DistillStage.network_from_checkpoint(state)
    assert isinstance(model, MetricAnythingStudent) and model.img_size == 1536 and not model.training
