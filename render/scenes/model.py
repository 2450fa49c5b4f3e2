"""What the renderer needs to know about a built scene, whatever built it."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


class SceneError(RuntimeError):
    """A scene that cannot be rendered; the message names the file (or procedural id)."""


@dataclass
class Instance:
    """One object of the instance mask (``pass_index``)."""

    pass_index: int
    name: str
    category: str           # furniture-like kind: floor, wall, table, sphere ... or the file's object name
    material: str           # material kind (materials.MATERIAL_KINDS) or "file"

    def to_dict(self) -> dict:
        return {"name": self.name, "category": self.category, "material": self.material}


@dataclass
class BuiltScene:
    scene_id: str
    source: str                         # "procedural" or the scene file path
    instances: list[Instance]
    #: (name, bpy object, centre xyz) the camera may look at
    targets: list = field(default_factory=list)
    #: axis-aligned box the camera must stay inside
    bounds: tuple[np.ndarray, np.ndarray] = (np.full(3, -10.0), np.full(3, 10.0))
    floor_z: float | None = None
    #: room lights (visible in RGB, hidden in IR)
    lights: list = field(default_factory=list)
    scene_category: str = "synthetic"
    info: dict = field(default_factory=dict)

    def instance_table(self) -> dict[str, dict]:
        return {str(i.pass_index): i.to_dict() for i in self.instances}
