from .camera import OrbbecCamera
from .config import OrbbecConfig

__all__ = ["OrbbecCamera", "OrbbecConfig"]
