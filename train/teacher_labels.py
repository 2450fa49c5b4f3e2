"""Teacher labels for distillation (MetricAnything §3.3).

``label_shards`` runs the prompt-conditioned teacher over input shards in a Ray Data actor
stage (a GPU per actor when CUDA is there, CPU otherwise), writes one raw sample folder per
labelled image with ``depth_gt_kind="teacher"``, and packs them with curate's
``build_shards``. The distill stage then trains its student on those shards.
"""

from __future__ import annotations

import zlib
from pathlib import Path
from typing import Sequence

import numpy as np

from depthcur.core.progress import get_logger

log = get_logger(__name__)


class TeacherLabeler:
    """Ray Data actor: loads the teacher once, labels every sample of the shard it is given."""

    def __init__(self, teacher: str, raw_out: str, seed: int, device: str | None = None):
        from .inference import load_predictor

        self.predictor = load_predictor(teacher, device=device)
        self.raw_out = Path(raw_out)
        self.seed = seed

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        keys, skipped = [], 0
        for shard in batch["shard"]:
            for sample in _read_shard(str(shard)):
                done = self.label(sample)
                if done is None:
                    skipped += 1
                else:
                    keys.append(done)
        return {"keys": np.array([";".join(keys)]), "skipped": np.array([skipped])}

    def label(self, sample) -> str | None:
        from depthcur.schemas import DepthGtKind, build_key, sample_exists, with_stats, write_sample

        key = build_key("teacher", sample.key)
        if sample_exists(self.raw_out, key):  # resume: already labelled
            return key
        sparse = sample.depth_gt if sample.depth_gt is not None else sample.depth_raw
        if sparse is None or not (sparse > 0).any():
            log.warning("distill: %s has no depth to prompt the teacher with; skipped", sample.key)
            return None
        rng = np.random.default_rng([self.seed, zlib.crc32(sample.key.encode())])
        prompt = _sample_prompt_for(self.predictor, sparse, rng)
        depth = self.predictor.predict(sample.rgb, sample.depth_raw, sample.K_rgb, prompt=prompt)
        labelled = sample.replace(key=key, depth_gt=depth.astype(np.float32), depth_gt_kind=DepthGtKind.TEACHER,
                                  provenance={**sample.provenance, "teacher": self.predictor.name,
                                              "teacher_checkpoint": self.predictor.checkpoint_sha256},
                                  ir_left=None, ir_right=None, disparity_gt=None, K_ir=None, baseline_m=None,
                                  T_rgb_from_ir=None, depth_encoding={})
        write_sample(self.raw_out, with_stats(labelled))
        return key


def _sample_prompt_for(predictor, sparse: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    from .prompts import prompt_count, sample_prompt

    h, w = sparse.shape
    return sample_prompt(sparse, prompt_count(predictor.config.prompt, h, w, rng), rng)


def _read_shard(path: str):
    from depthcur.train.data.shards import ShardDataset

    return ShardDataset([path], shuffle=False)


def check_teacher(teacher: str | Path) -> None:
    """Refuse a --teacher that is not a prompt-stage run or checkpoint, before any labelling starts."""
    from depthcur.core.exits import UsageError

    from . import checkpoint as ckpt

    path = ckpt.latest_checkpoint(Path(teacher))
    stage = ckpt.load(path).get("stage")
    if stage != "prompt":
        raise UsageError(f"{path} is a {stage!r} checkpoint; the teacher must be a prompt-stage one", "--teacher",
                         "pass the run folder of 'depthcur train prompt'")


def label_shards(data: Sequence[str], teacher: str, out: Path, *, seed: int = 0, samples_per_shard: int = 64,
                 num_actors: int | None = None, ray_address: str | None = None) -> Path:
    """Teacher-label every sample of ``data`` shards into ``out/labels`` shards; return that folder."""
    import ray
    import torch

    from depthcur.curate.shards.build import build_shards
    from depthcur.core.ray_runner import init_ray
    from depthcur.train.data.mixing import parse_data_arg
    from depthcur.train.data.shards import resolve_shards

    check_teacher(teacher)
    shard_files = [ref.path for text in data for ref in resolve_shards([parse_data_arg(text)[1]])]
    raw_out = Path(out) / "teacher_raw"
    raw_out.mkdir(parents=True, exist_ok=True)
    init_ray(ray_address)
    use_gpu = torch.cuda.is_available()
    actors = num_actors or max(1, min(len(shard_files), int(ray.cluster_resources().get("GPU" if use_gpu else "CPU", 1))))
    log.info("distill: labelling %d shard(s) with %d %s actor(s)", len(shard_files), actors, "GPU" if use_gpu else "CPU")
    ds = ray.data.from_items([{"shard": s} for s in shard_files], override_num_blocks=len(shard_files))
    labelled = ds.map_batches(TeacherLabeler, batch_size=1, concurrency=actors,
                              num_gpus=1 if use_gpu else 0, num_cpus=0 if use_gpu else 1,
                              fn_constructor_kwargs={"teacher": str(teacher), "raw_out": str(raw_out), "seed": seed,
                                                     "device": "cuda" if use_gpu else "cpu"})
    rows = labelled.take_all()
    count = sum(len([k for k in str(r["keys"]).split(";") if k]) for r in rows)
    skipped = sum(int(r["skipped"]) for r in rows)
    if count == 0:
        raise RuntimeError(f"distill: the teacher labelled no sample from {list(data)} ({skipped} skipped)")
    label_dir = Path(out) / "labels"
    build_shards(inputs=[raw_out], out=label_dir, formats=("parquet",), samples_per_shard=samples_per_shard)
    log.info("distill: %d teacher labels (%d skipped) -> %s", count, skipped, label_dir)
    return label_dir
