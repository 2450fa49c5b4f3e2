"""The prompt stage's prior depth P_d (MetricAnything §3.2), from a pluggable monocular model.

GMDR and PDSA align P_d to the sparse prompt in disparity with a scale and a shift, so P_d only
needs the right shape. Kinds (``--prompt-prior``, with the model in ``--prior PATH``):

| kind | P_d | ``--prior`` |
|---|---|---|
| ``flat`` | 1 m everywhere: PDSA becomes inverse-distance interpolation of the prompt | none |
| ``mdm`` | depthcur's MDM network run monocularly (no depth input) | an MDM run or checkpoint |
| ``student`` | depthcur's distilled student (prompt-free) | a distill run or checkpoint |
| ``depthpro`` | Apple's Depth Pro, the paper's choice (``depthcur.train.depthpro_prior``) | a local ml-depth-pro clone |
| ``auto`` | ``flat`` without ``--prior``, else the kind the path holds | optional |

A prompt checkpoint saves its prior (``source``): depthcur networks travel inside it, Depth Pro
as the path of its checkpoint, which inference reloads from the same place.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch

from depthcur.core.exits import UsageError
from depthcur.core.progress import get_logger

from .depthpro_prior import DepthProPrior, is_depthpro_clone

log = get_logger(__name__)

#: the checkpoint stage each network prior kind reads
STAGE_OF_KIND = {"mdm": "mdm", "student": "distill"}
KIND_OF_STAGE = {stage: kind for kind, stage in STAGE_OF_KIND.items()}


class PriorModel:
    """P_d of (B, 3, H, W) RGB in [0, 1]: (B, H, W) float32 depth, right up to a scale and shift in disparity."""

    def __init__(self, kind: str = "flat", predict: Callable[[torch.Tensor], torch.Tensor] | None = None,
                 source: dict[str, Any] | None = None, module: Any = None):
        self.kind = kind
        self.predict = predict
        self.source = source        # what a prompt checkpoint saves to rebuild this prior (None: flat)
        self.module = module        # what ``to`` moves (a torch module, or the Depth Pro wrapper)

    def to(self, device: torch.device | str) -> "PriorModel":
        if self.module is not None:
            self.module.to(device)
        return self

    @torch.no_grad()
    def __call__(self, rgb: torch.Tensor) -> np.ndarray:
        if self.predict is None:
            return np.ones((rgb.shape[0], rgb.shape[2], rgb.shape[3]), np.float32)
        return self.predict(rgb).float().cpu().numpy()


def network_prior(state: dict[str, Any]) -> PriorModel:
    """A depthcur MDM or distill checkpoint's network run without depth or prompt (each stage's own ``infer``)."""
    from .config import config_from_dict
    from .stages.distill import DistillStage
    from .stages.mdm import MDMStage

    stage_cls = {"mdm": MDMStage, "distill": DistillStage}[state["stage"]]
    network = stage_cls.network_from_checkpoint(state)
    stage = stage_cls.for_inference(config_from_dict(state["config"]), state.get("extras", {}), torch.device("cpu"))
    rng = np.random.default_rng(0)       # unused: no prompt is sampled without depth

    def predict(rgb: torch.Tensor) -> torch.Tensor:
        network.eval()
        device = next(network.parameters()).device
        return torch.cat([stage.infer(network, image[None].to(device), None, None, rng) for image in rgb])

    source = {"stage": state["stage"], "config": state["config"], "model": state["model"],
              "extras": state.get("extras", {})}
    return PriorModel(KIND_OF_STAGE[state["stage"]], predict, source, network)


def depthpro_prior(path: str | Path) -> PriorModel:
    model = DepthProPrior(path)
    return PriorModel("depthpro", model, {"stage": "depthpro", "path": str(model.checkpoint)}, model)


def prior_for_training(kind: str, path: str | Path | None) -> PriorModel:
    """The prior of ``--prompt-prior KIND`` and ``--prior PATH``; a clear error when they do not fit."""
    if kind == "flat" or (kind == "auto" and not path):
        if path:
            raise UsageError(f"a prior model ({path}) was given with --prompt-prior flat", "--prior",
                             "drop --prior, or choose --prompt-prior auto, mdm, student or depthpro")
        log.warning("prompt stage: flat prior (no --prior): PDSA interpolates the prompt")
        return PriorModel()
    if not path:
        raise UsageError(f"--prompt-prior {kind} needs a model", "--prior",
                         "give the run or checkpoint (mdm, student) or the Depth Pro clone (depthpro)")
    if kind == "depthpro" or (kind == "auto" and looks_like_depthpro(path)):
        return depthpro_prior(path)
    from . import checkpoint as ckpt

    state = ckpt.load(ckpt.latest_checkpoint(str(path)))
    stage = state.get("stage")
    wanted = STAGE_OF_KIND.get(kind, stage)
    if stage not in KIND_OF_STAGE or stage != wanted:
        expected = f"a {wanted} checkpoint" if kind != "auto" else "an mdm or distill checkpoint"
        raise UsageError(f"--prior {path} holds a {stage!r} checkpoint", "--prior",
                         f"give {expected}, or a Depth Pro clone with --prompt-prior depthpro")
    return network_prior(state)


def looks_like_depthpro(path: str | Path) -> bool:
    """A clone of apple/ml-depth-pro, or a file inside one."""
    given = Path(path).expanduser()
    return any(is_depthpro_clone(p) for p in (given, *given.parents))


def prior_from_saved(saved: dict[str, Any] | None) -> PriorModel:
    """The prior a prompt checkpoint saved (``PriorModel.source``); None is the flat prior."""
    if not saved:
        return PriorModel()
    if saved.get("stage") == "depthpro":
        return depthpro_prior(saved["path"])
    return network_prior(saved)
