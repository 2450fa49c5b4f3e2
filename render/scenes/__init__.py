"""Scenes: procedural indoor rooms and imported scene files, behind one :class:`BuiltScene`."""

from .config import SceneConfig
from .files import SCENE_SUFFIXES, load_scene_file
from .materials import MATERIAL_CLASS, MATERIAL_KINDS, NON_LAMBERTIAN, material_mask_from_instances
from .model import BuiltScene, Instance, SceneError
from .procedural import build_procedural_room

__all__ = ["BuiltScene", "Instance", "SceneError", "SceneConfig", "build_procedural_room", "load_scene_file",
           "material_mask_from_instances", "SCENE_SUFFIXES", "MATERIAL_CLASS", "MATERIAL_KINDS", "NON_LAMBERTIAN"]
