"""The torch device a run asks for, checked before any work starts."""

from __future__ import annotations

import torch

from depthcur.core.exits import UsageError


def torch_device(requested: str | None, index: int = 0) -> torch.device:
    """``requested`` (cpu, cuda, cuda:N ...) as a torch device; None: cuda:``index`` if a GPU is there, else cpu.

    A name torch does not know, or a GPU that is not there, is a UsageError naming ``--device``.
    """
    if not requested:
        return torch.device(f"cuda:{index}" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(requested)
    except RuntimeError:
        raise UsageError(f"{requested!r} is not a torch device", "--device", "use cpu, cuda or cuda:N") from None
    if device.type == "cuda":
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if count == 0:
            why = "this torch build has no CUDA" if torch.version.cuda is None else "no GPU is visible"
            raise UsageError(f"{requested} was asked for but {why}", "--device",
                             "use --device cpu, or leave --device out to use a GPU only when there is one")
        if device.index is not None and device.index >= count:
            raise UsageError(f"{requested} was asked for but only {count} GPU(s) are visible (cuda:0..{count - 1})",
                             "--device", "pick one of those")
    elif device.type != "cpu":
        raise UsageError(f"{requested} is a {device.type} device, which depthcur does not train or infer on",
                         "--device", "use cpu, cuda or cuda:N")
    return device
