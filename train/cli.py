"""``depthcur train {mdm, prompt, distill}``.

``--config`` takes a typed training config: a preset name (tiny, small, base, large) or a
YAML/TOML/JSON file with ``preset:`` plus overrides. ``--options FILE`` holds values for the
command-line flags themselves (the project-wide ``--config`` semantics under another name).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, List, Optional

import typer

from depthcur.core.config import apply_config_file

OptionsFile = Annotated[
    Optional[Path],
    typer.Option("--options", help="YAML or TOML file of values for these flags; flags override it.",
                 is_eager=True, callback=apply_config_file, exists=False),
]
DataOpt = Annotated[List[str], typer.Option("--data", help="Shard file or folder, optionally NAME=PATH "
                                                           "(NAME keys data.weights). Repeat to mix datasets.")]
ConfigName = Annotated[str, typer.Option("--config", help="Preset (tiny, small, base, large) or a config file.")]
OutOpt = Annotated[Path, typer.Option("--out", help="Run folder: config.json, checkpoints/, metrics.csv, tensorboard/.")]
StepsOpt = Annotated[Optional[int], typer.Option("--steps", help="Override run.steps.")]
ResumeOpt = Annotated[bool, typer.Option("--resume", help="Continue exactly from the newest checkpoint in --out.")]
InitOpt = Annotated[Optional[Path], typer.Option("--init-backbone", help="Local DINOv2 checkpoint (.pth) to load.")]
DeviceOpt = Annotated[Optional[str], typer.Option("--device", help="cpu, cuda, cuda:1 ... (default: cuda if present).")]
ThreadsOpt = Annotated[Optional[int], typer.Option("--threads", help="torch CPU threads.")]
RayWorkersOpt = Annotated[int, typer.Option("--ray-workers", help="Train with Ray Train TorchTrainer on N workers "
                                                                  "(0 = this process, or torchrun).")]
RayAddressOpt = Annotated[Optional[str], typer.Option("--ray-address", help="Join a Ray cluster (default: local).")]


def _run(stage: str, data: list[str], config_name: str, out: Path, steps: Optional[int], resume: bool,
         init_backbone: Optional[Path], device: Optional[str], threads: Optional[int], ray_workers: int,
         ray_address: Optional[str], **extra) -> None:
    from depthcur.train.config import ConfigError
    from depthcur.train.loop import TrainingDiverged
    from depthcur.train.runner import RunRequest, run_training, run_with_ray_train

    if not data:
        raise typer.BadParameter("give at least one --data shard file or folder", param_hint="--data")
    req = RunRequest(stage=stage, data=list(data), config=config_name, out=out, steps=steps, resume=resume,
                     init_backbone=str(init_backbone) if init_backbone else None, device=device, threads=threads,
                     ray_address=ray_address, **extra)
    try:
        if ray_workers > 0:
            import torch

            result = run_with_ray_train(req, ray_workers, use_gpu=torch.cuda.is_available())
            typer.echo(f"{stage}: Ray Train finished on {ray_workers} worker(s); run folder {out.resolve()} "
                       f"({'error: ' + str(result.error) if result.error else 'ok'})")
            return
        result = run_training(req)
    except (ConfigError, FileNotFoundError, FileExistsError, ValueError) as exc:
        typer.secho(f"depthcur train {stage}: {exc}", err=True, fg="red")
        raise typer.Exit(code=2)
    except TrainingDiverged as exc:
        typer.secho(f"depthcur train {stage}: {exc}", err=True, fg="red")
        raise typer.Exit(code=3)
    typer.echo(f"{stage}: step {result.step}, last loss {result.losses[-1] if result.losses else float('nan'):.4f}, "
               f"{result.skipped} sample(s) skipped, checkpoint {result.checkpoint}")


def register(app: typer.Typer) -> None:
    train = typer.Typer(help="Train MDM, sparse-prompt and distillation stages.", no_args_is_help=True)

    @train.command(help="Masked Depth Modeling: RGB-D ViT + ConvStack, L1 on valid GT.")
    def mdm(data: DataOpt = None, config_name: ConfigName = "tiny", out: OutOpt = Path("runs/mdm"),
            steps: StepsOpt = None, resume: ResumeOpt = False, init_backbone: InitOpt = None,
            device: DeviceOpt = None, threads: ThreadsOpt = None, ray_workers: RayWorkersOpt = 0,
            ray_address: RayAddressOpt = None, options: OptionsFile = None) -> None:
        _run("mdm", data or [], config_name, out, steps, resume, init_backbone, device, threads, ray_workers,
             ray_address)

    @train.command(help="Sparse-prompt pretraining: conditioned DPT head on [PDSA, GMDR, mask].")
    def prompt(data: DataOpt = None, config_name: ConfigName = "tiny", out: OutOpt = Path("runs/prompt"),
               steps: StepsOpt = None, resume: ResumeOpt = False, init_backbone: InitOpt = None,
               prior: Annotated[Optional[Path], typer.Option("--prior", help="MDM run or checkpoint used monocularly "
                                                                              "as the prior (default: flat prior).")] = None,
               device: DeviceOpt = None, threads: ThreadsOpt = None, ray_workers: RayWorkersOpt = 0,
               ray_address: RayAddressOpt = None, options: OptionsFile = None) -> None:
        _run("prompt", data or [], config_name, out, steps, resume, init_backbone, device, threads, ray_workers,
             ray_address, prior=str(prior) if prior else None)

    @train.command(help="Distillation: the teacher labels --data (Ray Data actors), a prompt-free student trains.")
    def distill(data: DataOpt = None, config_name: ConfigName = "tiny", out: OutOpt = Path("runs/distill"),
                steps: StepsOpt = None, resume: ResumeOpt = False, init_backbone: InitOpt = None,
                teacher: Annotated[Optional[Path], typer.Option("--teacher", help="Prompt-stage run or checkpoint; "
                                                                                   "without it --data must already "
                                                                                   "be teacher label shards.")] = None,
                device: DeviceOpt = None, threads: ThreadsOpt = None, ray_workers: RayWorkersOpt = 0,
                ray_address: RayAddressOpt = None, options: OptionsFile = None) -> None:
        _run("distill", data or [], config_name, out, steps, resume, init_backbone, device, threads, ray_workers,
             ray_address, teacher=str(teacher) if teacher else None)

    app.add_typer(train, name="train")
