from .camera import ZedCamera
from .config import ZedConfig

__all__ = ["ZedCamera", "ZedConfig"]
