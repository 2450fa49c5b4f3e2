"""``depthcur.train.load_model(path)``: a trained network from any checkpoint depthcur reads.

- a LingBot-Depth checkpoint in the released format (``{"model": ..., "model_config": ...}``):
  the :class:`~depthcur.train.models.lingbot.LingbotDepth` network with every tensor loaded;
- a depthcur training checkpoint (a ``.pt`` file or a run folder, whose newest checkpoint is used):
  the network of its stage.

Files are read with the weights-only loader, so a checkpoint cannot run code. The network comes
back on the CPU in eval mode.
"""

from __future__ import annotations

from pathlib import Path

from torch import nn

from . import checkpoint as ckpt
from .models.lingbot import lingbot_from_state
from .stages import stage_class


def load_model(path: str | Path) -> nn.Module:
    """The network of a released LingBot-Depth checkpoint, a depthcur checkpoint or a depthcur run folder."""
    file = ckpt.latest_checkpoint(Path(path))
    state = ckpt.load(file)
    if "model_config" in state:
        return lingbot_from_state(state, f"checkpoint {file}")
    if "stage" in state and "model" in state and "config" in state:
        try:
            return stage_class(state["stage"]).network_from_checkpoint(state)
        except ValueError as exc:
            raise ValueError(f"checkpoint {file}: {exc}") from None
    raise ValueError(f"checkpoint {file}: neither a LingBot-Depth checkpoint ('model' + 'model_config') nor a "
                     f"depthcur training checkpoint ('stage', 'config', 'model')")
