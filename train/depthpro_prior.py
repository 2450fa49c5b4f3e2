"""Apple's Depth Pro as the prompt stage's prior depth P_d: the official code and checkpoint, from a local path.

MetricAnything §3.2 takes the prior depth from a pre-trained monocular model, Depth Pro. Supply a
clone of https://github.com/apple/ml-depth-pro with its requirements installed into this
environment (``pip install -e`` the clone, or at least timm, torchvision, pillow-heif) and its
checkpoint ``checkpoints/depth_pro.pt`` (the clone's ``get_pretrained_models.sh`` puts it there),
and pass the clone folder, or the checkpoint file inside it, as ``--prior``. Nothing is downloaded.
The network runs at its fixed 1536 x 1536 input, as the official ``DepthPro.infer`` resizes.
"""

from __future__ import annotations

import sys
from functools import lru_cache
from pathlib import Path

import torch

from depthcur.core.exits import UsageError
from depthcur.curate.torch_files import load_weights_only

HOW_TO_SUPPLY = ("clone https://github.com/apple/ml-depth-pro, install its requirements (pip install -e CLONE), "
                 "download checkpoints/depth_pro.pt into it (its get_pretrained_models.sh), and pass the clone "
                 "folder or the .pt file as --prior with --prompt-prior depthpro")
#: where the official download script puts the checkpoint, inside the clone
CHECKPOINT_IN_CLONE = Path("checkpoints") / "depth_pro.pt"
#: the package file that marks a clone of apple/ml-depth-pro
CODE_IN_CLONE = Path("src") / "depth_pro" / "depth_pro.py"


class DepthProUnavailable(UsageError, RuntimeError):
    """The Depth Pro code, checkpoint or one of its dependencies is missing."""


def is_depthpro_clone(path: str | Path) -> bool:
    return (Path(path).expanduser() / CODE_IN_CLONE).is_file()


def check_paths(path: str | Path | None) -> tuple[Path, Path]:
    """(clone, checkpoint) from a clone folder or a checkpoint file inside one; the error says what to supply."""
    if not path:
        raise DepthProUnavailable("the depthpro prior needs a local Depth Pro", "--prior", HOW_TO_SUPPLY)
    given = Path(path).expanduser()
    if given.is_file():
        clone = next((p for p in given.parents if is_depthpro_clone(p)), None)
        if clone is None:
            raise DepthProUnavailable(f"{given} is not inside a clone of apple/ml-depth-pro (no {CODE_IN_CLONE} "
                                      f"in a parent folder)", "--prior", HOW_TO_SUPPLY)
        return clone.resolve(), given.resolve()
    if not given.is_dir():
        raise DepthProUnavailable(f"{given} does not exist", "--prior", HOW_TO_SUPPLY)
    if not is_depthpro_clone(given):
        raise DepthProUnavailable(f"{given} is not a clone of apple/ml-depth-pro (no {CODE_IN_CLONE})", "--prior",
                                  HOW_TO_SUPPLY)
    checkpoint = given / CHECKPOINT_IN_CLONE
    if not checkpoint.is_file():
        raise DepthProUnavailable(f"no checkpoint {checkpoint}", "--prior", HOW_TO_SUPPLY)
    return given.resolve(), checkpoint.resolve()


@lru_cache(maxsize=1)
def load_depthpro(clone: Path, checkpoint: Path) -> torch.nn.Module:
    """The official DepthPro network with the checkpoint's weights (strict), in eval mode, on the CPU."""
    source = str(clone / "src")
    if source not in sys.path:
        sys.path.insert(0, source)
    try:
        from depth_pro.depth_pro import DEFAULT_MONODEPTH_CONFIG_DICT, create_model_and_transforms
    except ImportError as exc:
        raise DepthProUnavailable(f"cannot import depth_pro from {source} ({exc})", "--prior",
                                  "install the clone's requirements (pip install -e CLONE) into this "
                                  "environment") from exc
    from dataclasses import replace

    # build without its loader (torch.load of any pickle); the weights-only loader reads the file
    model, _ = create_model_and_transforms(replace(DEFAULT_MONODEPTH_CONFIG_DICT, checkpoint_uri=None))
    model.load_state_dict(load_weights_only(checkpoint, "--prior"), strict=True)
    return model.eval()


class DepthProPrior:
    """Depth Pro's metric depth of (B, 3, H, W) RGB in [0, 1]; the focal length is its own estimate."""

    def __init__(self, path: str | Path):
        self.clone, self.checkpoint = check_paths(path)
        self.model = load_depthpro(self.clone, self.checkpoint)

    def to(self, device: torch.device | str) -> "DepthProPrior":
        self.model.to(device)
        return self

    @torch.no_grad()
    def __call__(self, rgb: torch.Tensor) -> torch.Tensor:
        device = next(self.model.parameters()).device
        images = (rgb.to(device, torch.float32) - 0.5) / 0.5        # the official transform: Normalize(0.5, 0.5)
        depths = [self.model.infer(image[None])["depth"].reshape(rgb.shape[2:]) for image in images]
        return torch.stack(depths).float()
