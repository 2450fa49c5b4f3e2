"""train: the loop's faster step (multi-tensor AdamW, parameters listed once, train mode set only when
it was left, gradients rescaled only when clipping) trains exactly as the plain step does: the same losses and the same weights, bit for bit."""

import numpy as np
import torch

from depthcur.synthetic import make_sample
from depthcur.train.config import load_config
from depthcur.train.data.mixing import memory_stream
from depthcur.train.loop import Trainer, clip_grad_norm, lr_factor, param_groups
from depthcur.train.runner import RunRequest, build_stage


def trainer(tmp_path, name):
    cfg = load_config("tiny")
    cfg.run.steps, cfg.run.checkpoint_every = 10 ** 6, 10 ** 6
    h, w = cfg.crop
    pool = [make_sample(f"loop/{i}", height=h + 8, width=w + 8, seed=i) for i in range(4)]
    stage = build_stage(RunRequest(stage="mdm", data=[], config="tiny", out=str(tmp_path / name)), cfg)
    return Trainer(stage, cfg, [memory_stream("loop", pool)], tmp_path / name, device="cpu"), pool


def plain_step(t: Trainer) -> float:
    """The straightforward step: train mode every step, per-tensor AdamW, parameters walked each time."""
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


def test_fast_step_trains_exactly_like_the_plain_step(tmp_path):
    torch.manual_seed(0)
    fast, pool = trainer(tmp_path, "fast")
    torch.manual_seed(0)
    plain, _ = trainer(tmp_path, "plain")
    groups = param_groups(plain.model, plain.cfg)
    plain.optimizer = torch.optim.AdamW(groups, betas=plain.cfg.optim.betas, foreach=False)
    plain.scheduler = torch.optim.lr_scheduler.LambdaLR(
        plain.optimizer, [lambda s, warm=(g["kind"] == "backbone"): lr_factor(s, plain.cfg, warm) for g in groups])
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
    for scale in (1e-3, 10.0):   # a norm below max_norm (nothing to rescale) and one far above it
        ours = [torch.nn.Parameter(torch.zeros(s)) for s in shapes]
        theirs = [torch.nn.Parameter(torch.zeros(s)) for s in shapes]
        for a, b in zip(ours, theirs):
            a.grad = torch.randn(a.shape) * scale
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
