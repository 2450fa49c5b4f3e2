"""Scenes: procedural indoor rooms and imported scene files, behind one :class:`BuiltScene`."""

from .files import SCENE_SUFFIXES, load_scene_file
from .materials import MATERIAL_KINDS, NON_LAMBERTIAN
from .model import BuiltScene, Instance, SceneError
from .procedural import build_procedural_room

__all__ = ["BuiltScene", "Instance", "SceneError", "build_procedural_room", "load_scene_file",
           "SCENE_SUFFIXES", "MATERIAL_KINDS", "NON_LAMBERTIAN"]
