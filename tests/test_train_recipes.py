"""The papers' training recipes on top of the size presets, --dry-run, the learning-rate schedules and
--global-batch (gradient accumulation: the same gradients as one big batch, exact resume)."""

from __future__ import annotations

import json
import math
import shutil

import pytest
import torch
from torch import nn
from typer.testing import CliRunner

from depthcur.cli import app
from depthcur.core.exits import UsageError
from depthcur.train.config import ConfigError, accumulation_steps, load_config, overlay_preset
from depthcur.train.losses import prompt_loss
from depthcur.train.loop import Trainer, lr_factor, make_optimizer
from depthcur.train.stages.base import Stage

torch.set_num_threads(1)


def dry_run(*args: str) -> dict:
    result = CliRunner().invoke(app, ["train", *args, "--dry-run"])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


# ---------------------------------------------------------------- recipes and --dry-run


def test_dry_run_prints_the_teacher_recipe_of_the_paper_without_data():
    """MetricAnything Appendix: teacher 100k steps, 10k warm-up, 1e-6 ViT / 1e-5 head, 1536 x 1536."""
    out = dry_run("prompt", "--preset", "large", "--recipe", "teacher-paper")
    patch = load_config("large").model.patch_size
    assert out["steps"] == 100_000 and out["warmup_steps"] == 10_000 and out["warmup_groups"] == "all"
    assert out["lr"] == {"backbone": 1e-6, "head": 1e-5}
    assert out["schedule"] == {"kind": "cosine"}
    assert out["resolution"] == [1536 // patch * patch] * 2
    assert (out["per_device_batch"], out["accumulation_steps"], out["global_batch"]) == (8, 1, 8)


def test_the_paper_resolution_is_exact_on_the_depthpro_style_network_with_patch_16():
    out = dry_run("prompt", "--preset", "large", "--recipe", "teacher-paper", "--model-network", "multires")
    assert out["resolution"] == [1536, 1536]
    dinov2 = dry_run("prompt", "--preset", "large", "--recipe", "teacher-paper", "--model-network", "multires",
                     "--model-vit", "dinov2")
    assert dinov2["resolution"] == [1526, 1526]


def test_dry_run_of_the_student_recipes():
    scratch = dry_run("distill", "--preset", "tiny", "--recipe", "student-paper")
    assert (scratch["steps"], scratch["warmup_steps"], scratch["lr"]) == (200_000, 5_000, {"backbone": 2e-6, "head": 2e-5})
    moge = dry_run("distill", "--preset", "tiny", "--recipe", "student-moge2")
    assert (moge["steps"], moge["warmup_steps"], moge["lr"]) == (10_000, 1_000, {"backbone": 2.5e-6, "head": 2.5e-5})


def test_mdm_recipe_reaches_the_global_batch_of_128_gpus_by_accumulation():
    """LingBot-Depth: 1024 images per step, 8 per device: 128 passes on one device, 16 on 8."""
    out = dry_run("mdm", "--preset", "large", "--recipe", "mdm-paper")
    assert (out["steps"], out["warmup_steps"], out["warmup_groups"]) == (250_000, 2_000, "backbone")
    assert out["schedule"] == {"kind": "step", "decay_every": 25_000, "decay_factor": 0.5}
    assert (out["global_batch"], out["per_device_batch"], out["accumulation_steps"]) == (1024, 8, 128)
    assert accumulation_steps(load_config("large"), 1) == 1          # no recipe: no accumulation
    cfg = overlay_preset({"preset": "large", "recipe": "mdm-paper"}, "test")
    assert accumulation_steps(cfg, 8) == 16


def test_flags_and_files_replace_recipe_values_and_the_preset_keeps_the_network():
    out = dry_run("prompt", "--preset", "tiny", "--recipe", "teacher-paper", "--optim-lr-head", "3e-5", "--steps", "7")
    assert out["lr"] == {"backbone": 1e-6, "head": 3e-5} and out["steps"] == 7
    cfg = overlay_preset({"preset": "tiny", "recipe": "student-moge2", "optim": {"warmup_iters": 3}}, "test")
    assert cfg.model == load_config("tiny").model            # the network is the preset's
    assert (cfg.optim.warmup_iters, cfg.optim.lr_backbone, cfg.run.steps) == (3, 2.5e-6, 10_000)
    assert load_config("tiny").recipe == "none"


def test_global_batches_that_do_not_divide_are_refused_naming_the_option():
    with pytest.raises(ConfigError, match="global_batch"):
        overlay_preset({"preset": "tiny", "data": {"batch_size": 4, "global_batch": 6}}, "test")
    cfg = overlay_preset({"preset": "tiny", "data": {"batch_size": 2, "global_batch": 8}}, "test")
    assert accumulation_steps(cfg, 2) == 2
    with pytest.raises(UsageError, match="batch_size 2 x 3 device") as caught:
        accumulation_steps(cfg, 3)
    assert caught.value.where == "--global-batch"
    result = CliRunner().invoke(app, ["train", "mdm", "--data-batch-size", "4", "--global-batch", "6", "--dry-run"])
    assert result.exit_code == 2 and "global_batch" in result.output


def test_a_run_without_data_or_dry_run_is_a_usage_error():
    result = CliRunner().invoke(app, ["train", "mdm", "--preset", "tiny"])
    assert result.exit_code == 2 and "--data" in result.output


# ---------------------------------------------------------------- schedules


def test_cosine_schedule_with_every_group_warming_up():
    cfg = overlay_preset({"preset": "tiny", "run": {"steps": 100},
                          "optim": {"schedule": "cosine", "warmup_iters": 10, "warmup_groups": "all"}}, "test")
    assert lr_factor(0, cfg, True) == pytest.approx(0.1)          # (0 + 1) / 10
    assert lr_factor(9, cfg, True) == pytest.approx(1.0)
    assert lr_factor(55, cfg, True) == pytest.approx(0.5)         # half-way through the 90 cosine steps
    assert lr_factor(100, cfg, True) == pytest.approx(0.0, abs=1e-12)
    model = nn.ModuleDict({"backbone": nn.Linear(2, 2), "head": nn.Linear(2, 1)})
    optimizer, _ = make_optimizer(model, cfg)
    lrs = {g["kind"]: g["lr"] for g in optimizer.param_groups}
    assert lrs == pytest.approx({"backbone": cfg.optim.lr_backbone * 0.1, "head": cfg.optim.lr_head * 0.1})


def test_constant_schedule_and_backbone_only_warm_up():
    cfg = overlay_preset({"preset": "tiny", "optim": {"schedule": "constant", "warmup_iters": 4}}, "test")
    assert [lr_factor(s, cfg, True) for s in (0, 3, 1000)] == pytest.approx([0.25, 1.0, 1.0])
    assert lr_factor(0, cfg, False) == 1.0


# ---------------------------------------------------------------- gradient accumulation


class TinyDepthStage(Stage):
    """A two-layer network under the prompt stage's loss: small enough to compare gradients exactly."""

    name = "prompt"

    def build_model(self) -> nn.Module:
        return nn.ModuleDict({"backbone": nn.Conv2d(3, 4, 3, padding=1), "head": nn.Conv2d(4, 1, 1)})

    def predict(self, model, batch):
        return nn.functional.softplus(model["head"](torch.relu(model["backbone"](batch["rgb"]))))[:, 0] + 0.5

    def loss(self, model, batch):
        gt = batch["depth_gt"]
        return prompt_loss(self.predict(model, batch), gt, gt > 0, batch["gt_rendered"]).mean()


def tiny_config(batch_size: int, global_batch: int, steps: int = 1):
    # no clipping: a clipped gradient would hide a pass that is not divided by the number of passes
    return overlay_preset({"preset": "tiny", "run": {"steps": steps, "checkpoint_every": 2, "bf16": False},
                           "optim": {"clip_norm": 1e9},
                           "data": {"batch_size": batch_size, "global_batch": global_batch, "prefetch_batches": 0}},
                          "test")


def samples_stream():
    from depthcur.synthetic import make_sample
    from depthcur.train.data.mixing import memory_stream

    return [memory_stream("sim", [make_sample(f"synthetic/s{i:03d}", height=48, width=60, seed=i) for i in range(6)])]


def test_two_passes_of_two_give_the_gradients_of_one_batch_of_four(tmp_path):
    one = Trainer(TinyDepthStage(tiny_config(4, 0)), tiny_config(4, 0), samples_stream(), tmp_path / "one")
    two = Trainer(TinyDepthStage(tiny_config(2, 4)), tiny_config(2, 4), samples_stream(), tmp_path / "two")
    assert (one.accumulation, two.accumulation) == (1, 2)
    loss_one, norm_one = one.train_step()
    loss_two, norm_two = two.train_step()
    assert loss_two == pytest.approx(loss_one, rel=1e-6) and norm_two == pytest.approx(norm_one, rel=1e-5)
    for (name, a), b in zip(one.model.named_parameters(), two.model.parameters()):
        # float32 sums in another order: equal to ~1e-5 of the tensor's largest gradient
        scale = float(a.grad.abs().max())
        torch.testing.assert_close(b.grad, a.grad, rtol=1e-5, atol=1e-5 * scale, msg=name)
        torch.testing.assert_close(b, a, rtol=1e-6, atol=1e-7, msg=name)


def test_accumulated_runs_resume_exactly(tmp_path):
    cfg = tiny_config(2, 4, steps=4)
    full = Trainer(TinyDepthStage(cfg), cfg, samples_stream(), tmp_path / "full").run()
    assert len(full.losses) == 4 and all(math.isfinite(x) for x in full.losses)
    shutil.copytree(tmp_path / "full", tmp_path / "resumed")
    (tmp_path / "resumed" / "checkpoints" / "step_00000004.pt").unlink()
    resumed = Trainer(TinyDepthStage(cfg), cfg, samples_stream(), tmp_path / "resumed", resume=True).run()
    assert resumed.losses == full.losses[2:]
