"""render: Blender speckle-stereo rendering and SGM sensor depth.

``render_scenes(RenderConfig(...)) -> RenderReport`` is the Python API; ``depthcur render``
is the same thing on the command line. bpy is imported only inside the Ray workers.
"""

from .config import SENSOR_WIDTH_MM, RenderConfig, RigRanges, SgmConfig, parse_resolution
from .jobs import SceneSpecError, expand_scenes
from .runner import RenderReport, render_scenes

__all__ = ["RenderConfig", "RigRanges", "SgmConfig", "RenderReport", "render_scenes", "parse_resolution",
           "expand_scenes", "SceneSpecError", "SENSOR_WIDTH_MM"]
