"""Faults inside the verbs: each is one line on stderr naming the file or option and what to do,
with exit code 2 (bad input) or 1 (the run failed part-way), never a traceback. Finding nothing to
work on is an error, and a resumed run refuses options that would mix two settings in one output."""

from __future__ import annotations

import errno
import io
import json
import os
from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

from depthcur.cli import app
from depthcur.core.outputs import DiskFullError
from depthcur.schemas import RUN_OPTIONS_NAME, check_run_options, write_sample
from depthcur.synthetic import make_sample

runner = CliRunner()
H, W = 32, 48
TRAIN = ("--steps", "1", "--threads", "1", "--device", "cpu")


def run(*args) -> tuple[int, str]:
    result = runner.invoke(app, [str(a) for a in args])
    # the boundary turned any error into an exit code: nothing escaped as an exception
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result.exit_code, " ".join(result.output.split())


def write_raw(root: Path, n: int = 2, offset: int = 0) -> Path:
    for i in range(offset, offset + n):
        write_sample(root, make_sample(f"syn/s{i}", height=H, width=W, seed=i))
    return root


@pytest.fixture(scope="module")
def shards(tmp_path_factory, ray_local) -> Path:
    root = tmp_path_factory.mktemp("faults")
    code, out = run("build-shards", "--in", write_raw(root / "raw"), "--out", root / "shards")
    assert code == 0, out
    return root / "shards"


@pytest.fixture(scope="module")
def mdm_run(shards, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("mdm") / "run"
    code, text = run("train", "mdm", "--data", f"base={shards}", "--out", out, "--steps", "2", "--threads", "1",
                     "--device", "cpu")
    assert code == 0, text
    return out


# ---------------------------------------------------------------- build-shards


def test_build_shards_unknown_format(tmp_path):
    code, out = run("build-shards", "--in", write_raw(tmp_path / "raw", 1), "--out", tmp_path / "s", "--formats", "zip")
    assert code == 2 and "zip" in out and "parquet" in out


def test_build_shards_missing_input_folder(tmp_path):
    code, out = run("build-shards", "--in", tmp_path / "nothere", "--out", tmp_path / "s")
    assert code == 2 and "nothere" in out


def test_build_shards_empty_input_is_an_error(tmp_path, ray_local):
    (tmp_path / "empty").mkdir()
    code, out = run("build-shards", "--in", tmp_path / "empty", "--out", tmp_path / "s")
    assert code == 2 and "no sample folder" in out and "--in" in out
    assert not (tmp_path / "s" / "manifest.json").exists()


def test_meta_json_holding_a_list_is_quarantined_naming_the_file(tmp_path, ray_local):
    raw = write_raw(tmp_path / "raw", 2)
    meta = raw / "syn" / "s0" / "meta.json"
    meta.write_text("[1, 2]")
    code, out = run("build-shards", "--in", raw, "--out", tmp_path / "s")
    assert code == 1 and "meta.json holds a JSON list" in out and str(meta) in out
    quarantine = [json.loads(line) for line in (tmp_path / "s" / "quarantine.jsonl").read_text().splitlines()]
    assert [q["path"] for q in quarantine] == [str(raw / "syn" / "s0")]


# ---------------------------------------------------------------- eval / train --out


def test_out_that_is_a_file_is_refused(tmp_path, shards, mdm_run):
    blocker = tmp_path / "a_file"
    blocker.write_text("x")
    code, out = run("eval", "--data", shards, "--model", mdm_run, "--out", blocker)
    assert code == 2 and f"{blocker} is a file, not a folder (--out)" in out
    code, out = run("build-shards", "--in", shards, "--out", blocker)
    assert code == 2 and "is a file, not a folder" in out
    code, out = run("train", "mdm", "--data", shards, "--out", blocker, *TRAIN)
    assert code == 2 and f"{blocker} is a file, not a folder (--out)" in out
    code, out = run("curate", "filter", "--in", write_raw(tmp_path / "raw", 1), "--out", blocker)
    assert code == 2 and f"{blocker} is a file, not a folder (--out)" in out


# ---------------------------------------------------------------- train


@pytest.mark.parametrize("device, expected", [("bogus", "'bogus' is not a torch device (--device)"),
                                              ("cuda:99", "(--device)")])
def test_train_bad_device(tmp_path, shards, device, expected):
    code, out = run("train", "mdm", "--data", shards, "--out", tmp_path / "r", "--steps", "1", "--device", device)
    assert code == 2 and expected in out
    assert not (tmp_path / "r").exists()


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without a GPU")
def test_train_cuda_without_a_gpu(tmp_path, shards):
    code, out = run("train", "mdm", "--data", shards, "--out", tmp_path / "r", "--steps", "1", "--device", "cuda")
    assert code == 2 and "cuda was asked for but" in out and "--device cpu" in out


def test_train_on_a_shard_folder_without_samples(tmp_path, shards):
    empty = tmp_path / "empty_shards"
    empty.mkdir()
    manifest = json.loads((shards / "manifest.json").read_text())
    (empty / "manifest.json").write_text(json.dumps({**manifest, "shards": []}))
    code, out = run("train", "mdm", "--data", empty, "--out", tmp_path / "r", *TRAIN)
    assert code == 2 and f"{empty} holds no sample" in out
    (tmp_path / "no_manifest").mkdir()
    code, out = run("train", "mdm", "--data", tmp_path / "no_manifest", "--out", tmp_path / "r", *TRAIN)
    assert code == 2 and "run build-shards first" in out and f"(--data {tmp_path / 'no_manifest'})" in out
    assert len(out.strip().splitlines()) == 1


def test_distill_teacher_must_be_a_prompt_run(tmp_path, shards, mdm_run):
    code, out = run("train", "distill", "--data", shards, "--teacher", mdm_run, "--out", tmp_path / "d", *TRAIN)
    assert code == 2 and "is a 'mdm' checkpoint" in out and "(--teacher)" in out
    assert not (tmp_path / "d" / "teacher_raw").exists()     # refused before any labelling


def test_init_backbone_that_is_not_a_checkpoint(tmp_path, shards):
    text_file = tmp_path / "weights.pth"
    text_file.write_text("these are not weights")
    code, out = run("train", "mdm", "--data", shards, "--out", tmp_path / "r", "--init-backbone", text_file, *TRAIN)
    assert code == 2 and f"--init-backbone {text_file}: not a readable PyTorch file" in out
    torch.save(torch.zeros(3), tmp_path / "tensor.pth")
    code, out = run("train", "mdm", "--data", shards, "--out", tmp_path / "r2", "--init-backbone",
                    tmp_path / "tensor.pth", *TRAIN)
    assert code == 2 and "holds a Tensor, not a state dict" in out


def test_init_backbone_of_another_vit_family_is_a_usage_error(tmp_path, shards):
    """The multires networks take --init-backbone into their DINOv3 ViT: DINOv2 weights are refused."""
    from depthcur.train.config import load_config
    from depthcur.train.models import dinov2_key_shapes

    cfg = load_config("tiny")
    cfg.model.network, cfg.model.vit = "multires", "dinov2"
    dinov2 = tmp_path / "dinov2.pth"
    torch.save({k: torch.zeros(shape) for k, shape in dinov2_key_shapes(cfg.model.multires_spec().vit).items()},
               dinov2)
    code, out = run("train", "prompt", "--data", shards, "--out", tmp_path / "r", "--model-network", "multires",
                    "--init-backbone", dinov2, *TRAIN)
    assert code == 2 and f"--init-backbone {dinov2}: not a DINOv3 checkpoint" in out


def test_resume_with_other_data_is_refused(tmp_path, shards, mdm_run, ray_local):
    other = tmp_path / "other_shards"
    assert run("build-shards", "--in", write_raw(tmp_path / "raw2", 2, offset=10), "--out", other)[0] == 0
    code, out = run("train", "mdm", "--data", f"base={other}", "--out", mdm_run, "--resume", "--steps", "3",
                    "--threads", "1", "--device", "cpu")
    assert code == 2 and "the --data stream(s) base hold other shards" in out
    code, out = run("train", "mdm", "--data", f"renamed={shards}", "--out", mdm_run, "--resume", "--steps", "3",
                    "--threads", "1", "--device", "cpu")
    assert code == 2 and "trained on the --data stream(s) base, this run gives renamed" in out


def test_resume_with_steps_below_or_at_the_checkpoint(tmp_path, shards, mdm_run):
    resume = ("train", "mdm", "--data", f"base={shards}", "--out", mdm_run, "--resume", "--threads", "1",
              "--device", "cpu")
    code, out = run(*resume, "--steps", "1")
    assert code == 2 and "already at step 2, past --steps 1" in out and "nan" not in out
    code, out = run(*resume, "--steps", "2")
    assert code == 0 and "already at step 2 (--steps 2); nothing to train" in out and "nan" not in out


def test_checkpoint_write_on_a_full_disk(tmp_path, monkeypatch):
    from depthcur.train import checkpoint as ckpt

    def full(fd):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "fsync", full)
    path = ckpt.checkpoint_path(tmp_path, 1)
    with pytest.raises(DiskFullError) as caught:
        ckpt.save_atomic({"step": torch.tensor(1)}, path)
    assert "disk is full" in str(caught.value) and str(path) in str(caught.value)
    assert list(path.parent.iterdir()) == []                   # no half checkpoint, no temporary file


def test_checkpoint_write_failing_inside_torch_save_is_a_full_disk(tmp_path, monkeypatch):
    """On a really full disk the write fails inside torch.save, whose zip writer turns the OSError into
    ``RuntimeError: unexpected pos``; it must still read as a full disk and leave nothing behind."""
    from depthcur.train import checkpoint as ckpt

    class FillsUp(io.FileIO):
        """A file on a disk with room for 1000 bytes."""

        def write(self, data):
            if self.tell() + len(data) > 1000:
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
            return super().write(data)

    monkeypatch.setattr(ckpt, "open", lambda path, mode: FillsUp(path, mode.replace("b", "")), raising=False)
    path = ckpt.checkpoint_path(tmp_path, 1)
    with pytest.raises(DiskFullError) as caught:
        ckpt.save_atomic({"weights": torch.zeros(10_000)}, path)
    assert "disk is full" in str(caught.value) and str(path) in str(caught.value)
    assert list(path.parent.iterdir()) == []


# ---------------------------------------------------------------- capture


def test_capture_unknown_category(tmp_path):
    code, out = run("capture", "record", "--out", tmp_path / "cap", "--device", "replay:nowhere",
                    "--category", "kitchen")
    assert code == 2 and "'kitchen' is not one of the choices (--category)" in out and "office" in out


def test_capture_on_a_full_disk_leaves_nothing_partial(tmp_path, monkeypatch):
    from depthcur.capture.job import RecordJob, capture_frames, open_recorder
    from depthcur.capture.recorder import DiskSpaceError

    replay = write_raw(tmp_path / "replay", 2)
    job = RecordJob(out=tmp_path / "cap", device=f"replay:{replay}", min_free_mb=0, session="s1")
    with open_recorder(job) as recorder:
        capture_frames(recorder, 1, "office")
        before = sorted(p.relative_to(job.out) for p in job.out.rglob("*"))
        real_fsync = os.fsync

        def full(fd):
            raise OSError(errno.EDQUOT, os.strerror(errno.EDQUOT))

        monkeypatch.setattr(os, "fsync", full)
        with pytest.raises(DiskSpaceError, match="disk is full"):
            recorder.capture("office")
        monkeypatch.setattr(os, "fsync", real_fsync)
        assert len(recorder.captures) == 1
    assert sorted(p.relative_to(job.out) for p in job.out.rglob("*")) == before   # nothing partial, no tmp


# ---------------------------------------------------------------- curate: nothing found, changed options


def test_curate_import_finding_nothing_is_an_error(tmp_path, ray_local):
    (tmp_path / "empty").mkdir()
    code, out = run("curate", "import", "--in", tmp_path / "empty", "--format", "generic", "--out", tmp_path / "o")
    assert code == 2 and "found nothing to import" in out and "rgb/ and intrinsic.txt" in out
    code, out = run("curate", "import", "--in", write_raw(tmp_path / "raw", 1), "--format", "lingbot",
                    "--out", tmp_path / "o2")
    assert code == 2 and "SCENE/SEQUENCE/ holding color/" in out


def test_curate_verb_on_an_empty_folder_is_an_error(tmp_path, ray_local):
    (tmp_path / "empty").mkdir()
    code, out = run("curate", "filter", "--in", tmp_path / "empty", "--out", tmp_path / "o")
    assert code == 2 and "no sample folder" in out


def test_curate_resume_with_other_options_is_refused(tmp_path, ray_local):
    raw = write_raw(tmp_path / "raw", 2)
    out_dir = tmp_path / "filtered"
    assert run("curate", "filter", "--in", raw, "--out", out_dir)[0] == 0
    code, out = run("curate", "filter", "--in", raw, "--out", out_dir, "--max-depth", 5)
    assert code == 2 and "--max-depth-m 80.0 then, 5.0 now" in out
    # how the work runs is not an output option
    code, out = run("curate", "filter", "--in", raw, "--out", out_dir, "--ray-address", "local")
    assert code == 0, out


# ---------------------------------------------------------------- render resume


def test_run_options_recorded_then_compared(tmp_path):
    from depthcur.render.config import RenderConfig
    from depthcur.render.runner import RENDER_MAY_DIFFER

    first = RenderConfig(out=tmp_path, resolution=(640, 480), workers=1)
    check_run_options(tmp_path, first.to_dict(), RENDER_MAY_DIFFER)
    recorded = json.loads((tmp_path / RUN_OPTIONS_NAME).read_text())
    assert recorded["resolution"] == [640, 480] and recorded["sgm_block_size"] == first.sgm.block_size
    assert "workers" not in recorded and "out" not in recorded
    # workers, threads, more scenes: the same kind of samples
    check_run_options(tmp_path, RenderConfig(out=tmp_path, resolution=(640, 480), workers=4, scenes="procedural:9",
                                             threads_per_worker=8).to_dict(), RENDER_MAY_DIFFER)
    second = RenderConfig(out=tmp_path, resolution=(320, 240))
    second.sgm.block_size = 7
    with pytest.raises(ValueError) as caught:
        check_run_options(tmp_path, second.to_dict(), RENDER_MAY_DIFFER)
    message = str(caught.value)
    assert "--resolution 640,480 then, 320,240 now" in message and "--sgm-block-size 5 then, 7 now" in message
    assert json.loads((tmp_path / RUN_OPTIONS_NAME).read_text()) == recorded     # the record is not overwritten


def test_render_resume_with_another_resolution_fails_before_rendering(tmp_path):
    out_dir = tmp_path / "render"
    out_dir.mkdir()
    (out_dir / RUN_OPTIONS_NAME).write_text(json.dumps({"resolution": [640, 480], "spp": 16}))
    code, out = run("render", "--scenes", "procedural:1", "--out", out_dir, "--resolution", "64x48")
    assert code == 2 and "--resolution 640,480 then, 64,48 now" in out and "spp" not in out
    assert sorted(p.name for p in out_dir.iterdir()) == [RUN_OPTIONS_NAME]


def test_train_on_a_full_disk_is_one_line_and_leaves_no_checkpoint(tmp_path, shards, monkeypatch):
    def full(fd):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "fsync", full)
    code, out = run("train", "mdm", "--data", shards, "--out", tmp_path / "r", *TRAIN)
    assert code == 1 and "the disk is full" in out and str(tmp_path / "r") in out
    assert not list((tmp_path / "r").rglob("*.pt")) and not list((tmp_path / "r").rglob("*.tmp"))


def test_refused_input_leaves_no_options_record(tmp_path, ray_local):
    (tmp_path / "empty").mkdir()
    assert run("curate", "filter", "--in", tmp_path / "empty", "--out", tmp_path / "o")[0] == 2
    assert not (tmp_path / "o" / RUN_OPTIONS_NAME).exists()
    # so the corrected command may use other options
    code, out = run("curate", "filter", "--in", write_raw(tmp_path / "raw", 1), "--out", tmp_path / "o",
                    "--max-depth", 5)
    assert code == 0, out


def test_distill_resume_with_another_teacher_is_refused(tmp_path, shards, ray_local):
    """The labels in OUT/labels came from the first --teacher; resuming with another one used to go on
    silently on the old labels. The checkpoint records the teacher checkpoint's sha256."""
    from depthcur.train import checkpoint as ckpt

    teacher = tmp_path / "prompt"
    assert run("train", "prompt", "--data", f"base={shards}", "--out", teacher, *TRAIN)[0] == 0
    student = tmp_path / "distill"
    code, out = run("train", "distill", "--data", f"base={shards}", "--teacher", teacher, "--out", student, *TRAIN)
    assert code == 0, out
    first = ckpt.latest_checkpoint(teacher)
    other = tmp_path / "other_teacher.pt"        # the same teacher with one weight changed: another checkpoint
    state = torch.load(first, weights_only=True)
    name = next(iter(state["model"]))
    state["model"][name] = state["model"][name] + 1
    torch.save(state, other)
    resume = ("train", "distill", "--data", f"base={shards}", "--out", student, "--resume", "--steps", "2",
              "--threads", "1", "--device", "cpu")
    code, out = run(*resume, "--teacher", other)
    assert code == 2 and "labels of another --teacher" in out and "(--resume --teacher)" in out, out
    code, out = run(*resume)
    assert code == 2 and "this run gives none (--resume --teacher)" in out, out
    # the same checkpoint, named as a file rather than its run folder: the same teacher
    code, out = run(*resume, "--teacher", first)
    assert code == 0, out
    assert ckpt.latest_checkpoint(student).name == ckpt.checkpoint_path(student, 2).name
