"""Integration tests of the train stage on real shards built by curate's build_shards.

Tiny config, CPU, one torch thread (the suite shares 2 cores). Losses are compared on a fixed
held-out batch before and after training, and a SIGKILLed run resumed with --resume must
reproduce the uninterrupted run's losses exactly.
"""

from __future__ import annotations

import csv
import os
import signal
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from depthcur.schemas import DepthGtKind, Source, write_sample
from depthcur.synthetic import make_sample
from depthcur.train.config import load_config
from depthcur.train.data.mixing import MixedStream, MixPosition, memory_stream
from depthcur.train.inference import load_predictor
from depthcur.train.loop import Trainer, TrainingDiverged, read_losses
from depthcur.train.runner import RunRequest, run_training
from depthcur.train.stages import MDMStage

torch.set_num_threads(1)
H, W = 60, 80


def samples(n: int, offset: int = 0, source: Source = Source.SIM, dataset: str = "synthetic"):
    return [make_sample(f"{dataset}/s{i:03d}", height=H, width=W, seed=i, source=source, dataset=dataset)
            for i in range(offset, offset + n)]


@pytest.fixture(scope="module")
def shards(tmp_path_factory, ray_local) -> Path:
    from depthcur.curate.shards.build import build_shards

    root = tmp_path_factory.mktemp("train_shards")
    for sample in samples(8):
        write_sample(root / "raw", sample)
    build_shards(inputs=[root / "raw"], out=root / "shards", formats=("parquet", "webdataset"), samples_per_shard=4)
    return root / "shards"


@pytest.fixture(scope="module")
def mdm_run(shards, tmp_path_factory):
    """A tiny MDM run on the Parquet shards; returns (run dir, loss before, loss after)."""
    out = tmp_path_factory.mktemp("mdm_run")
    req = RunRequest(stage="mdm", data=[f"sim={shards}"], config="tiny", out=out, steps=40)
    held_out = samples(4, offset=100)
    result = run_training(req)
    return out, result, held_out


def eval_checkpoint_loss(run_dir: Path, step: int, held_out) -> float:
    from depthcur.train import checkpoint as ckpt

    cfg = load_config("tiny")
    trainer = Trainer(MDMStage(cfg), cfg, [memory_stream("x", held_out)], run_dir / f"eval_{step}")
    if step:
        trainer.model.load_state_dict(ckpt.load(ckpt.checkpoint_path(run_dir, step))["model"])
    return trainer.eval_loss(held_out)


def test_mdm_trains_from_shards_and_loss_falls(mdm_run):
    run_dir, result, held_out = mdm_run
    assert result.step == 40 and result.skipped == 0
    losses = read_losses(run_dir)
    assert sorted(losses) == list(range(1, 41)) and all(np.isfinite(list(losses.values())))
    assert (run_dir / "config.json").is_file() and any((run_dir / "tensorboard").iterdir())
    before = eval_checkpoint_loss(run_dir, 0, held_out)  # same seed -> same initial weights
    after = eval_checkpoint_loss(run_dir, 40, held_out)
    assert after < 0.9 * before, (before, after)
    assert np.mean([losses[s] for s in range(31, 41)]) < np.mean([losses[s] for s in range(1, 11)])


def test_inference_contract(mdm_run):
    run_dir, _, held_out = mdm_run
    predictor = load_predictor(run_dir)
    assert predictor.stage == "mdm" and predictor.name.startswith("mdm:")
    s = held_out[0]
    depth = predictor.predict(s.rgb, s.depth_raw, s.K_rgb)
    assert depth.shape == (H, W) and depth.dtype == np.float32 and (depth > 0).all()
    mono = predictor.predict(s.rgb, np.zeros((H, W), np.float32), s.K_rgb)
    assert mono.shape == (H, W)
    with pytest.raises(ValueError, match="depth_raw shape"):
        predictor.predict(s.rgb, s.depth_raw[:10], s.K_rgb)


def _run_cli(depthcur_cmd, args, **kw):
    env = {**os.environ, "OMP_NUM_THREADS": "1", "DEPTHCUR_LOG_LEVEL": "WARNING"}
    return subprocess.Popen([*depthcur_cmd, "train", "mdm", *args, "--threads", "1"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, **kw)


def test_sigkill_then_resume_gives_the_same_losses(shards, tmp_path, depthcur_cmd):
    config = tmp_path / "tiny_ckpt4.yaml"
    # background prefetch on: the saved position must be what was consumed, not what was read ahead
    config.write_text("preset: tiny\ndata: {prefetch_batches: 2}\nrun: {checkpoint_every: 4, steps: 24}\n")
    # the WebDataset spelling this time (the other tests read the Parquet one)
    wds = sorted((shards / "webdataset").glob("*.tar"))
    assert len(wds) == 2
    common = [arg for path in wds for arg in ("--data", f"sim={path}")] + ["--config", str(config)]

    straight = _run_cli(depthcur_cmd, [*common, "--out", str(tmp_path / "straight")])
    assert straight.wait(timeout=300) == 0, straight.stdout.read()

    killed_dir = tmp_path / "killed"
    proc = _run_cli(depthcur_cmd, [*common, "--out", str(killed_dir)])
    metrics = killed_dir / "metrics.csv"
    deadline = time.time() + 240
    while time.time() < deadline and proc.poll() is None:
        if metrics.exists() and len(metrics.read_text().splitlines()) > 10:  # header + 10 steps
            break
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL, "the run ended before it could be killed"
    assert max(read_losses(killed_dir)) < 24

    resumed = _run_cli(depthcur_cmd, [*common, "--out", str(killed_dir), "--resume"])
    assert resumed.wait(timeout=300) == 0, resumed.stdout.read()
    want, got = read_losses(tmp_path / "straight"), read_losses(killed_dir)
    assert sorted(got) == list(range(1, 25))
    np.testing.assert_allclose([got[s] for s in range(1, 25)], [want[s] for s in range(1, 25)], rtol=1e-6)
    with open(metrics, newline="") as fh:
        assert [int(r["step"]) for r in csv.DictReader(fh)] == list(range(1, 25))  # no duplicated rows


def test_prompt_then_distill_end_to_end(mdm_run, shards, tmp_path):
    mdm_dir = mdm_run[0]
    prompt_dir = tmp_path / "prompt"
    result = run_training(RunRequest(stage="prompt", data=[f"sim={shards}"], config="tiny", out=prompt_dir,
                                     steps=6, prior=str(mdm_dir)))
    assert result.step == 6 and np.isfinite(result.losses).all()
    teacher = load_predictor(prompt_dir)
    assert teacher.stage == "prompt" and teacher.trained.prior.kind == "mdm"  # the MDM prior travels with it
    s = mdm_run[2][0]
    sparse = np.where(np.random.default_rng(0).random((H, W)) < 0.05, s.depth_gt, 0).astype(np.float32)
    assert teacher.predict(s.rgb, None, s.K_rgb, prompt=sparse).shape == (H, W)

    distill_dir = tmp_path / "distill"
    result = run_training(RunRequest(stage="distill", data=[f"sim={shards}"], config="tiny", out=distill_dir,
                                     steps=4, teacher=str(prompt_dir)))
    assert result.step == 4 and np.isfinite(result.losses).all()
    from depthcur.train.data.shards import ShardDataset

    labels = list(ShardDataset([distill_dir / "labels"], shuffle=False))
    assert len(labels) == 8
    assert all(x.depth_gt_kind in (DepthGtKind.TEACHER, "teacher") for x in labels)
    assert all(x.key.startswith("teacher/") and (x.depth_gt > 0).all() for x in labels)
    student = load_predictor(distill_dir)
    assert student.stage == "distill"
    assert student.predict(s.rgb, None, s.K_rgb).shape == (H, W)


def test_nan_guard_stops_and_keeps_the_last_good_checkpoint(tmp_path):
    cfg = load_config("tiny")
    cfg.run.checkpoint_every, cfg.run.steps = 2, 10

    class PoisonedMDM(MDMStage):
        def loss(self, model, batch):
            loss = super().loss(model, batch)
            return loss * float("nan") if self.calls_left() == 0 else loss

        count = 0

        def calls_left(self):
            PoisonedMDM.count += 1
            return 5 - PoisonedMDM.count

    trainer = Trainer(PoisonedMDM(cfg), cfg, [memory_stream("sim", samples(4))], tmp_path)
    with pytest.raises(TrainingDiverged, match=r"step 5: the loss is nan.*step_00000004\.pt"):
        trainer.run()
    assert sorted(p.name for p in (tmp_path / "checkpoints").iterdir()) == ["step_00000002.pt", "step_00000004.pt"]
    assert max(read_losses(tmp_path)) == 4


def test_bad_samples_are_skipped_and_counted(tmp_path):
    cfg = load_config("tiny")
    cfg.run.steps = 3
    good = samples(3)
    broken = good[0].replace(key="synthetic/broken", depth_gt=None)
    result = Trainer(MDMStage(cfg), cfg, [memory_stream("sim", [broken, *good])], tmp_path).run()
    assert result.step == 3 and result.skipped >= 1
    with open(tmp_path / "metrics.csv", newline="") as fh:
        assert int(list(csv.DictReader(fh))[-1]["skipped"]) == result.skipped


def test_mixing_weights_and_exact_position():
    sim = memory_stream("sim", samples(5), weight=3.0)
    real = memory_stream("real", samples(3, offset=50, source=Source.REAL, dataset="rig"), weight=1.0)
    stream = MixedStream([sim, real], seed=4)
    drawn = [next(stream)[1].dataset for _ in range(400)]
    assert 0.68 < drawn.count("synthetic") / 400 < 0.82
    saved = MixPosition.from_dict(stream.position.to_dict())
    expected = [next(stream)[1].key for _ in range(20)]
    resumed = MixedStream([sim, real], seed=4, position=saved)
    assert [next(resumed)[1].key for _ in range(20)] == expected


@pytest.mark.parametrize("stage, steps", [("mdm", 4), ("prompt", 2), ("distill", 2)])
def test_torchrun_ddp_two_cpu_processes(shards, tmp_path, stage, steps):
    """DDP over gloo: each rank reads its own shard; rank 0 saves both ranks' data positions. The
    prompt and distill networks keep parameters no step uses, which DDP must be told about."""
    from depthcur.train import checkpoint as ckpt

    env = {**os.environ, "OMP_NUM_THREADS": "1", "DEPTHCUR_LOG_LEVEL": "WARNING"}
    torchrun = str(Path(os.sys.executable).parent / "torchrun")
    depthcur = str(Path(os.sys.executable).parent / "depthcur")
    proc = subprocess.run([torchrun, "--standalone", "--nproc_per_node", "2", depthcur, "train", stage,
                           "--data", f"sim={shards}", "--preset", "tiny", "--out", str(tmp_path),
                           "--steps", str(steps), "--threads", "1"], env=env, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    state = ckpt.load(ckpt.latest_checkpoint(tmp_path))
    assert state["stage"] == stage and state["step"] == steps and sorted(state["data"]) == ["0", "1"]
    # batch 2 per rank and step, each rank drawing from its own shard of 4 samples
    assert all(pos["draws"] == 2 * steps for pos in state["data"].values())
    losses = read_losses(tmp_path)
    assert sorted(losses) == list(range(1, steps + 1)) and np.isfinite(list(losses.values())).all()


def test_resume_refuses_a_changed_config_and_ignores_partial_checkpoints(tmp_path):
    from depthcur.train import checkpoint as ckpt
    from depthcur.train.config import ConfigError

    cfg = load_config("tiny")
    cfg.run.steps, cfg.run.checkpoint_every = 2, 2
    stream = [memory_stream("sim", samples(2))]
    Trainer(MDMStage(cfg), cfg, stream, tmp_path).run()
    # a crash mid-write leaves only a hidden temporary file, never a checkpoint
    (tmp_path / "checkpoints" / ".step_00000004.pt.123.tmp").write_bytes(b"half a checkpoint")
    assert [step for step, _ in ckpt.list_checkpoints(tmp_path)] == [2]
    with pytest.raises(FileExistsError, match="--resume"):
        Trainer(MDMStage(cfg), cfg, stream, tmp_path)
    changed = load_config("tiny")
    changed.optim.lr_head = 1.0
    with pytest.raises(ConfigError, match="optim.lr_head"):
        Trainer(MDMStage(changed), changed, stream, tmp_path, resume=True)
    longer = load_config("tiny")
    longer.run.steps, longer.run.checkpoint_every = 3, 2
    assert Trainer(MDMStage(longer), longer, stream, tmp_path, resume=True).run().step == 3
