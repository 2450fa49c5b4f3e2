"""Checkpoints load weights-only: depthcur's own round-trip, a pickled object is refused naming the file."""

from __future__ import annotations

import os
import random
from pathlib import Path

import numpy as np
import pytest
import torch

from depthcur.curate.torch_files import UnsafeWeightsError
from depthcur.synthetic import make_sample
from depthcur.train import checkpoint as ckpt
from depthcur.train.config import load_config
from depthcur.train.data.mixing import memory_stream
from depthcur.train.loop import Trainer
from depthcur.train.models import BackboneSpec, DinoBackbone, load_dinov2_weights
from depthcur.train.stages import MDMStage

torch.set_num_threads(1)


class RunsCode:
    """Unpickling this calls a function of the pickler's choosing (here: create a file)."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (os.makedirs, (str(self.marker),))


def test_a_pickled_object_is_refused_naming_the_file(tmp_path):
    marker = tmp_path / "code_ran"
    path = tmp_path / "downloaded.pt"
    torch.save({"model": {"w": torch.zeros(2)}, "payload": RunsCode(marker)}, path)
    with pytest.raises(UnsafeWeightsError, match=r"checkpoint .*downloaded\.pt: refused by the weights-only") \
            as refused:
        ckpt.load(path)
    assert "makedirs" in str(refused.value)  # torch's reason: the global it would have called
    spec = BackboneSpec(embed_dim=32, depth=1, num_heads=2, pos_grid=5)
    with pytest.raises(UnsafeWeightsError, match=r"--init-backbone .*downloaded\.pt: refused"):
        load_dinov2_weights(DinoBackbone(spec), str(path))
    assert not marker.exists()


def test_own_checkpoint_loads_weights_only_and_resumes_the_rngs(tmp_path):
    cfg = load_config("tiny")
    cfg.run.steps, cfg.run.checkpoint_every = 2, 2
    samples = [make_sample(f"synthetic/s{i}", height=60, width=80, seed=i) for i in range(2)]
    trainer = Trainer(MDMStage(cfg), cfg, [memory_stream("sim", samples)], tmp_path)
    trainer.run()
    path = ckpt.checkpoint_path(tmp_path, 2)
    plain = torch.load(path, map_location="cpu", weights_only=True)  # nothing but plain types inside
    assert torch.serialization.get_unsafe_globals_in_checkpoint(path) == []
    assert plain["stage"] == "mdm" and plain["step"] == 2 and plain["config"] == cfg.to_dict()
    for key, value in trainer.model.state_dict().items():
        assert torch.equal(plain["model"][key], value)
    # the RNG states come back exactly
    ckpt.restore_rng(plain["rng"])
    first = (np.random.random(3), random.random(), torch.rand(3))
    ckpt.restore_rng(ckpt.load(path)["rng"])
    again = (np.random.random(3), random.random(), torch.rand(3))
    assert np.array_equal(first[0], again[0]) and first[1] == again[1] and torch.equal(first[2], again[2])


def test_save_refuses_what_a_weights_only_load_would_refuse(tmp_path):
    path = tmp_path / "step.pt"
    with pytest.raises(TypeError, match=r"step\.pt\.extras\.lr is a numpy\.float64"):
        ckpt.save_atomic({"model": {}, "extras": {"lr": np.float64(0.1)}}, path)
    with pytest.raises(TypeError, match=r"step\.pt\.extras\.mask\[1\] is a numpy\.ndarray"):
        ckpt.save_atomic({"extras": {"mask": [torch.zeros(1), np.zeros(2)]}}, path)
    assert not path.exists()


def test_checkpoints_written_before_weights_only_still_load(tmp_path):
    # older checkpoints hold numpy's RNG state as get_state()'s tuple with a uint32 array
    np.random.seed(3)
    legacy = {"torch": torch.get_rng_state(), "numpy": np.random.get_state(), "python": random.getstate()}
    expected = np.random.random(4)
    path = tmp_path / "old.pt"
    torch.save({"stage": "mdm", "rng": legacy}, path)
    np.random.seed(99)
    ckpt.restore_rng(ckpt.load(path)["rng"])
    assert np.array_equal(np.random.random(4), expected)
