"""Procedural indoor rooms: floor, walls, ceiling, furniture-like primitives, room lights.

Every room holds at least one glass, one polished-metal and one mirror object beside the
diffuse ones, so each render has surfaces on which an active-stereo sensor fails.
"""

from __future__ import annotations

import math

import numpy as np

from .materials import make_material
from .model import BuiltScene, Instance

FURNITURE = ("box", "shelf", "table", "cylinder", "sphere")
#: every room gets these material kinds first, then random ones
REQUIRED_MATERIALS = ("glass", "metal", "mirror")
RANDOM_MATERIALS = ("textured", "textured", "plain", "plain", "dark", "glass", "metal")


def _mesh_object(name: str, parts: list[tuple[str, tuple, tuple]]):
    """One mesh object from primitive parts (kind, size xyz, offset xyz), so a multi-part piece
    of furniture is one instance. Sizes are full extents in metres."""
    import bmesh
    import bpy
    from mathutils import Matrix

    bm = bmesh.new()
    for kind, size, offset in parts:
        placement = Matrix.Translation(offset) @ Matrix.Diagonal((*size, 1.0))
        if kind == "cube":
            bmesh.ops.create_cube(bm, size=1.0, matrix=placement)
        elif kind == "cylinder":
            bmesh.ops.create_cone(bm, cap_ends=True, segments=32, radius1=0.5, radius2=0.5, depth=1.0,
                                  matrix=placement)
        elif kind == "sphere":
            bmesh.ops.create_uvsphere(bm, u_segments=32, v_segments=16, radius=0.5, matrix=placement)
    for face in bm.faces:
        face.smooth = kind in ("cylinder", "sphere")
    mesh = bpy.data.meshes.new(name)
    bm.to_mesh(mesh)
    bm.free()
    obj = bpy.data.objects.new(name, mesh)
    bpy.context.scene.collection.objects.link(obj)
    return obj


def _furniture_parts(kind: str, rng: np.random.Generator) -> tuple[list, tuple[float, float, float]]:
    """(parts, footprint+height) of one piece, resting on z = 0 in its own frame."""
    if kind == "box":
        w, d, h = rng.uniform(0.3, 1.0), rng.uniform(0.3, 0.8), rng.uniform(0.3, 1.2)
        return [("cube", (w, d, h), (0, 0, h / 2))], (w, d, h)
    if kind == "table":
        w, d, h = rng.uniform(0.8, 1.6), rng.uniform(0.6, 1.0), rng.uniform(0.65, 0.8)
        top, leg = 0.04, 0.05
        parts = [("cube", (w, d, top), (0, 0, h - top / 2))]
        for sx in (-1, 1):
            for sy in (-1, 1):
                parts.append(("cube", (leg, leg, h - top), (sx * (w / 2 - leg), sy * (d / 2 - leg), (h - top) / 2)))
        return parts, (w, d, h)
    if kind == "shelf":
        w, d, h = rng.uniform(0.6, 1.2), rng.uniform(0.3, 0.45), rng.uniform(1.0, 2.0)
        board, levels = 0.03, int(rng.integers(3, 6))
        parts = [("cube", (board, d, h), (sx * (w / 2 - board / 2), 0, h / 2)) for sx in (-1, 1)]
        parts.append(("cube", (w, board, h), (0, d / 2 - board / 2, h / 2)))
        for level in range(levels):
            z = board / 2 + level * (h - board) / (levels - 1)
            parts.append(("cube", (w, d, board), (0, 0, z)))
        return parts, (w, d, h)
    if kind == "cylinder":
        r, h = rng.uniform(0.15, 0.4), rng.uniform(0.3, 1.2)
        return [("cylinder", (2 * r, 2 * r, h), (0, 0, h / 2))], (2 * r, 2 * r, h)
    if kind == "sphere":
        r = rng.uniform(0.15, 0.45)
        return [("sphere", (2 * r, 2 * r, 2 * r), (0, 0, r))], (2 * r, 2 * r, 2 * r)
    raise ValueError(f"unknown furniture kind {kind!r}")


def _place(footprint: tuple[float, float], room: tuple[float, float], taken: list, rng) -> tuple | None:
    """A floor position whose footprint overlaps nothing already placed (rejection sampling)."""
    half = np.array(footprint) / 2 + 0.05
    for _ in range(50):
        centre = rng.uniform(-np.array(room) / 2 + half + 0.1, np.array(room) / 2 - half - 0.1)
        if all(np.any(np.abs(centre - c) > half + h) for c, h in taken):
            taken.append((centre, half))
            return centre
    return None


def _add_room_lights(rng, size: tuple[float, float, float]) -> list:
    import bpy

    lights = []
    for i in range(int(rng.integers(1, 3))):
        data = bpy.data.lights.new(f"room_light_{i}", type="AREA")
        data.energy = float(rng.uniform(50, 150)) * size[0] * size[1] / 20
        data.size = float(rng.uniform(0.5, 1.5))
        obj = bpy.data.objects.new(data.name, data)
        obj.location = (rng.uniform(-size[0] / 4, size[0] / 4), rng.uniform(-size[1] / 4, size[1] / 4),
                        size[2] - 0.05)
        bpy.context.scene.collection.objects.link(obj)
        lights.append(obj)
    return lights


def build_procedural_room(scene_id: str, rng: np.random.Generator, *, object_count: tuple[int, int] = (6, 10)
                          ) -> BuiltScene:
    """Build a room into the current (empty) Blender scene."""
    width, depth, height = rng.uniform(4.0, 7.0), rng.uniform(4.0, 7.0), rng.uniform(2.6, 3.2)
    wall = 0.1
    instances: list[Instance] = []

    def add(obj, category: str, material_kind: str) -> Instance:
        obj.pass_index = len(instances) + 1
        obj.data.materials.append(make_material(material_kind, rng, f"{obj.name}_{material_kind}"))
        instance = Instance(obj.pass_index, obj.name, category, material_kind)
        instances.append(instance)
        return instance

    shell = [("floor", (width, depth, wall), (0, 0, -wall / 2)),
             ("ceiling", (width, depth, wall), (0, 0, height + wall / 2)),
             ("wall", (wall, depth, height), (-(width + wall) / 2, 0, height / 2)),
             ("wall", (wall, depth, height), ((width + wall) / 2, 0, height / 2)),
             ("wall", (width, wall, height), (0, -(depth + wall) / 2, height / 2)),
             ("wall", (width, wall, height), (0, (depth + wall) / 2, height / 2))]
    for i, (category, size, offset) in enumerate(shell):
        obj = _mesh_object(f"{category}_{i}", [("cube", size, offset)])
        add(obj, category, "textured" if rng.random() < 0.7 else "plain")

    count = int(rng.integers(object_count[0], object_count[1] + 1))
    kinds = list(REQUIRED_MATERIALS) + [RANDOM_MATERIALS[int(rng.integers(len(RANDOM_MATERIALS)))]
                                        for _ in range(count - len(REQUIRED_MATERIALS))]
    targets, taken = [], []
    for i, material_kind in enumerate(kinds):
        category = FURNITURE[int(rng.integers(len(FURNITURE)))]
        if material_kind == "mirror":
            category = "mirror_panel"
            mw, mh = rng.uniform(0.6, 1.2), rng.uniform(0.8, 1.5)
            parts, extent = [("cube", (mw, 0.02, mh), (0, 0, mh / 2 + 0.3))], (mw, 0.1, mh + 0.3)
        else:
            parts, extent = _furniture_parts(category, rng)
        centre = _place(extent[:2], (width, depth), taken, rng)
        if centre is None:
            continue
        obj = _mesh_object(f"{category}_{i}", parts)
        obj.location = (float(centre[0]), float(centre[1]), 0.0)
        obj.rotation_euler = (0.0, 0.0, float(rng.choice([0.0, math.pi / 2]) + rng.uniform(-0.3, 0.3)))
        add(obj, category, material_kind)
        targets.append((obj.name, obj, np.array([centre[0], centre[1], extent[2] / 2])))

    lights = _add_room_lights(rng, (width, depth, height))
    margin = 0.25
    bounds = (np.array([-width / 2 + margin, -depth / 2 + margin, margin]),
              np.array([width / 2 - margin, depth / 2 - margin, height - margin]))
    return BuiltScene(scene_id=scene_id, source="procedural", instances=instances, targets=targets,
                      bounds=bounds, floor_z=0.0, lights=lights,
                      info={"room_size_m": [float(width), float(depth), float(height)]})
