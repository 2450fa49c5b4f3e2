"""The training loop shared by the three stages.

One process per device. Under ``torchrun`` (or Ray Train) the model is wrapped in DDP and
each rank reads its own share of the shards; rank 0 writes logs and checkpoints.
"""

from __future__ import annotations

import contextlib
import csv
import io
import math
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch
from torch import nn

from depthcur.core.exits import UsageError
from depthcur.core.progress import get_logger, progress_task
from depthcur.schemas import write_bytes_atomic

from . import checkpoint as ckpt
from .augment import augment_sample, batch_crop_shape
from .config import ConfigError, TrainConfig, accumulation_steps, config_from_dict
from .data.mixing import TEACHER_IDENTITY, MixedStream, MixPosition, Stream, teacher_change
from .device import torch_device
from .stages.base import Stage

log = get_logger(__name__)

CSV_NAME = "metrics.csv"
CSV_FIELDS = ("step", "loss", "lr_backbone", "lr_head", "grad_norm", "samples", "skipped", "seconds")


class TrainingDiverged(RuntimeError):
    pass


def param_groups(model: nn.Module, cfg: TrainConfig) -> list[dict[str, Any]]:
    """ViT parameters (``*backbone*``; ``*patch_encoder*`` in the multires networks) at the backbone rate,
    the rest at the head rate; no decay on
    biases, norms, layer scales and tokens (1-D or token tensors)."""
    groups: dict[tuple[str, bool], list[nn.Parameter]] = {}
    for name, param in model.named_parameters():
        if not param.requires_grad:
            continue
        kind = "backbone" if "backbone" in name or "patch_encoder" in name else "head"
        decay = param.ndim >= 2 and not name.endswith(("_token", "pos_embed", "register_tokens", "storage_tokens"))
        groups.setdefault((kind, decay), []).append(param)
    o = cfg.optim
    return [{"params": params, "name": f"{kind}{'' if decay else '_no_decay'}", "kind": kind,
             "lr": o.lr_backbone if kind == "backbone" else o.lr_head,
             "weight_decay": o.weight_decay if decay else 0.0}
            for (kind, decay), params in sorted(groups.items())]


def lr_factor(step: int, cfg: TrainConfig, warm_up: bool) -> float:
    """The multiplier of a group's peak rate at ``step``: a linear warm-up (for the groups that warm
    up) times the schedule's decay."""
    o = cfg.optim
    warm = min(1.0, (step + 1) / o.warmup_iters) if (warm_up and o.warmup_iters > 0) else 1.0
    return warm * schedule_decay(step, cfg)


def schedule_decay(step: int, cfg: TrainConfig) -> float:
    """step: x decay_factor every decay_every steps; cosine: from 1 at the end of the warm-up to 0 at
    run.steps; constant: 1."""
    o = cfg.optim
    if o.schedule == "step":
        return o.decay_factor ** (step // o.decay_every)
    if o.schedule == "cosine":
        progress = max(0, step - o.warmup_iters) / max(1, cfg.run.steps - o.warmup_iters)
        return 0.5 * (1.0 + math.cos(math.pi * min(1.0, progress)))
    return 1.0


#: parameter dtypes torch's fused AdamW kernel takes, by device type (torch.optim.AdamW's ``fused`` docs);
#: other devices (mps, xpu ...) keep the multi-tensor kernel, which runs everywhere
FUSED_ADAMW_DTYPES = {
    "cpu": frozenset({torch.float64, torch.float32, torch.float16, torch.bfloat16}),
    "cuda": frozenset({torch.float64, torch.float32, torch.float16, torch.bfloat16}),
}


def adamw_kernel(params: Sequence[torch.Tensor]) -> dict[str, bool]:
    """AdamW's implementation flags for ``params``: ``fused`` (one kernel per device and dtype, ~3x
    faster than foreach on CPU) when every parameter's device and dtype have it, else ``foreach``
    (one multi-tensor update instead of a Python loop over tensors). The two differ by float rounding
    only; a run keeps the one it started with (``keep_usable_adamw_kernel``), so resume stays exact."""
    fused = all(p.dtype in FUSED_ADAMW_DTYPES.get(p.device.type, ()) for p in params)
    return {"fused": True} if fused else {"foreach": True}


def keep_usable_adamw_kernel(optimizer: torch.optim.Optimizer) -> None:
    """After ``load_state_dict`` (whose saved groups bring their kernel flags): keep the saved kernel,
    so the run continues with the arithmetic it started with (runs from before fused was chosen stay
    foreach), unless this device has no fused kernel for the group, which then takes foreach."""
    for group in optimizer.param_groups:
        if group.get("fused"):
            group.update({"fused": None, "foreach": None, **adamw_kernel(group["params"])})


def make_optimizer(model: nn.Module, cfg: TrainConfig):
    groups = param_groups(model, cfg)
    opt = torch.optim.AdamW(groups, betas=cfg.optim.betas, **adamw_kernel([p for g in groups for p in g["params"]]))
    every_group = cfg.optim.warmup_groups == "all"
    lambdas = [lambda s, warm=(every_group or g["kind"] == "backbone"): lr_factor(s, cfg, warm) for g in groups]
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambdas)
    return opt, sched


def one_foreach_group(tensors: Sequence[torch.Tensor]) -> bool:
    """Whether torch's clipping takes ``tensors`` as one multi-tensor group: plain tensors of one dtype
    on one CPU or CUDA device."""
    kinds = {(t.device, t.dtype, type(t)) for t in tensors}
    if len(kinds) != 1:
        return False
    device, _, kind = kinds.pop()
    return device.type in ("cpu", "cuda") and kind is torch.Tensor


def clip_grad_norm(parameters: Sequence[nn.Parameter], max_norm: float) -> torch.Tensor:
    """``torch.nn.utils.clip_grad_norm_``, bit for bit, except that the gradients are rescaled only
    when the norm is over ``max_norm``: torch multiplies by the coefficient clamped to 1.0, which
    changes nothing but costs a pass over every gradient. The test reads the norm on the host, a
    sync the loop's finiteness check pays anyway. When the gradients share one CPU or CUDA device and
    one dtype (torch's single group), it makes torch's own multi-tensor calls without torch's grouping
    and per-norm device moves (~0.3 ms of a tiny CPU step's 4 ms overhead); otherwise torch's functions."""
    grads = [p.grad for p in parameters if p.grad is not None]
    if not one_foreach_group(grads):
        total_norm = torch.nn.utils.get_total_norm(grads)
        if max_norm / (total_norm + 1e-6) < 1.0:   # torch's own coefficient, before its clamp
            torch.nn.utils.clip_grads_with_norm_(parameters, max_norm, total_norm)
        return total_norm
    total_norm = torch.linalg.vector_norm(torch.stack(torch._foreach_norm(grads, 2.0)), 2.0)
    coefficient = max_norm / (total_norm + 1e-6)
    if coefficient < 1.0:   # below 1, torch's clamp to 1.0 leaves it as it is
        torch._foreach_mul_(grads, coefficient)
    return total_norm


@dataclass
class DistContext:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @classmethod
    def current(cls) -> "DistContext":
        if torch.distributed.is_available() and torch.distributed.is_initialized():
            return cls(torch.distributed.get_rank(), torch.distributed.get_world_size(),
                       int(os.environ.get("LOCAL_RANK", 0)))
        return cls()


@dataclass
class TrainResult:
    run_dir: Path
    step: int
    losses: list[float] = field(default_factory=list)
    skipped: int = 0
    checkpoint: Path | None = None


class MetricsLog:
    """``metrics.csv`` (a ``loss`` column per step) and TensorBoard scalars, truncated on resume."""

    def __init__(self, run_dir: Path, resume_step: int, enabled: bool):
        self.enabled = enabled
        self.path = run_dir / CSV_NAME
        self.tb = None
        if not enabled:
            return
        kept = []
        if self.path.exists():
            with open(self.path, newline="") as fh:
                kept = [row for row in csv.DictReader(fh) if int(row["step"]) <= resume_step]
        buf = io.StringIO()
        writer = csv.DictWriter(buf, CSV_FIELDS)
        writer.writeheader()
        writer.writerows(kept)
        write_bytes_atomic(self.path, buf.getvalue().encode())  # drop rows past the checkpoint
        self.fh = open(self.path, "a", newline="")
        self.writer = csv.DictWriter(self.fh, CSV_FIELDS)
        try:
            from torch.utils.tensorboard import SummaryWriter

            self.tb = SummaryWriter(str(run_dir / "tensorboard"), purge_step=resume_step + 1)
        except ImportError:
            log.warning("tensorboard is not installed; logging to %s only", self.path)

    def write(self, row: dict[str, Any]) -> None:
        if not self.enabled:
            return
        self.writer.writerow(row)
        self.fh.flush()
        if self.tb is not None:
            for key in ("loss", "lr_backbone", "lr_head", "grad_norm"):
                self.tb.add_scalar(f"train/{key}", row[key], row["step"])

    def close(self) -> None:
        if self.enabled:
            self.fh.close()
            if self.tb is not None:
                self.tb.close()


def read_losses(run_dir: Path) -> dict[int, float]:
    with open(Path(run_dir) / CSV_NAME, newline="") as fh:
        return {int(r["step"]): float(r["loss"]) for r in csv.DictReader(fh)}


class BatchPrefetcher:
    """Decodes and augments the next batches in a background thread (decoding and OpenCV
    release the GIL). A single producer keeps the order, so runs stay exactly reproducible."""

    _DONE = object()

    def __init__(self, produce, depth: int):
        import queue
        import threading

        self._produce = produce
        self._queue: "queue.Queue" = queue.Queue(maxsize=depth)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._work, name="depthcur-prefetch", daemon=True)
        self._thread.start()

    def _work(self) -> None:
        import queue

        while not self._stop.is_set():
            try:
                item = (self._produce(), None)
            except BaseException as exc:  # handed to the training thread, which re-raises it
                item = (None, exc)
            while not self._stop.is_set():
                try:
                    self._queue.put(item, timeout=0.1)
                    break
                except queue.Full:
                    continue
            if item[1] is not None:
                return

    def get(self):
        batch, error = self._queue.get()
        if error is not None:
            raise error
        return batch

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)


def pretrained_vit(model: nn.Module) -> nn.Module:
    """The ViT ``--init-backbone`` fills: ``encoder.backbone`` (DINOv2 names), or the multires networks'
    ``encoder.patch_encoder`` (DINOv2 or DINOv3 names, by ``model.vit``)."""
    encoder = getattr(model, "encoder", None)
    vit = getattr(encoder, "patch_encoder", getattr(encoder, "backbone", None))
    if vit is None or not hasattr(vit, "family"):
        raise UsageError(f"this {type(model).__name__} network has no DINOv2/DINOv3 ViT to load weights into",
                         "--init-backbone", "drop --init-backbone")
    return vit


class Trainer:
    def __init__(self, stage: Stage, cfg: TrainConfig, streams: Sequence[Stream], run_dir: Path, *,
                 resume: bool = False, init_backbone: str | None = None, device: str | None = None,
                 data_identity: dict[str, list[str]] | None = None):
        self.stage, self.cfg, self.run_dir = stage, cfg, Path(run_dir)
        self.data_identity = data_identity   # what --data holds (mixing.data_identity); --resume must match it
        self.dist = DistContext.current()
        #: forward/backward passes per optimizer step (data.global_batch over batch_size x world size)
        self.accumulation = accumulation_steps(cfg, self.dist.world_size)
        self.device = torch_device(device, self.dist.local_rank)
        self.use_bf16 = cfg.run.bf16 and self.device.type == "cuda"
        torch.manual_seed(cfg.run.seed)
        self.model = stage.build_model().to(self.device)
        stage.move_to(self.device)
        if init_backbone:
            from .models.vit import load_vit_weights

            load_vit_weights(pretrained_vit(self.model), init_backbone)
            log.info("backbone initialised from %s", init_backbone)
        self.optimizer, self.scheduler = make_optimizer(self.model, cfg)
        self._parameters = list(self.model.parameters())   # listed once, not walked through the modules each step
        self.step = 0
        position = MixPosition()
        self.last_checkpoint: Path | None = None
        if resume:
            position = self._resume()
        elif ckpt.list_checkpoints(self.run_dir):
            raise FileExistsError(f"{self.run_dir} already holds checkpoints; pass --resume to continue it or "
                                  f"choose a new --out")
        self.train_model: nn.Module = self.model
        if self.dist.world_size > 1:
            # networks that keep weights their forward never uses (``unused_parameters``) would stall
            # DDP's gradient reduction; only they pay for the per-step search of the unused ones
            self.train_model = nn.parallel.DistributedDataParallel(
                self.model, device_ids=[self.device.index] if self.device.type == "cuda" else None,
                find_unused_parameters=bool(getattr(self.model, "unused_parameters", ())))
        self.stream = MixedStream(streams, seed=cfg.run.seed + 1000 * self.dist.rank, position=position)
        self._consumed_position = position.to_dict()  # what the optimiser has seen (not what is prefetched)
        self._prefetcher: BatchPrefetcher | None = None
        self.streams = streams
        if self.dist.is_main:
            self.run_dir.mkdir(parents=True, exist_ok=True)
            cfg.save(self.run_dir / "config.json")

    def _resume(self) -> MixPosition:
        found = ckpt.list_checkpoints(self.run_dir)
        if not found:
            raise FileNotFoundError(f"--resume: {self.run_dir} has no checkpoint to resume from")
        path = found[-1][1]
        state = ckpt.load(path)
        if state["stage"] != self.stage.name:
            raise ValueError(f"--resume: {path} is a {state['stage']!r} run, not {self.stage.name!r}")
        saved = config_from_dict(state["config"]).to_dict()
        now = self.cfg.to_dict()
        saved["run"]["steps"] = now["run"]["steps"]  # extending a run is allowed
        if saved != now:
            diff = sorted(f"{s}.{k}" for s in now if isinstance(now[s], dict) for k in now[s]
                          if now[s][k] != saved[s][k])
            raise ConfigError(f"--resume: the config differs from {path} in {', '.join(diff) or 'preset'}")
        self._check_resumed_data(state.get("data_identity"), path)
        if int(state["step"]) > self.cfg.run.steps:
            raise UsageError(f"{path} is already at step {int(state['step'])}, past --steps {self.cfg.run.steps}",
                             "--steps", f"pass --steps above {int(state['step'])} to train further")
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        keep_usable_adamw_kernel(self.optimizer)
        self.scheduler.load_state_dict(state["scheduler"])
        ckpt.restore_rng(state["rng"])
        self.step = int(state["step"])
        self.last_checkpoint = path
        ranks = state["data"]
        key = str(self.dist.rank)
        if key not in ranks:
            raise ValueError(f"--resume: {path} has no data position for rank {self.dist.rank} "
                             f"(saved with world size {len(ranks)})")
        log.info("resumed from %s at step %d", path, self.step)
        return MixPosition.from_dict(ranks[key])

    def _check_resumed_data(self, saved: dict[str, list[str]] | None, path: Path) -> None:
        """Refuse to continue a run on other data than its checkpoint saw, or a distillation on the labels
        of another ``--teacher`` (checkpoints from before data identities, or teacher identities, were
        saved, and runs not started from shards, are not checked)."""
        if saved is None or self.data_identity is None or saved == self.data_identity:
            return
        if TEACHER_IDENTITY in saved:
            changed_teacher = teacher_change(saved[TEACHER_IDENTITY], self.data_identity.get(TEACHER_IDENTITY))
            if changed_teacher:
                raise UsageError(f"{path} {changed_teacher}", "--resume --teacher",
                                 f"resume with the --teacher the run started with (its labels are in "
                                 f"{self.run_dir / 'labels'}), or start a new --out")
        saved, now = ({name: ids for name, ids in identity.items() if name != TEACHER_IDENTITY}
                      for identity in (saved, self.data_identity))
        if saved == now:
            return
        if saved.keys() != now.keys():
            what = (f"{path} was trained on the --data stream(s) {', '.join(sorted(saved))}, this run gives "
                    f"{', '.join(sorted(now))}")
        else:
            changed = sorted(name for name in saved if saved[name] != now[name])
            what = f"the --data stream(s) {', '.join(changed)} hold other shards than when {path} was written"
        raise UsageError(what, "--resume --data", "resume with the same --data (NAME=PATH keeps a stream's name "
                                                  "when its folder moved), or start a new --out")

    def _gather_positions(self) -> dict[str, Any]:
        mine = self._consumed_position
        if self.dist.world_size == 1:
            return {"0": mine}
        gathered: list[Any] = [None] * self.dist.world_size
        torch.distributed.all_gather_object(gathered, mine)
        return {str(i): pos for i, pos in enumerate(gathered)}

    def save_checkpoint(self) -> Path | None:
        positions = self._gather_positions()
        if not self.dist.is_main:
            return None
        path = ckpt.checkpoint_path(self.run_dir, self.step)
        ckpt.save_atomic({"stage": self.stage.name, "step": self.step, "config": self.cfg.to_dict(),
                          "model": self.model.state_dict(), "optimizer": self.optimizer.state_dict(),
                          "scheduler": self.scheduler.state_dict(), "rng": ckpt.rng_state(), "data": positions,
                          "extras": self.stage.checkpoint_extras(), "data_identity": self.data_identity}, path)
        ckpt.prune(self.run_dir, self.cfg.run.keep_checkpoints)
        self.last_checkpoint = path
        self._write_preview()
        return path

    @torch.no_grad()
    def _write_preview(self) -> None:
        from .visualize import write_preview

        batch = getattr(self, "_last_batch", None)
        if batch is None:
            return
        self.model.eval()
        with torch.autocast(device_type=self.device.type, dtype=torch.bfloat16, enabled=self.use_bf16):
            pred = self.stage.predict(self.model, batch)
        cpu = {k: v.detach().float().cpu() if v.is_floating_point() else v.cpu() for k, v in batch.items()}
        write_preview(self.run_dir, self.step, cpu, pred.float().cpu(), self.cfg.model.patch_size)

    def _produce_batch(self) -> tuple[list, dict[str, Any]]:
        """One batch of augmented items and the stream position just after it; samples that
        fail are skipped and counted."""
        items = []
        # the shape is drawn from the batch's first draw index, which resume restores exactly
        crop = batch_crop_shape(self.cfg.crop, self.cfg.data.aspect_range, self.cfg.model.input_patch,
                                np.random.default_rng([self.cfg.run.seed, 12, self.stream.position.draws]))
        while len(items) < self.cfg.data.batch_size:
            draw, sample = next(self.stream)
            try:
                items.append(augment_sample(sample, self.cfg.data, crop,
                                            np.random.default_rng([self.cfg.run.seed, 11, draw])))
            except (ValueError, KeyError, TypeError) as exc:
                self.stream.position.skipped += 1
                log.warning("skipping sample %s (%d skipped so far): %s", getattr(sample, "key", "?"),
                            self.stream.position.skipped, exc)
        return items, self.stream.position.to_dict()

    def _next_items(self) -> list:
        depth = self.cfg.data.prefetch_batches
        if depth < 0:
            depth = 2 if self.device.type == "cuda" else 0
        if depth == 0:
            items, position = self._produce_batch()
        else:
            if self._prefetcher is None:
                self._prefetcher = BatchPrefetcher(self._produce_batch, depth)
            items, position = self._prefetcher.get()
        self._consumed_position = position
        return items

    def _skipped(self) -> int:
        return int(self._consumed_position.get("skipped", 0)) + sum(s.skipped_counter() for s in self.streams)

    def train_step(self) -> tuple[float, float]:
        """One optimizer step over data.global_batch images: ``self.accumulation`` passes whose
        gradients add up to those of the whole batch's mean loss."""
        if not self.model.training:   # only the loop's own previews and eval_loss switch it to eval
            self.model.train()
        for param in self._parameters:   # optimizer.zero_grad(set_to_none=True) without its profiler scope
            param.grad = None
        losses = [self._forward_backward(micro) for micro in range(self.accumulation)]
        logged = losses[0] if len(losses) == 1 else torch.stack(losses).mean()
        grad_norm = clip_grad_norm(self._parameters, self.cfg.optim.clip_norm)
        if not torch.isfinite(grad_norm):
            self._diverged(f"the gradient norm is {grad_norm.item()}")
        self.optimizer.step()
        self.scheduler.step()
        self.step += 1
        return float(logged), float(grad_norm)

    def _forward_backward(self, micro: int) -> torch.Tensor:
        """The ``micro``-th pass of this step: its batch, loss (checked finite on every rank) and
        backward of loss / passes. DDP averages gradients over ranks on the last pass only."""
        passes = self.accumulation
        # pass 0 keeps the seed a step without accumulation has, so such runs are unchanged
        rng = np.random.default_rng([self.cfg.run.seed, 13, self.dist.rank, self.step] + ([micro] if micro else []))
        batch = {k: v.to(self.device, non_blocking=True) for k, v in self.stage.prepare(self._next_items(), rng).items()}
        self._last_batch = batch
        last = micro == passes - 1
        sync = self.train_model.no_sync() if (self.dist.world_size > 1 and not last) else contextlib.nullcontext()
        with sync:
            with torch.autocast(device_type=self.device.type, dtype=torch.bfloat16, enabled=self.use_bf16):
                loss = self.stage.loss(self.train_model, batch)
            logged = loss.detach().clone()
            if self.dist.world_size > 1:  # every rank sees the mean, so all stop together on NaN
                torch.distributed.all_reduce(logged)
                logged /= self.dist.world_size
            if not torch.isfinite(logged):
                self._diverged(f"the loss is {logged.item()}")
            (loss if passes == 1 else loss / passes).backward()
        return logged

    @torch.no_grad()
    def eval_loss(self, samples: Sequence[Any], seed: int = 0) -> float:
        """The stage loss on fixed samples: the whole view resized, no augmentation, fixed masks."""
        self.model.eval()
        items = [augment_sample(s, self.cfg.data, self.cfg.crop, np.random.default_rng([seed, i]), train=False)
                 for i, s in enumerate(samples)]
        batch = {k: v.to(self.device) for k, v in self.stage.prepare(items, np.random.default_rng(seed)).items()}
        return float(self.stage.loss(self.model, batch))

    def _diverged(self, what: str) -> None:
        where = self.last_checkpoint or "none written yet"
        raise TrainingDiverged(f"step {self.step + 1}: {what}; training stopped without writing a checkpoint. "
                               f"The last good checkpoint is {where}. Lower the learning rate (optim.lr_head / "
                               f"optim.lr_backbone) or check the data, then --resume.")

    def run(self) -> TrainResult:
        cfg = self.cfg
        metrics = MetricsLog(self.run_dir, self.step, self.dist.is_main)
        result = TrainResult(self.run_dir, self.step)
        per_step = cfg.data.batch_size * self.dist.world_size * self.accumulation
        samples = self.step * per_step
        try:
            with progress_task(f"train {self.stage.name}", cfg.run.steps) as advance:
                advance(self.step)
                while self.step < cfg.run.steps:
                    t0 = time.perf_counter()
                    loss, grad_norm = self.train_step()
                    samples += per_step
                    lrs = {g["kind"]: g["lr"] for g in self.optimizer.param_groups}
                    metrics.write({"step": self.step, "loss": f"{loss:.8g}", "lr_backbone": lrs.get("backbone", 0.0),
                                   "lr_head": lrs.get("head", 0.0), "grad_norm": f"{grad_norm:.6g}",
                                   "samples": samples, "skipped": self._skipped(),
                                   "seconds": f"{time.perf_counter() - t0:.4f}"})
                    result.losses.append(loss)
                    if self.step % cfg.run.checkpoint_every == 0 or self.step == cfg.run.steps:
                        self.save_checkpoint()
                    advance(1)
        finally:
            metrics.close()
            if self._prefetcher is not None:
                self._prefetcher.close()
                self._prefetcher = None
            if self.dist.is_main:
                from .visualize import write_loss_curve

                write_loss_curve(self.run_dir, f"{self.stage.name} ({self.cfg.preset})")
        result.step, result.skipped, result.checkpoint = self.step, self._skipped(), self.last_checkpoint
        if result.skipped:
            log.warning("%d sample(s) were skipped (undecodable or unusable); see the log above", result.skipped)
        return result


