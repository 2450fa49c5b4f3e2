"""A folder of assets (.glb/.gltf/.blend/.obj) scattered on the surfaces of procedural rooms."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from depthcur.core.exits import FieldValueError

ASSET_SUFFIXES = (".glb", ".gltf", ".blend", ".obj")


def find_assets(folder: str | Path) -> list[Path]:
    """The asset files under ``folder`` (recursively), sorted so a seed picks the same ones."""
    return sorted(p for p in Path(folder).rglob("*") if p.is_file() and p.suffix.lower() in ASSET_SUFFIXES)


def check_asset_folder(folder: str | Path) -> Path:
    """``folder`` when it holds at least one asset; a usage error naming it otherwise."""
    folder = Path(folder)
    if not folder.is_dir():
        raise FieldValueError("assets", f"asset folder {folder} does not exist", "give a folder of asset files")
    if not find_assets(folder):
        raise FieldValueError("assets", f"asset folder {folder} holds no {'/'.join(ASSET_SUFFIXES)} file",
                              "put asset files in it or leave --assets out")
    return folder


def import_asset(path: Path, name: str):
    """Import one asset under a new empty ``name`` at the origin; returns (root, its meshes).
    Cameras and lights that came with the file are dropped (the room has its own)."""
    import bpy

    from .files import import_file
    from .model import SceneError

    before = set(bpy.context.scene.objects)
    import_file(path)
    added = [o for o in bpy.context.scene.objects if o not in before]
    for obj in [o for o in added if o.type in ("CAMERA", "LIGHT")]:
        added.remove(obj)
        bpy.data.objects.remove(obj)
    meshes = [o for o in added if o.type == "MESH" and len(o.data.polygons) > 0]
    if not meshes:
        raise SceneError(f"asset {path} has no geometry (no mesh with faces)")
    root = bpy.data.objects.new(name, None)
    bpy.context.scene.collection.objects.link(root)
    for obj in added:
        if obj.parent is None:
            obj.parent = root
    bpy.context.view_layer.update()
    return root, meshes


def meshes_box(meshes) -> tuple[np.ndarray, np.ndarray]:
    """World box of several mesh objects (call after a view-layer update)."""
    from .geometry import world_box

    boxes = [world_box(obj) for obj in meshes]
    return np.min([lo for lo, _ in boxes], axis=0), np.max([hi for _, hi in boxes], axis=0)


def fitting_transform(box: tuple[np.ndarray, np.ndarray], max_size_m: float):
    """(scale, bottom-centre) that shrinks an asset to at most ``max_size_m`` (assets come in any unit)."""
    lo, hi = box
    scale = min(1.0, max_size_m / max(float(np.max(hi - lo)), 1e-9))
    return scale, np.array([(lo[0] + hi[0]) / 2, (lo[1] + hi[1]) / 2, lo[2]])


def put_asset(root, meshes, scale: float, bottom_centre: np.ndarray, spot: np.ndarray, yaw: float):
    """Move the asset so its bottom centre lands on ``spot``; returns its new world box."""
    import bpy
    from mathutils import Matrix

    from .geometry import pose_matrix

    root.matrix_world = (pose_matrix(spot, yaw) @ Matrix.Diagonal((scale, scale, scale, 1.0))
                         @ Matrix.Translation(tuple(-float(c) for c in bottom_centre)))
    bpy.context.view_layer.update()
    return meshes_box(meshes)
