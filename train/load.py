"""``depthcur.train.load_model(path)``: a trained network from any checkpoint depthcur reads.

- a LingBot-Depth checkpoint in the released format (``{"model": ..., "model_config": ...}``):
  the :class:`~depthcur.train.models.lingbot.LingbotDepth` network with every tensor loaded;
- a released MetricAnything Student-DepthMap checkpoint (a plain state dict, or one under
  ``"state_dict"``/``"model"``): :class:`~depthcur.train.models.metric_anything.MetricAnythingStudent`
  at the released configuration, every tensor loaded strictly (a missing, renamed or misshapen key is
  named in the error);
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
from .models.metric_anything import is_student_state_dict, student_from_state_dict, unwrap_state_dict
from .stages import stage_class


def load_model(path: str | Path) -> nn.Module:
    """The network of a released LingBot-Depth or Student-DepthMap checkpoint, a depthcur checkpoint or run folder."""
    file = ckpt.latest_checkpoint(Path(path))
    state = ckpt.load(file)
    if "model_config" in state:
        return lingbot_from_state(state, f"checkpoint {file}")
    if "stage" in state and "model" in state and "config" in state:
        try:
            return stage_class(state["stage"]).network_from_checkpoint(state)
        except ValueError as exc:
            raise ValueError(f"checkpoint {file}: {exc}") from None
    tensors = unwrap_state_dict(state)
    if is_student_state_dict(tensors):
        return student_from_state_dict(tensors, f"checkpoint {file}")
    raise ValueError(f"checkpoint {file}: neither a LingBot-Depth checkpoint ('model' + 'model_config'), a "
                     f"MetricAnything Student-DepthMap state dict nor a depthcur training checkpoint "
                     f"('stage', 'config', 'model')")
