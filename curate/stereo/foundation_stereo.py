"""FoundationStereo backend: the official NVlabs code and checkpoint, from local paths only.

Supply a clone of https://github.com/NVlabs/FoundationStereo (``--fs-repo``) and a checkpoint
file such as ``pretrained_models/23-51-11/model_best_bp2.pth`` with its ``cfg.yaml`` beside it
(``--ckpt``). Nothing is ever downloaded. Inputs are padded to a multiple of 32 (as the official
demo does) and run in fp16 autocast on a CUDA GPU when one is present.
"""

from __future__ import annotations

import sys
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from depthcur.core.exits import UsageError

from ..torch_files import load_weights_only
from .images import to_gray_uint8

HOW_TO_SUPPLY = ("clone https://github.com/NVlabs/FoundationStereo and pass its folder as --fs-repo "
                 "(fs_repo=...), and download a checkpoint (e.g. 23-51-11/model_best_bp2.pth with its cfg.yaml "
                 "in the same folder) and pass the .pth file as --ckpt (ckpt=...)")


class FoundationStereoUnavailable(UsageError, RuntimeError):
    """The FoundationStereo code, checkpoint or a dependency is missing."""


def check_paths(fs_repo: str | Path | None, ckpt: str | Path | None) -> tuple[Path, Path]:
    """Resolve and check the user's paths; the error says exactly what to supply."""
    if not fs_repo or not ckpt:
        missing = " and ".join(n for n, v in (("--fs-repo", fs_repo), ("--ckpt", ckpt)) if not v)
        raise FoundationStereoUnavailable(f"foundation-stereo needs {missing}: {HOW_TO_SUPPLY}")
    repo, ckpt_path = Path(fs_repo).expanduser(), Path(ckpt).expanduser()
    if not (repo / "core" / "foundation_stereo.py").is_file():
        raise FoundationStereoUnavailable(f"--fs-repo {repo} is not a FoundationStereo clone "
                                          f"(no core/foundation_stereo.py): {HOW_TO_SUPPLY}")
    if not ckpt_path.is_file():
        raise FoundationStereoUnavailable(f"--ckpt {ckpt_path} does not exist: {HOW_TO_SUPPLY}")
    if not (ckpt_path.parent / "cfg.yaml").is_file():
        raise FoundationStereoUnavailable(f"no cfg.yaml next to --ckpt {ckpt_path}; the released checkpoints "
                                          f"ship one in the same folder: {HOW_TO_SUPPLY}")
    return repo.resolve(), ckpt_path.resolve()


@lru_cache(maxsize=2)
def load_model(repo: Path, ckpt_path: Path, valid_iters: int = 32):
    """Build FoundationStereo from the repo's code and load the checkpoint (cached per process)."""
    import torch

    if str(repo) not in sys.path:
        sys.path.insert(0, str(repo))
    try:
        from omegaconf import OmegaConf
        from core.foundation_stereo import FoundationStereo
    except ImportError as exc:
        raise FoundationStereoUnavailable(f"cannot import FoundationStereo from {repo} ({exc}); install the "
                                          f"repo's requirements (omegaconf, timm, ...) into this "
                                          f"environment") from exc
    cfg = OmegaConf.load(ckpt_path.parent / "cfg.yaml")
    if "vit_size" not in cfg:
        cfg["vit_size"] = "vitl"
    cfg["valid_iters"] = valid_iters
    model = FoundationStereo(OmegaConf.create(cfg))
    state = load_weights_only(ckpt_path, "--ckpt")
    model.load_state_dict(state["model"] if "model" in state else state)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    return model.to(device).eval(), device


def as_rgb_tensor(image: np.ndarray, device: str):
    import torch

    image = np.asarray(image)
    if image.ndim == 2:
        image = np.repeat(image[..., None], 3, axis=2)
    if image.dtype != np.uint8:
        image = np.repeat(to_gray_uint8(image)[..., None], 3, axis=2)
    return torch.as_tensor(image, device=device).float()[None].permute(0, 3, 1, 2)


def pad_to_multiple(tensor, multiple: int = 32):
    """Pad H and W up to a multiple (replicate), returning the tensor and the original size."""
    import torch.nn.functional as F

    h, w = tensor.shape[-2:]
    ph, pw = (-h) % multiple, (-w) % multiple
    padded = F.pad(tensor, (pw // 2, pw - pw // 2, ph // 2, ph - ph // 2), mode="replicate")
    return padded, (ph // 2, pw // 2, h, w)


def foundation_stereo_disparity(left: np.ndarray, right: np.ndarray, *, fs_repo: str | None = None,
                                ckpt: str | None = None, valid_iters: int = 32, hierarchical: bool = False,
                                **_unused: Any) -> np.ndarray:
    """Left-view disparity in pixels (0 where the model points outside the right image)."""
    import torch

    repo, ckpt_path = check_paths(fs_repo, ckpt)
    model, device = load_model(repo, ckpt_path, valid_iters)
    img0, img1 = as_rgb_tensor(left, device), as_rgb_tensor(right, device)
    img0, (top, lft, h, w) = pad_to_multiple(img0)
    img1, _ = pad_to_multiple(img1)
    with torch.no_grad(), torch.autocast(device_type="cuda", dtype=torch.float16, enabled=device == "cuda"):
        if hierarchical:
            disp = model.run_hierachical(img0, img1, iters=valid_iters, test_mode=True, small_ratio=0.5)
        else:
            disp = model.forward(img0, img1, iters=valid_iters, test_mode=True)
    disparity = disp.float()[0, 0, top:top + h, lft:lft + w].cpu().numpy().astype(np.float32)
    xs = np.arange(w, dtype=np.float32)[None, :]
    disparity[(xs - disparity) < 0] = 0.0  # points outside the right image, as the demo's remove_invisible
    return np.where(np.isfinite(disparity) & (disparity > 0), disparity, 0).astype(np.float32)
