"""Scene files: .blend, .glb/.gltf, .obj, .fbx, .usd/.usda/.usdc/.usdz."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from .model import BuiltScene, Instance, SceneError

SCENE_SUFFIXES = (".blend", ".glb", ".gltf", ".obj", ".fbx", ".usd", ".usda", ".usdc", ".usdz")


def _append_blend(path: Path) -> None:
    import bpy

    with bpy.data.libraries.load(str(path), link=False) as (source, target):
        target.objects = list(source.objects)
    for obj in target.objects:
        if obj is not None and obj.type in ("MESH", "LIGHT", "CURVE", "SURFACE", "META", "FONT"):
            bpy.context.scene.collection.objects.link(obj)


def import_file(path: Path) -> None:
    """Import one scene or asset file into the current scene with Blender's importer for its format."""
    import bpy

    suffix = path.suffix.lower()
    if suffix == ".blend":
        _append_blend(path)
    elif suffix in (".glb", ".gltf"):
        bpy.ops.import_scene.gltf(filepath=str(path))
    elif suffix == ".obj":
        bpy.ops.wm.obj_import(filepath=str(path))
    elif suffix == ".fbx":
        bpy.ops.import_scene.fbx(filepath=str(path))
    elif suffix in (".usd", ".usda", ".usdc", ".usdz"):
        bpy.ops.wm.usd_import(filepath=str(path))
    else:
        raise SceneError(f"scene file {path}: unsupported format {suffix!r}; use one of {', '.join(SCENE_SUFFIXES)}")


def _category(name: str) -> str:
    """Object name without Blender's .001 suffixes, as a category label."""
    return re.sub(r"\.\d+$", "", name).lower() or "object"


def _add_default_lights(lo: np.ndarray, hi: np.ndarray) -> list:
    import bpy

    data = bpy.data.lights.new("room_light_file", type="AREA")
    extent = float(np.linalg.norm(hi - lo))
    data.energy = 80.0 * max(extent, 1.0) ** 2
    data.size = max(extent / 3, 0.5)
    obj = bpy.data.objects.new(data.name, data)
    obj.location = ((lo + hi) / 2 + np.array([0, 0, (hi[2] - lo[2]) / 2 + extent / 4])).tolist()
    bpy.context.scene.collection.objects.link(obj)
    return [obj]


def load_scene_file(path: str | Path, scene_id: str) -> BuiltScene:
    """Import ``path`` into the current (empty) scene; raise :class:`SceneError` naming it on failure."""
    import bpy
    from mathutils import Vector

    path = Path(path)
    if not path.is_file():
        raise SceneError(f"scene file {path} does not exist")
    try:
        import_file(path)
    except SceneError:
        raise
    except Exception as exc:  # importers raise RuntimeError/ValueError/KeyError... with their own text
        raise SceneError(f"scene file {path} could not be read: {str(exc).strip().splitlines()[-1]}") from exc
    bpy.context.view_layer.update()
    meshes = [o for o in bpy.context.scene.objects if o.type == "MESH" and len(o.data.polygons) > 0]
    if not meshes:
        raise SceneError(f"scene file {path} has no geometry (no mesh with faces)")
    instances, targets, corners = [], [], []
    for index, obj in enumerate(sorted(meshes, key=lambda o: o.name), start=1):
        obj.pass_index = index
        instances.append(Instance(index, obj.name, _category(obj.name), "file"))
        box = np.array([obj.matrix_world @ Vector(corner) for corner in obj.bound_box])
        corners.append(box.min(axis=0))
        corners.append(box.max(axis=0))
        targets.append((obj.name, obj, (box.min(axis=0) + box.max(axis=0)) / 2))
    corners = np.array(corners)
    lo, hi = corners.min(axis=0), corners.max(axis=0)
    lights = [o for o in bpy.context.scene.objects if o.type == "LIGHT"]
    if not lights:
        lights = _add_default_lights(lo, hi)
    margin = max(3.0, float(np.linalg.norm(hi - lo)))
    return BuiltScene(scene_id=scene_id, source=str(path), instances=instances, targets=targets,
                      bounds=(lo - margin, hi + margin), floor_z=None, lights=lights,
                      info={"scene_file": str(path), "bbox_m": [lo.tolist(), hi.tolist()]})
