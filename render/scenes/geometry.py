"""Mesh objects from primitive parts, their placement and their world-space boxes."""

from __future__ import annotations

import math

import numpy as np

#: segments of round parts: enough for smooth silhouettes at 1280 px, few for thin legs and cables
ROUND_SEGMENTS = 32
THIN_SEGMENTS = 12
THIN_PART_M = 0.05


def mesh_object(name: str, parts: list[tuple]):
    """One mesh object from primitive parts ``(kind, size xyz, offset xyz[, top/bottom radius ratio])``
    (kind cube, cylinder, cone, sphere; sizes are full extents in metres), so a multi-part piece of
    furniture is one instance. Round parts are smooth-shaded, boxes flat."""
    import bmesh
    import bpy
    from mathutils import Matrix

    bm = bmesh.new()
    for kind, size, offset, *taper in parts:
        placement = Matrix.Translation(offset) @ Matrix.Diagonal((*size, 1.0))
        before = set(bm.faces)
        segments = THIN_SEGMENTS if max(size[0], size[1]) < THIN_PART_M else ROUND_SEGMENTS
        if kind == "cube":
            bmesh.ops.create_cube(bm, size=1.0, matrix=placement)
        elif kind in ("cylinder", "cone"):
            top = taper[0] if taper else 1.0          # cone: the top radius as a share of the bottom one
            bmesh.ops.create_cone(bm, cap_ends=True, segments=segments, radius1=0.5, radius2=0.5 * top, depth=1.0,
                                  matrix=placement)
        elif kind == "sphere":
            bmesh.ops.create_uvsphere(bm, u_segments=ROUND_SEGMENTS, v_segments=16, radius=0.5, matrix=placement)
        else:
            raise ValueError(f"unknown part kind {kind!r}")
        for face in set(bm.faces) - before:
            face.smooth = kind != "cube"
    mesh = bpy.data.meshes.new(name)
    bm.to_mesh(mesh)
    bm.free()
    obj = bpy.data.objects.new(name, mesh)
    bpy.context.scene.collection.objects.link(obj)
    return obj


def pose_matrix(centre, yaw: float):
    """World matrix of a translation to ``centre`` and a rotation ``yaw`` (rad) about +z."""
    from mathutils import Matrix

    return Matrix.Translation(tuple(float(c) for c in centre)) @ Matrix.Rotation(float(yaw), 4, "Z")


def place(obj, centre, yaw: float = 0.0) -> None:
    """Set the world matrix directly, so :func:`world_box` is right without a depsgraph update."""
    obj.matrix_world = pose_matrix(centre, yaw)


def local_box(obj) -> tuple[np.ndarray, np.ndarray]:
    """(lo, hi) of a mesh object's vertices in its own frame."""
    coords = np.empty(len(obj.data.vertices) * 3, dtype=np.float64)
    obj.data.vertices.foreach_get("co", coords)
    coords = coords.reshape(-1, 3)
    return coords.min(axis=0), coords.max(axis=0)


def transformed_box(lo, hi, matrix) -> tuple[np.ndarray, np.ndarray]:
    """Axis-aligned box around the eight corners of (lo, hi) moved by a 4x4 ``matrix``."""
    corners = np.array([[x, y, z, 1.0] for x in (lo[0], hi[0]) for y in (lo[1], hi[1]) for z in (lo[2], hi[2])])
    moved = (corners @ np.array(matrix).T)[:, :3]
    return moved.min(axis=0), moved.max(axis=0)


def world_box(obj) -> tuple[np.ndarray, np.ndarray]:
    """Axis-aligned world box of a mesh object (its vertex box's eight corners, transformed)."""
    return transformed_box(*local_box(obj), obj.matrix_world)


def boxes_overlap(a: tuple, b: tuple, tolerance: float) -> bool:
    """Whether two (lo, hi) boxes interpenetrate by more than ``tolerance`` along every axis."""
    return bool(np.all(np.minimum(a[1], b[1]) - np.maximum(a[0], b[0]) > tolerance))


def rotate_xy(xy, yaw: float) -> np.ndarray:
    c, s = math.cos(yaw), math.sin(yaw)
    return np.array([c * xy[0] - s * xy[1], s * xy[0] + c * xy[1]])
