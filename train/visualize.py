"""Pictures of a run: per-checkpoint prediction previews and the loss curve.

``previews/step_XXXXXXXX.png``: one row per image of the last training batch:
RGB | model depth input (masked tokens greyed; prompt pixels for the prompt stage) |
prediction | target | |error| (black = 0, yellow = 0.5 m or more, grey = no target). Depth panels share
the target's range.
``loss.png``: the per-step loss with a moving average.
"""

from __future__ import annotations

import csv
from pathlib import Path

import cv2
import numpy as np
import torch

from depthcur.core.pictures import depth_colormap, error_colormap, robust_range
from depthcur.curate.charts import figure_png, pyplot
from depthcur.schemas import write_bytes_atomic
from depthcur.schemas.codecs import encode_rgb

ERROR_CAP_M = 0.5   # |error| at which the error panel saturates


def _input_panel(batch: dict[str, torch.Tensor], i: int, patch: int) -> np.ndarray:
    if "prompt" in batch:  # prompt pixels as dots on black
        prompt = batch["prompt"][i]
        sparse = torch.where(prompt[2] > 0, prompt[1], torch.zeros_like(prompt[1])).numpy()
        return sparse
    raw = batch["depth_raw"][i].numpy().copy()
    if "depth_mask" not in batch:  # prompt-free student: no depth input at all
        return np.full_like(raw, -1.0)
    if "depth_mask" in batch:
        h, w = raw.shape
        grid = batch["depth_mask"][i].numpy().reshape(h // patch, w // patch)
        hidden = np.kron(grid, np.ones((patch, patch), bool))
        raw[: hidden.shape[0], : hidden.shape[1]][hidden] = -1.0  # drawn grey below
    return raw


def _depth_tile(depth: np.ndarray, near: float, far: float) -> np.ndarray:
    tile = depth_colormap(depth, near, far)
    tile[depth < 0] = 90
    return tile


def preview_image(batch: dict[str, torch.Tensor], pred: torch.Tensor, patch: int, rows: int = 4) -> np.ndarray:
    tiles = []
    for i in range(min(rows, pred.shape[0])):
        gt = batch["depth_gt"][i].numpy()
        near, far = robust_range(gt)
        p = pred[i].float().numpy()
        rgb = (batch["rgb"][i].numpy().transpose(1, 2, 0) * 255).clip(0, 255).astype(np.uint8)
        err_img = error_colormap(np.abs(p - gt), ERROR_CAP_M, gt > 0)
        tiles.append(np.concatenate([rgb, _depth_tile(_input_panel(batch, i, patch), near, far),
                                     _depth_tile(p, near, far), _depth_tile(gt, near, far), err_img], axis=1))
    image = np.concatenate(tiles, axis=0)
    scale = max(1, 480 // image.shape[1] + 1) if image.shape[1] < 480 else 1
    image = cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_NEAREST)
    return np.concatenate([_header(image.shape[1], len(COLUMNS)), image], axis=0)


COLUMNS = ("rgb", "depth input", "prediction", "target", "|error| (0.5 m)")


def _header(width: int, columns: int) -> np.ndarray:
    strip = np.full((18, width, 3), 255, np.uint8)
    step = width / columns
    for c, label in enumerate(COLUMNS):
        cv2.putText(strip, label, (int(c * step) + 3, 13), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (0, 0, 0), 1, cv2.LINE_AA)
    return strip


def write_preview(run_dir: Path, step: int, batch: dict[str, torch.Tensor], pred: torch.Tensor, patch: int) -> Path:
    path = Path(run_dir) / "previews" / f"step_{step:08d}.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    write_bytes_atomic(path, encode_rgb(preview_image(batch, pred, patch)))
    return path


def write_loss_curve(run_dir: Path, title: str) -> Path | None:
    metrics = Path(run_dir) / "metrics.csv"
    if not metrics.exists():
        return None
    with open(metrics, newline="") as fh:
        rows = list(csv.DictReader(fh))
    if not rows:
        return None
    steps = np.array([int(r["step"]) for r in rows])
    loss = np.array([float(r["loss"]) for r in rows])
    fig, ax = pyplot().subplots(figsize=(6, 3.5))
    ax.plot(steps, loss, lw=0.8, alpha=0.5, label="loss")
    k = max(1, len(loss) // 10)
    if len(loss) >= k:
        ax.plot(steps[k - 1:], np.convolve(loss, np.ones(k) / k, mode="valid"), lw=2, label=f"mean of {k}")
    ax.set_xlabel("step")
    ax.set_ylabel("loss")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend()
    path = Path(run_dir) / "loss.png"
    write_bytes_atomic(path, figure_png(fig))
    return path
