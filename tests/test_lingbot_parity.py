"""depthcur's LingBot-Depth network against outputs of the official ``MDMModel.infer``.

The fixture (../shared/fixtures/lingbot-depth, see its README) holds a small configuration's
``model_config``, the rule that makes its weights, and the official outputs for two inputs.
"""

from __future__ import annotations

import dataclasses
import json
import zlib
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from depthcur.train import load_model
from depthcur.train.models.lingbot import LingbotDepth, patches_without_depth, released_checkpoint, token_grid

FIXTURE = Path(__file__).resolve().parents[2] / "shared" / "fixtures" / "lingbot-depth" / "small_seed11.npz"
IMAGENET = {"encoder.image_mean": [0.485, 0.456, 0.406], "encoder.image_std": [0.229, 0.224, 0.225]}

pytestmark = pytest.mark.skipif(not FIXTURE.is_file(), reason=f"fixture {FIXTURE} not present")


def fixture_weights(meta: dict) -> dict[str, torch.Tensor]:
    """The state dict made by the fixture's ``weight_rule`` (written from its text)."""
    weights = {}
    for key, shape in meta["state_dict_shapes"].items():
        if key in IMAGENET:
            weights[key] = torch.tensor(IMAGENET[key]).view(shape)
            continue
        noise = np.random.default_rng([meta["seed"], zlib.crc32(key.encode())]).standard_normal(shape)
        if key.endswith(("norm.weight", "norm1.weight", "norm2.weight")):
            value = 1 + 0.1 * noise
        elif key.endswith(".gamma"):
            value = 0.1 + 0.01 * noise
        elif len(shape) == 1 or key.rsplit(".", 1)[-1] in ("pos_embed", "cls_token", "mask_token"):
            value = 0.02 * noise
        else:
            value = noise / np.sqrt(np.prod(shape[1:]))
        weights[key] = torch.from_numpy(np.asarray(value, np.float32))
    return weights


@pytest.fixture(scope="module")
def fixture():
    data = np.load(FIXTURE)
    return json.loads(str(data["meta"])), {k: data[k] for k in data.files if k != "meta"}


@pytest.fixture(scope="module")
def released_file(fixture, tmp_path_factory) -> Path:
    meta, _ = fixture
    path = tmp_path_factory.mktemp("lingbot") / "model.pt"
    torch.save({"model": fixture_weights(meta), "model_config": meta["model_config"]}, path)
    return path


def run_case(model: nn.Module, meta: dict, arrays: dict, case: str, **extra) -> dict[str, np.ndarray]:
    inputs = {k: torch.from_numpy(arrays[f"{case}/{k}"]) for k in ("image", "depth_in", "intrinsics")}
    out = model.infer(inputs["image"], inputs["depth_in"], use_fp16=False, intrinsics=inputs["intrinsics"][None],
                      **meta["cases"][case], **extra)
    return {k: v.numpy() for k, v in out.items()}


def log_depth_error(ours: np.ndarray, official: np.ndarray) -> float:
    return float(np.abs(np.log(ours) - np.log(official)).max())


def test_fixture_exercises_dropped_depth_tokens(fixture):
    """Both cases have depth tokens without a valid pixel, so the dropping path is what is compared."""
    meta, arrays = fixture
    for case in meta["cases"]:
        depth = arrays[f"{case}/depth_in"]
        rows, cols = token_grid(meta["cases"][case]["num_tokens"], *depth.shape)
        grid = torch.nn.functional.interpolate(torch.from_numpy(np.nan_to_num(depth))[None, None],
                                               (rows * 14, cols * 14), mode="nearest")
        dropped = patches_without_depth(torch.where(grid > 0.01, grid.log(), 0.0), 14)
        assert 0 < int(dropped.sum()) < rows * cols


def test_released_checkpoint_matches_official_infer(fixture, released_file):
    meta, arrays = fixture
    model = load_model(released_file)
    assert isinstance(model, LingbotDepth)
    for case in meta["cases"]:
        out = run_case(model, meta, arrays, case, apply_mask=False)
        official = {k: arrays[f"{case}/{k}"] for k in ("depth", "mask", "points", "depth_masked")}
        assert log_depth_error(out["depth"], official["depth"]) < 1e-4, case
        assert np.array_equal(out["mask"], official["mask"]), case
        assert 0.05 < official["mask"].mean() < 0.95        # the mask head decides both ways
        # points scale with depth (up to e^11 here): the tolerance is relative to each point's depth
        tolerance = 1e-4 * np.abs(official["points"][..., 2:]) + 1e-6
        assert (np.abs(out["points"] - official["points"]) <= tolerance).all(), case
        masked = run_case(model, meta, arrays, case)["depth"]
        assert np.array_equal(np.isinf(masked), np.isinf(official["depth_masked"])), case
        finite = np.isfinite(masked)
        assert log_depth_error(masked[finite], official["depth_masked"][finite]) < 1e-4, case


def test_parity_breaks_when_pos_embed_resize_or_layer_sum_change(fixture, released_file):
    """The comparison is sharp: DINOv2's size= resize instead of its scale factor, or only the last
    layer instead of the sum of four, each move depth by far more than the tolerance."""
    meta, arrays = fixture
    case = "tokens96"
    official = arrays[f"{case}/depth"]

    resized = load_model(released_file)
    backbone = resized.encoder.backbone
    backbone.spec = dataclasses.replace(backbone.spec, interpolate_offset=0.0)
    assert log_depth_error(run_case(resized, meta, arrays, case, apply_mask=False)["depth"], official) > 1e-3

    last_only = load_model(released_file)
    encoder = last_only.encoder
    encoder.layers = encoder.layers[-1:]
    encoder.output_projections = encoder.output_projections[-1:]
    assert log_depth_error(run_case(last_only, meta, arrays, case, apply_mask=False)["depth"], official) > 1e-3


def test_dropped_tokens_equal_attention_masked_tokens(fixture, released_file):
    meta, arrays = fixture
    model = load_model(released_file)
    for case in meta["cases"]:
        dropped = run_case(model, meta, arrays, case, apply_mask=False)["depth"]
        model.encoder.drop_masked_tokens = False
        masked = run_case(model, meta, arrays, case, apply_mask=False)["depth"]
        model.encoder.drop_masked_tokens = True
        assert log_depth_error(dropped, masked) < 1e-4, case


def test_batch_with_different_kept_token_counts_packs(fixture, released_file):
    """Two samples keeping different numbers of depth tokens, run as one batch, give each one's own result."""
    meta, arrays = fixture
    model = load_model(released_file)
    image = torch.from_numpy(arrays["tokens96/image"])
    depth = torch.from_numpy(np.nan_to_num(arrays["tokens96/depth_in"]))
    holes = depth.clone()
    holes[:, : depth.shape[1] // 2] = 0                       # the second sample loses half its depth tokens
    batch = model.infer(torch.stack([image, image]), torch.stack([depth, holes]), num_tokens=96, use_fp16=False,
                        apply_mask=False)["depth"]
    for i, d in enumerate((depth, holes)):
        alone = model.infer(image, d, num_tokens=96, use_fp16=False, apply_mask=False)["depth"]
        assert log_depth_error(batch[i].numpy(), alone.numpy()) < 1e-4
    assert log_depth_error(batch[0].numpy(), batch[1].numpy()) > 1e-3


def test_released_format_keys_spellings_and_leftovers(fixture, tmp_path):
    meta, _ = fixture
    weights = fixture_weights(meta)
    old_spelling = {k.replace(".depth_patch_embed.", ".depth_mask_patch_embed."): v for k, v in weights.items()}
    assert old_spelling.keys() != weights.keys()
    path = tmp_path / "old.pt"
    torch.save({"model": old_spelling, "model_config": meta["model_config"]}, path)
    model = load_model(path)
    assert torch.equal(model.encoder.backbone.depth_patch_embed.proj.weight,
                       weights["encoder.backbone.depth_patch_embed.proj.weight"])
    # depthcur writes the released format back, and it loads to the same tensors
    torch.save(released_checkpoint(model), tmp_path / "again.pt")
    again = load_model(tmp_path / "again.pt").state_dict()
    assert all(torch.equal(again[k], v) for k, v in weights.items())

    leftover = tmp_path / "leftover.pt"
    torch.save({"model": {**weights, "encoder.extra.weight": torch.zeros(1)}, "model_config": meta["model_config"]},
               leftover)
    with pytest.raises(ValueError, match="unused"):
        load_model(leftover)
    missing = tmp_path / "missing.pt"
    torch.save({"model": {k: v for k, v in weights.items() if not k.startswith("mask_head.")},
                "model_config": meta["model_config"]}, missing)
    with pytest.raises(ValueError, match="missing"):
        load_model(missing)


# ---------------------------------------------------------------- fine-tuning a released checkpoint

@pytest.fixture(scope="module")
def rendered_shards(ray_local, tmp_path_factory) -> Path:
    """Parquet shards of two Cycles renders at the smallest size the renderer takes (64x48, 4 spp)."""
    from depthcur.curate.shards.build import build_shards
    from depthcur.render import RenderConfig, render_scenes

    root = tmp_path_factory.mktemp("rendered")
    render_scenes(RenderConfig(scenes="procedural:1", out=root / "raw", samples_per_scene=2, resolution="64x48",
                               spp=4, seed=11, workers=1, threads_per_worker=2))
    build_shards(inputs=[root / "raw"], out=root / "shards", formats=("parquet",), samples_per_shard=2)
    return root / "shards"


@pytest.mark.blender
@pytest.mark.slow
def test_released_checkpoint_fine_tunes_with_init_from(fixture, released_file, rendered_shards, depthcur_cmd,
                                                       tmp_path):
    """``train mdm --init-from model.pt`` (2 steps on Blender-rendered shards), then ``--init-from`` that run
    (1 step): every weight starts from the file, decoder and mask head included, and the result loads and infers."""
    import subprocess

    meta, arrays = fixture
    runs = {"first": ("2", released_file), "second": ("1", tmp_path / "first")}
    for name, (steps, start) in runs.items():
        proc = subprocess.run([*depthcur_cmd, "train", "mdm", "--data", str(rendered_shards), "--out",
                               str(tmp_path / name), "--init-from", str(start), "--steps", steps, "--threads", "1",
                               "--device", "cpu"], capture_output=True, text=True, timeout=600)
        assert proc.returncode == 0, proc.stdout + proc.stderr

    released = load_model(released_file).state_dict()
    tuned = load_model(tmp_path / "second")
    assert isinstance(tuned, LingbotDepth) and tuned.model_config["encoder"] == meta["model_config"]["encoder"]
    state = tuned.state_dict()
    assert state.keys() == released.keys()
    for key in ("encoder.backbone.blocks.0.attn.qkv.weight", "encoder.backbone.depth_patch_embed.proj.weight",
                "neck.input_blocks.0.weight", "depth_head.output_blocks.4.weight", "mask_head.input_blocks.0.weight"):
        change = (state[key] - released[key]).abs().max()
        assert 0 < change < 0.05 * released[key].abs().max(), key     # trained a little from the file's values
    assert torch.equal(state["encoder.backbone.mask_token"], released["encoder.backbone.mask_token"])  # unused

    out = run_case(tuned, meta, arrays, "tokens150_tall")
    assert out["depth"].shape == out["mask"].shape == arrays["tokens150_tall/depth"].shape
    assert np.isfinite(out["depth"][out["mask"]]).all() and np.isinf(out["depth"][~out["mask"]]).all()


def test_eval_takes_a_released_checkpoint(released_file, tmp_path):
    """The evaluate contract (``load_predictor``, behind ``depthcur eval --model``) reads the released format."""
    from depthcur.schemas import Intrinsics
    from depthcur.train.inference import load_predictor

    predictor = load_predictor(released_file, device="cpu")
    rgb = (np.random.default_rng(0).random((90, 120, 3)) * 255).astype(np.uint8)
    depth = np.full((90, 120), 2.0, np.float32)
    depth[:, :40] = 0
    pred = predictor.predict(rgb, depth, Intrinsics(fx=100.0, fy=100.0, cx=60.0, cy=45.0))
    assert pred.shape == (90, 120) and np.isfinite(pred).all() and (pred > 0).all()
    assert predictor.stage == "mdm"
