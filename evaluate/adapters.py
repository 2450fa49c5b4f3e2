"""Released models whose code is installed separately, run through the same harness as depthcur's own.

``--model cdm:PATH`` runs a Camera Depth Model (ByteDance's CDM, the ``rgbddepth`` package of
manipulation-as-in-simulation/camera-depth-models) from its released ``.pth`` checkpoint: the sensor
depth goes in as inverse depth (0 where missing), the network predicts inverse depth at its input size,
and the prediction is turned back into metres, as the package's own ``cdm-infer`` does.
LingBot-Depth needs no adapter: its released ``model.pt`` loads as a depthcur checkpoint.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import numpy as np

from depthcur.curate.torch_files import load_weights_only

#: the released CDM networks are ViT-L (``model_configs["vitl"]`` of the package)
CDM_VITL = {"encoder": "vitl", "features": 256, "out_channels": [256, 512, 1024, 1024]}
CDM_INPUT_SIZE = 518
CDM_INSTALL = ("install the CDM code first: pip install camera-depth-models, or clone "
               "manipulation-as-in-simulation/camera-depth-models and pip install -e . (no weights are downloaded)")


def _state_dict(checkpoint: dict, path: Path) -> dict:
    """The network's tensors from a released checkpoint (a bare state dict, or under "model" /
    "state_dict", with DataParallel's "module." prefix removed)."""
    states = checkpoint.get("model", checkpoint.get("state_dict", checkpoint))
    if not isinstance(states, dict) or not states:
        raise ValueError(f"--model cdm:{path}: no state dict in the checkpoint")
    return {key.removeprefix("module."): value for key, value in states.items()}


class CameraDepthModel:
    stage = "external"

    def __init__(self, path: Path):
        if not path.is_file():
            raise FileNotFoundError(f"--model cdm:{path}: no such checkpoint file (a released CDM .pth)")
        try:
            from rgbddepth.dpt import RGBDDepth
        except ImportError:
            raise ValueError(f"--model cdm:{path}: the rgbddepth package is not installed; {CDM_INSTALL}") from None
        self.name = f"cdm:{path.stem}"
        self.network = RGBDDepth(**CDM_VITL)
        loaded = self.network.load_state_dict(_state_dict(load_weights_only(path, "CDM checkpoint"), path),
                                              strict=False)
        if loaded.missing_keys:
            raise ValueError(f"--model cdm:{path}: {len(loaded.missing_keys)} network weights are missing from "
                             f"the checkpoint (e.g. {loaded.missing_keys[0]}); is it a ViT-L CDM checkpoint?")
        self.network.eval()

    def predict(self, rgb, depth_raw, K, prompt=None) -> np.ndarray:
        depth = np.asarray(depth_raw, dtype=np.float32)
        inverse = np.where(depth > 0, 1.0 / np.maximum(depth, 1e-6), 0.0).astype(np.float32)
        predicted = np.asarray(self.network.infer_image(np.ascontiguousarray(rgb), inverse,
                                                        input_size=CDM_INPUT_SIZE), dtype=np.float32)
        return np.where(predicted > 0, 1.0 / np.maximum(predicted, 1e-6), 0.0).astype(np.float32)


#: prefix of ``--model PREFIX:PATH`` -> the adapter class
ADAPTERS: dict[str, Callable[[Path], object]] = {"cdm": CameraDepthModel}


def adapter_for(spec: str):
    """The adapter a ``PREFIX:PATH`` model spec names, or None when the spec has no known prefix."""
    prefix, _, rest = spec.partition(":")
    if prefix not in ADAPTERS or not rest:
        return None
    return ADAPTERS[prefix](Path(rest).expanduser())
