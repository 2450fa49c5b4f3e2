from .camera import ReplayCamera, frame_from_sample
from .config import ReplayConfig

__all__ = ["ReplayCamera", "ReplayConfig", "frame_from_sample"]
