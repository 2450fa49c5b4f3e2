from .camera import RealSenseCamera
from .config import RealSenseConfig

__all__ = ["RealSenseCamera", "RealSenseConfig"]
