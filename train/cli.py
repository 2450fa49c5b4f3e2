"""``depthcur train {mdm, prompt, distill}``.

The options are the fields of the stage's run dataclass (TrainRun, PromptRun, DistillRun) and of
TrainConfig, section by section (``--model-depth``, ``--optim-lr-head``, ``--run-steps`` alias
``--steps``). ``--preset`` picks the base config, ``--config FILE`` replaces some of its values
(YAML/TOML/JSON; sections such as ``model: {depth: 4}`` or flat keys such as ``model-depth: 4``),
and flags replace those.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from depthcur.core.config import ConfigOption
from depthcur.core.exits import UsageError, input_error, items_failed
from depthcur.core.options import options_from

from .config import DistillRun, MDMRun, PromptRun, TrainConfig, TrainRun, base_config

#: --steps is the flag train had before its options were generated from TrainConfig; --preset (network
#: size) and --recipe (a paper's schedule) together make the config the other flags start from
TRAIN_OPTIONS = {"aliases": {"run_steps": "--steps", "data_global_batch": "--global-batch"}, "bases": {TrainConfig: (("preset", "recipe"), base_config)}}


def _run(stage: str, run: TrainRun, cfg: TrainConfig, prior: Optional[Path] = None,
         teacher: Optional[Path] = None, init_from: Optional[Path] = None) -> None:
    from .config import ConfigError, load_config
    from depthcur.core.outputs import DiskFullError

    from .loop import TrainingDiverged
    from .runner import RunRequest, run_training, run_with_ray_train

    verb = f"train {stage}"
    try:
        cfg = load_config(cfg)          # validated before any work starts
    except ConfigError as exc:
        raise input_error(verb, exc) from None
    if run.dry_run:
        _print_dry_run(stage, run, cfg)
        return
    if not run.data:
        raise UsageError("no training data", "--data", "give at least one --data shard file or folder")
    req = RunRequest(stage=stage, data=list(run.data), config=cfg, out=run.out, resume=run.resume,
                     init_backbone=str(run.init_backbone) if run.init_backbone else None, device=run.device,
                     threads=run.threads, ray_address=run.ray_address, prior=str(prior) if prior else None,
                     teacher=str(teacher) if teacher else None, init_from=str(init_from) if init_from else None)
    try:
        if run.ray_workers > 0:
            import torch

            result = run_with_ray_train(req, run.ray_workers, use_gpu=torch.cuda.is_available())
            if result.error:
                raise items_failed(verb, [f"Ray Train failed: {result.error}"])
            typer.echo(f"{stage}: Ray Train finished on {run.ray_workers} worker(s); run folder {run.out.resolve()}")
            return
        result = run_training(req)
    except (ConfigError, FileNotFoundError, FileExistsError, ValueError) as exc:
        raise input_error(verb, exc) from None
    except (TrainingDiverged, DiskFullError) as exc:
        raise items_failed(verb, [exc]) from None
    if not result.losses:   # --resume of a run already at --steps: nothing left to train
        typer.echo(f"{stage}: already at step {result.step} (--steps {cfg.run.steps}); nothing to train, "
                   f"checkpoint {result.checkpoint}")
        return
    typer.echo(f"{stage}: step {result.step}, last loss {result.losses[-1]:.4f}, "
               f"{result.skipped} sample(s) skipped, checkpoint {result.checkpoint}")


def _print_dry_run(stage: str, run: TrainRun, cfg: TrainConfig) -> None:
    """The resolved schedule as JSON; the world size is --ray-workers, torchrun's WORLD_SIZE, or 1."""
    import json
    import os

    from .config import dry_run_summary

    world_size = run.ray_workers or int(os.environ.get("WORLD_SIZE", "1"))
    typer.echo(json.dumps(dry_run_summary(stage, cfg, world_size), indent=2, ensure_ascii=False))


def register(app: typer.Typer) -> None:
    train = typer.Typer(help="Train MDM, sparse-prompt and distillation stages.", no_args_is_help=True)

    @train.command(help="Masked Depth Modeling: RGB-D ViT + ConvStack, L1 on valid GT.")
    @options_from(MDMRun, TrainConfig, **TRAIN_OPTIONS)
    def mdm(run: MDMRun, cfg: TrainConfig, config: ConfigOption = None) -> None:
        _run("mdm", run, cfg, init_from=run.init_from)

    @train.command(help="Sparse-prompt pretraining: conditioned DPT head on [PDSA, GMDR, mask].")
    @options_from(PromptRun, TrainConfig, **TRAIN_OPTIONS)
    def prompt(run: PromptRun, cfg: TrainConfig, config: ConfigOption = None) -> None:
        _run("prompt", run, cfg, prior=run.prior)

    @train.command(help="Distillation: the teacher labels --data (Ray Data actors), a prompt-free student trains.")
    @options_from(DistillRun, TrainConfig, **TRAIN_OPTIONS)
    def distill(run: DistillRun, cfg: TrainConfig, config: ConfigOption = None) -> None:
        _run("distill", run, cfg, teacher=run.teacher, init_from=run.init_from)

    app.add_typer(train, name="train")
