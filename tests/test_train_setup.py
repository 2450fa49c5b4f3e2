"""How the training loop sets a run up: which parameters DDP is told go unused, where the prompt
stage's prior runs, and which ViT ``--init-backbone`` fills. Tiny networks on CPU (the prior's device
is also checked on CUDA when there is one)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from depthcur.core.exits import UsageError
from depthcur.synthetic import make_sample
from depthcur.train.augment import augment_sample
from depthcur.train.config import load_config
from depthcur.train.data.mixing import memory_stream
from depthcur.train.loop import Trainer, pretrained_vit
from depthcur.train.models.vit import dinov2_key_shapes
from depthcur.train.priors import PriorModel, network_prior
from depthcur.train.stages import STAGES, MDMStage, PromptStage

torch.set_num_threads(1)
H, W = 60, 80


def tiny_config(network: str = "dpt", vit: str = "dinov3"):
    cfg = load_config("tiny")
    cfg.model.network, cfg.model.vit = network, vit
    return cfg


def samples(n: int = 2):
    return [make_sample(f"synthetic/s{i:03d}", height=H, width=W, seed=i) for i in range(n)]


def grad_less_parameters(stage, model: nn.Module) -> set[str]:
    """Names of trainable parameters that one backward of the stage's loss leaves without a gradient."""
    cfg = stage.cfg
    items = [augment_sample(s, cfg.data, cfg.crop, np.random.default_rng(i), train=False)
             for i, s in enumerate(samples())]
    stage.loss(model, stage.prepare(items, np.random.default_rng(0))).backward()
    return {name for name, p in model.named_parameters() if p.requires_grad and p.grad is None}


@pytest.mark.parametrize("stage, network", [("mdm", "dpt"), ("prompt", "dpt"), ("prompt", "multires"),
                                            ("distill", "dpt"), ("distill", "multires")])
def test_declared_unused_parameters_are_exactly_those_without_gradients(stage, network):
    """What a network declares in ``unused_parameters`` is what DDP gets told to search for; a parameter
    that silently stopped taking part would otherwise stall DDP."""
    torch.manual_seed(0)
    run = STAGES[stage](tiny_config(network))
    model = run.build_model()
    declared = getattr(model, "unused_parameters", ())
    expected = {name for name, _ in model.named_parameters()
                if any(name == d or (d.endswith(".") and name.startswith(d)) for d in declared)}
    assert grad_less_parameters(run, model) == expected
    if (stage, network) in {("prompt", "dpt"), ("distill", "dpt")}:
        # the ViT's mask token and the 4 weights + 4 biases of the coarsest fusion block's skip unit
        assert len(expected) == 9 and "encoder.backbone.mask_token" in expected
        assert all(n.startswith("decoder.fusion.3.skip_unit.body.") for n in expected - {"encoder.backbone.mask_token"})
    else:
        assert expected == set()


class RecordingPrior(PriorModel):
    """A real network prior that also records where it was asked to move."""

    def __init__(self, prior: PriorModel):
        super().__init__(prior.kind, prior.predict, prior.source, prior.module)
        self.moved_to: list[torch.device] = []

    def to(self, device):
        self.moved_to.append(torch.device(device))
        return super().to(device)


def mdm_prior() -> RecordingPrior:
    cfg = tiny_config()
    mdm = MDMStage(cfg)
    torch.manual_seed(1)
    state = {"stage": "mdm", "config": cfg.to_dict(), "model": mdm.build_model().state_dict(),
             "extras": mdm.checkpoint_extras()}
    return RecordingPrior(network_prior(state))


@pytest.mark.parametrize("device", ["cpu", pytest.param("cuda", marks=pytest.mark.skipif(
    not torch.cuda.is_available(), reason="no CUDA device"))])
def test_prompt_prior_runs_on_the_training_device_and_stays_untrained(device, tmp_path):
    cfg = tiny_config()
    cfg.run.steps = 1
    prior = mdm_prior()
    rgb = torch.rand(2, 3, 56, 70, generator=torch.Generator().manual_seed(2))
    before = prior(rgb)
    weights = {k: v.clone() for k, v in prior.module.state_dict().items()}
    trainer = Trainer(PromptStage(cfg, prior), cfg, [memory_stream("sim", samples())], tmp_path, device=device)
    model_device = next(trainer.model.parameters()).device
    assert model_device.type == device
    assert prior.moved_to == [trainer.device]
    assert {p.device for p in prior.module.parameters()} == {model_device}
    # it still takes CPU batches and gives the same P_d (as numpy) wherever it runs
    np.testing.assert_allclose(prior(rgb), before, rtol=1e-4, atol=1e-5)
    trainer.run()
    # the prior is not trained: not in the optimizer, its weights untouched by a step
    optimized = {id(p) for group in trainer.optimizer.param_groups for p in group["params"]}
    assert not optimized & {id(p) for p in prior.module.parameters()}
    assert all(torch.equal(v.cpu(), weights[k]) for k, v in prior.module.state_dict().items())


def dinov3_key_shapes(dim: int, depth: int, heads: int, storage: int, patch: int, hidden: int):
    """The tensor names and shapes of an official DINOv3 ViT checkpoint (as the official hub's
    ``dinov3_vit*`` models save them), written from that layout, not from depthcur's module."""
    shapes = {"cls_token": (1, 1, dim), "storage_tokens": (1, storage, dim), "mask_token": (1, dim),
              "patch_embed.proj.weight": (dim, 3, patch, patch), "patch_embed.proj.bias": (dim,),
              "rope_embed.periods": (dim // heads // 4,), "norm.weight": (dim,), "norm.bias": (dim,)}
    for i in range(depth):
        pre = f"blocks.{i}."
        shapes.update({
            pre + "norm1.weight": (dim,), pre + "norm1.bias": (dim,),
            pre + "attn.qkv.weight": (3 * dim, dim), pre + "attn.qkv.bias": (3 * dim,),
            pre + "attn.qkv.bias_mask": (3 * dim,), pre + "attn.proj.weight": (dim, dim),
            pre + "attn.proj.bias": (dim,), pre + "ls1.gamma": (dim,),
            pre + "norm2.weight": (dim,), pre + "norm2.bias": (dim,),
            pre + "mlp.w1.weight": (hidden, dim), pre + "mlp.w1.bias": (hidden,),
            pre + "mlp.w2.weight": (hidden, dim), pre + "mlp.w2.bias": (hidden,),
            pre + "mlp.w3.weight": (dim, hidden), pre + "mlp.w3.bias": (dim,), pre + "ls2.gamma": (dim,),
        })
    return shapes


def official_file(path, shapes) -> dict[str, torch.Tensor]:
    gen = torch.Generator().manual_seed(3)
    official = {k: torch.randn(shape, generator=gen) for k, shape in shapes.items()}
    torch.save(official, path)
    return official


@pytest.mark.parametrize("stage", ["prompt", "distill"])
@pytest.mark.parametrize("vit", ["dinov3", "dinov2"])
def test_init_backbone_fills_the_vit_of_the_multires_networks(stage, vit, tmp_path):
    cfg = tiny_config("multires", vit)
    spec = cfg.model.multires_spec().vit
    if vit == "dinov3":
        # the tiny preset's DINOv3: width 32, 2 heads of 16, SwiGLU hidden int(32 * 4 * 2/3) = 85 -> 88
        assert (spec.embed_dim, spec.num_heads, spec.ffn_ratio, spec.swiglu_align) == (32, 2, 4.0, 8)
        shapes = dinov3_key_shapes(32, spec.depth, 2, spec.n_storage_tokens, spec.patch_size, 88)
    else:
        shapes = dinov2_key_shapes(spec)
    official = official_file(tmp_path / f"{vit}.pth", shapes)
    streams = [memory_stream("sim", samples())]
    fresh = Trainer(STAGES[stage](cfg), cfg, streams, tmp_path / "fresh").model.state_dict()
    loaded = Trainer(STAGES[stage](cfg), cfg, streams, tmp_path / "loaded",
                     init_backbone=str(tmp_path / f"{vit}.pth")).model.state_dict()
    vit_prefix = "encoder.patch_encoder."
    assert {k[len(vit_prefix):] for k in loaded if k.startswith(vit_prefix)} == set(official)
    for key, value in official.items():
        torch.testing.assert_close(loaded[vit_prefix + key], value, rtol=0, atol=0)
    # the rest of the network keeps the initial values of a run without --init-backbone
    assert all(torch.equal(v, fresh[k]) for k, v in loaded.items() if not k.startswith(vit_prefix))


def test_init_backbone_of_the_wrong_family_names_the_file_and_what_it_expected(tmp_path):
    cfg = tiny_config("multires", "dinov3")
    dinov2 = tmp_path / "dinov2.pth"
    official_file(dinov2, dinov2_key_shapes(tiny_config("multires", "dinov2").model.multires_spec().vit))
    with pytest.raises(ValueError, match=rf"--init-backbone {dinov2}: not a DINOv3 checkpoint .*embed_dim=32"):
        Trainer(STAGES["prompt"](cfg), cfg, [memory_stream("sim", samples())], tmp_path / "r",
                init_backbone=str(dinov2))


def test_a_network_without_a_dino_vit_refuses_init_backbone():
    with pytest.raises(UsageError, match=r"no DINOv2/DINOv3 ViT .*\(--init-backbone\)"):
        pretrained_vit(nn.Sequential(nn.Conv2d(3, 1, 1)))
