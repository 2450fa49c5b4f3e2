"""train: the loop's faster step (parameters listed once, train mode set only when it was left, gradients
rescaled only when clipping) trains exactly as the plain step does: the same losses and the same weights, bit
for bit. Its AdamW kernel (fused where torch has one, else foreach) differs from foreach by float rounding
only, and a resumed run keeps the kernel it started with."""

import itertools
from types import SimpleNamespace

import numpy as np
import torch

from depthcur.synthetic import make_sample
from depthcur.train.config import load_config
from depthcur.train.augment import channel_mean, color_jitter
from depthcur.train.data.mixing import MixedStream, memory_stream
from depthcur.train.loop import Trainer, adamw_kernel, clip_grad_norm, keep_usable_adamw_kernel, lr_factor, param_groups
from depthcur.train.runner import RunRequest, build_stage


def trainer(tmp_path, name):
    cfg = load_config("tiny")
    cfg.run.steps, cfg.run.checkpoint_every = 10 ** 6, 10 ** 6
    h, w = cfg.crop
    pool = [make_sample(f"loop/{i}", height=h + 8, width=w + 8, seed=i) for i in range(4)]
    stage = build_stage(RunRequest(stage="mdm", data=[], config="tiny", out=str(tmp_path / name)), cfg)
    return Trainer(stage, cfg, [memory_stream("loop", pool)], tmp_path / name, device="cpu"), pool


def plain_step(t: Trainer) -> float:
    """The straightforward step: train mode every step, parameters walked each time, torch's clipping."""
    t.model.train()
    rng = np.random.default_rng([t.cfg.run.seed, 13, t.dist.rank, t.step])
    batch = t.stage.prepare(t._next_items(), rng)
    loss = t.stage.loss(t.model, batch)
    t.optimizer.zero_grad(set_to_none=True)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(t.model.parameters(), t.cfg.optim.clip_norm)
    t.optimizer.step()
    t.scheduler.step()
    t.step += 1
    return float(loss.detach())


def use_plain_adamw(t: Trainer, **kernel: bool) -> None:
    """Give ``t`` an AdamW with the given kernel flags, built directly, and the loop's schedule."""
    groups = param_groups(t.model, t.cfg)
    t.optimizer = torch.optim.AdamW(groups, betas=t.cfg.optim.betas, **kernel)
    t.scheduler = torch.optim.lr_scheduler.LambdaLR(
        t.optimizer, [lambda s, warm=(g["kind"] == "backbone"): lr_factor(s, t.cfg, warm) for g in groups])


def test_fast_step_trains_exactly_like_the_plain_step(tmp_path):
    torch.manual_seed(0)
    fast, pool = trainer(tmp_path, "fast")
    torch.manual_seed(0)
    plain, _ = trainer(tmp_path, "plain")
    assert fast.optimizer.defaults["fused"]   # on CPU float32 the loop takes torch's fused kernel
    use_plain_adamw(plain, fused=True)
    for a, b in zip(fast.model.parameters(), plain.model.parameters()):
        assert torch.equal(a, b)
    fast_losses, plain_losses = [], []
    for step in range(4):
        fast_losses.append(fast.train_step()[0])
        plain_losses.append(plain_step(plain))
        if step == 1:   # an evaluation in between leaves the model in eval mode; the next step must undo it
            assert fast.eval_loss(pool[:2]) == plain.eval_loss(pool[:2])
            assert not fast.model.training
    assert fast_losses == plain_losses
    assert fast.model.training
    for a, b in zip(fast.model.parameters(), plain.model.parameters()):
        assert torch.equal(a, b)
    torch.manual_seed(0)
    initial, _ = trainer(tmp_path, "init")
    assert any(not torch.equal(a, b) for a, b in zip(fast.model.parameters(), initial.model.parameters()))   # moved


def test_clip_grad_norm_matches_torch_bit_for_bit_clipped_or_not():
    torch.manual_seed(0)
    shapes = [(7, 5), (5,), (3, 4, 2), (1,)]
    # one dtype (the multi-tensor calls made directly) and two (torch's functions, which group by dtype);
    # a norm below max_norm (nothing to rescale) and one far above it
    for dtypes, scale in itertools.product(([torch.float32] * 4, [torch.float32] * 3 + [torch.float64]),
                                           (1e-3, 10.0)):
        ours = [torch.nn.Parameter(torch.zeros(s, dtype=d)) for s, d in zip(shapes, dtypes)]
        theirs = [torch.nn.Parameter(torch.zeros(s, dtype=d)) for s, d in zip(shapes, dtypes)]
        for a, b in zip(ours, theirs):
            a.grad = torch.randn(a.shape, dtype=a.dtype) * scale
            b.grad = a.grad.clone()
        ours[1].grad = None   # parameters without a gradient are left out, as torch does
        theirs[1].grad = None
        norm = clip_grad_norm(ours, 1.0)
        expected = torch.nn.utils.clip_grad_norm_(theirs, 1.0)
        assert torch.equal(norm, expected)
        assert (float(norm) > 1.0) == (scale > 1)
        for a, b in zip(ours, theirs):
            assert (a.grad is None and b.grad is None) or torch.equal(a.grad, b.grad)
        if scale > 1:
            clipped = torch.linalg.vector_norm(torch.cat([p.grad.flatten() for p in ours if p.grad is not None]))
            assert abs(float(clipped) - 1.0) < 1e-4


def test_adamw_kernel_is_fused_where_torch_has_it_and_foreach_elsewhere():
    def param(device, dtype):   # the choice reads only a parameter's device and dtype
        return SimpleNamespace(device=torch.device(device), dtype=dtype)

    for device in ("cpu", "cuda"):
        for dtype in (torch.float32, torch.bfloat16, torch.float16, torch.float64):
            assert adamw_kernel([param(device, dtype)]) == {"fused": True}
    assert adamw_kernel([torch.nn.Parameter(torch.zeros(2))]) == {"fused": True}
    # a device torch has no fused kernel for here, or one such parameter among fused-capable ones
    assert adamw_kernel([param("mps", torch.float32)]) == {"foreach": True}
    assert adamw_kernel([param("cpu", torch.float32), param("meta", torch.float32)]) == {"foreach": True}
    assert adamw_kernel([param("cuda", torch.float32), param("cuda", torch.complex64)]) == {"foreach": True}


def test_fused_adamw_trains_like_foreach_up_to_float_rounding(tmp_path):
    torch.manual_seed(0)
    fused, _ = trainer(tmp_path, "fused")
    torch.manual_seed(0)
    foreach, _ = trainer(tmp_path, "foreach")
    use_plain_adamw(foreach, foreach=True)
    assert fused.optimizer.defaults["fused"] and not foreach.optimizer.defaults["fused"]
    for _ in range(10):
        loss_fused, loss_foreach = fused.train_step()[0], foreach.train_step()[0]
        assert abs(loss_fused - loss_foreach) <= 1e-5 * abs(loss_foreach)
    # measured: at most 6e-7 of a tensor's norm after 10 steps; a wrong update (say a missed weight
    # decay of 0.05 x lr 2e-3 per step) would move the weights by ~1e-3 of their norm
    with torch.no_grad():
        pairs = zip(fused.model.parameters(), foreach.model.parameters())
        worst = max(float((a - b).norm() / b.norm()) for a, b in pairs if b.norm() > 0)
    assert 0 < worst < 1e-5


def test_resume_keeps_the_saved_adamw_kernel_unless_this_device_lacks_it():
    weights = [torch.nn.Parameter(torch.ones(3))]
    weights[0].grad = torch.ones(3)
    started_foreach = torch.optim.AdamW(weights, foreach=True)
    started_foreach.step()
    resumed = torch.optim.AdamW(weights, **adamw_kernel(weights))   # fused on CPU
    resumed.load_state_dict(started_foreach.state_dict())
    keep_usable_adamw_kernel(resumed)
    assert resumed.param_groups[0]["foreach"] and not resumed.param_groups[0]["fused"]   # continues as it began
    # a fused run resumed where its parameters have no fused kernel (here: the meta device) goes foreach
    elsewhere = torch.optim.AdamW([torch.nn.Parameter(torch.ones(3, device="meta"))], foreach=True)
    elsewhere.param_groups[0].update(fused=True, foreach=None)   # what a fused checkpoint's groups bring
    keep_usable_adamw_kernel(elsewhere)
    assert elsewhere.param_groups[0]["foreach"] and not elsewhere.param_groups[0]["fused"]
    fused = torch.optim.AdamW(weights, fused=True)
    keep_usable_adamw_kernel(fused)
    assert fused.param_groups[0]["fused"] and not fused.param_groups[0]["foreach"]


def plain_color_jitter(rgb: np.ndarray, strength: float, rng: np.random.Generator) -> np.ndarray:
    """The colour jitter as first written: the reference the faster one must equal bit for bit."""
    img = rgb.astype(np.float32)
    brightness, contrast, saturation = 1 + rng.uniform(-strength, strength, size=3)
    img = img * brightness
    img = (img - img.mean()) * contrast + img.mean()
    grey = img.mean(axis=2, keepdims=True)
    img = (img - grey) * saturation + grey
    return np.clip(img, 0, 255).astype(np.uint8)


def test_channel_mean_is_numpys_mean_over_the_channels_bit_for_bit():
    rng = np.random.default_rng(4)
    for shape in ((56, 70, 3), (5, 1, 3)):
        # float32 sums of random magnitudes round differently in another order, so the order is checked
        img = (rng.standard_normal(shape) * 10.0 ** rng.integers(-3, 4, shape)).astype(np.float32)
        for view in (img, img[:, ::-1]):
            assert np.array_equal(channel_mean(view), view.mean(axis=2))
            assert channel_mean(view).dtype == np.float32


def test_color_jitter_equals_the_plain_formula_bit_for_bit():
    rng = np.random.default_rng(3)
    for height, width in ((56, 70), (57, 71), (3, 2)):
        for trial in range(40):
            rgb = rng.integers(0, 256, (height, width, 3), dtype=np.uint8)
            if trial % 2:
                rgb = rgb[:, ::-1]   # augment_sample hands flipped views over
            seed = int(rng.integers(1 << 31))
            strength = float(rng.uniform(0.05, 0.9))
            ours = color_jitter(rgb, strength, np.random.default_rng(seed))
            assert np.array_equal(ours, plain_color_jitter(rgb, strength, np.random.default_rng(seed)))
    # a strong jitter does change the picture (the comparison above is not between two copies)
    assert not np.array_equal(color_jitter(rgb, 0.9, np.random.default_rng(0)), rgb)


def test_a_single_stream_is_drawn_in_its_own_epoch_order():
    samples = [make_sample(f"one/{i}", height=8, width=8, seed=i) for i in range(3)]
    mixed = MixedStream([memory_stream("one", samples, seed=5)], seed=9)
    drawn = [next(mixed) for _ in range(7)]
    # memory_stream shuffles each epoch with default_rng([5, epoch]); the mix adds nothing to one stream
    expected = []
    for epoch in range(3):
        order = np.arange(3)
        np.random.default_rng([5, epoch]).shuffle(order)
        expected += [f"one/{i}" for i in order]
    assert [draw for draw, _ in drawn] == list(range(7))
    assert [sample.key for _, sample in drawn] == expected[:7]
    assert mixed.position.to_dict() == {"draws": 7, "epochs": {"one": 2}, "consumed": {"one": 1}, "skipped": 0}
