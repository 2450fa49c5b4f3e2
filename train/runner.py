"""Entry point shared by the CLI, ``torchrun`` workers and Ray Train workers."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from depthcur.core.outputs import check_out_folder
from depthcur.core.progress import get_logger

from .config import TrainConfig, load_config, replace_steps

log = get_logger(__name__)


@dataclass
class RunRequest:
    stage: str                       # mdm, prompt, distill
    data: list[str]                  # NAME=PATH or PATH shard files/folders
    config: str | TrainConfig        # preset name, config file or a resolved config
    out: Path
    steps: int | None = None
    resume: bool = False
    init_backbone: str | None = None
    prior: str | None = None         # prompt: the prior model (train/priors.py), by --prompt-prior
    teacher: str | None = None       # distill: prompt run/checkpoint that labels --data first
    init_from: str | None = None     # mdm: released LingBot-Depth checkpoint or MDM run to start from
    device: str | None = None
    threads: int | None = None
    ray_address: str | None = None

    def resolved_config(self) -> TrainConfig:
        return replace_steps(load_config(self.config), self.steps)


def build_stage(req: RunRequest, cfg: TrainConfig):
    from .stages import stage_class

    stage = stage_class(req.stage).for_training(cfg, prior=req.prior)
    if req.init_from:
        stage.start_from(req.init_from)
    return stage


def init_distributed_from_env() -> None:
    """Join the process group ``torchrun`` describes in the environment (no-op for one process)."""
    import torch

    if int(os.environ.get("WORLD_SIZE", "1")) <= 1 or torch.distributed.is_initialized():
        return
    backend = "nccl" if torch.cuda.is_available() else "gloo"
    if torch.cuda.is_available():
        torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", 0)))
    torch.distributed.init_process_group(backend=backend)
    log.info("joined %s process group: rank %d of %d", backend, torch.distributed.get_rank(),
             torch.distributed.get_world_size())


def run_training(req: RunRequest):
    """Train one stage; returns the loop's TrainResult."""
    import torch

    from .data.mixing import TEACHER_IDENTITY, data_identity, shard_streams, teacher_identity
    from .device import torch_device
    from .loop import DistContext, Trainer
    from .stages import stage_class

    if req.threads:
        torch.set_num_threads(req.threads)
    torch_device(req.device)   # a bad --device or --out fails here, before teacher labelling or data loading
    check_out_folder(req.out)
    init_distributed_from_env()
    cfg = req.resolved_config()
    data = list(req.data)
    identity = data_identity(data)   # of the inputs, not of the teacher labels made from them; checks --data
    if stage_class(req.stage).trains_on_teacher_labels:
        identity[TEACHER_IDENTITY] = teacher_identity(req.teacher)   # and which teacher labels them
    if stage_class(req.stage).trains_on_teacher_labels and req.teacher:
        labels = Path(req.out) / "labels"
        from depthcur.curate.shards.manifest import has_manifest

        if not has_manifest(labels):
            from .teacher_labels import label_shards

            if DistContext.current().is_main:
                label_shards(data, req.teacher, Path(req.out), seed=cfg.run.seed, ray_address=req.ray_address)
            if torch.distributed.is_initialized():
                torch.distributed.barrier()
        data = [f"teacher={labels}"]
    dist = DistContext.current()
    streams = shard_streams(data, cfg.data.weights, shuffle=cfg.data.shuffle, seed=cfg.run.seed,
                            rank=dist.rank, world_size=dist.world_size)
    trainer = Trainer(build_stage(req, cfg), cfg, streams, Path(req.out), resume=req.resume,
                      init_backbone=req.init_backbone, device=req.device, data_identity=identity)
    return trainer.run()


def run_with_ray_train(req: RunRequest, num_workers: int, use_gpu: bool):
    """Multi-GPU through Ray Train's ``TorchTrainer``: each worker runs ``run_training``."""
    from ray.train import ScalingConfig
    from ray.train.torch import TorchTrainer

    from depthcur.core.ray_runner import init_ray

    init_ray(req.ray_address)

    def worker(config: dict) -> None:
        run_training(RunRequest(**config))

    # workers may start in another directory: hand them absolute paths
    request = {k: (str(v) if isinstance(v, Path) else v) for k, v in req.__dict__.items()}
    request["out"] = str(Path(req.out).resolve())
    request["data"] = [_absolute_data_arg(text) for text in req.data]
    for key in ("init_backbone", "init_from", "prior", "teacher"):
        if request[key] and Path(request[key]).exists():
            request[key] = str(Path(request[key]).resolve())
    trainer = TorchTrainer(worker, train_loop_config=request,
                           scaling_config=ScalingConfig(num_workers=num_workers, use_gpu=use_gpu))
    return trainer.fit()


def _absolute_data_arg(text: str) -> str:
    from .data.mixing import parse_data_arg

    name, path = parse_data_arg(text)
    return f"{name}={path.resolve()}"
