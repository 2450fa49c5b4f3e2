"""Walls with window openings: an emissive sky plane outside each opening and sunlight through it."""

from __future__ import annotations

import math

import numpy as np

#: (normal axis, sign) of the four walls: x-, x+, y-, y+
WALLS = ((0, -1), (0, 1), (1, -1), (1, 1))


def wall_parts(size: tuple[float, float, float], wall: int, thickness: float, opening: dict | None) -> list:
    """Cube parts of one wall, split around a window ``opening`` ({along, width, sill, height}:
    centre along the wall, full width, sill height, opening height) when given."""
    width, depth, height = size
    axis, sign = WALLS[wall]
    length = depth if axis == 0 else width
    offset = sign * ((width if axis == 0 else depth) + thickness) / 2

    def part(along_lo: float, along_hi: float, z_lo: float, z_hi: float) -> tuple:
        along, span = (along_lo + along_hi) / 2, along_hi - along_lo
        centre = (offset, along, (z_lo + z_hi) / 2) if axis == 0 else (along, offset, (z_lo + z_hi) / 2)
        extent = (thickness, span, z_hi - z_lo) if axis == 0 else (span, thickness, z_hi - z_lo)
        return "cube", extent, centre

    # walls running along y span the full room; those along x also cover the corners
    full = (-length / 2, length / 2) if axis == 0 else (-length / 2 - thickness, length / 2 + thickness)
    if opening is None:
        return [part(*full, 0.0, height)]
    lo, hi = opening["along"] - opening["width"] / 2, opening["along"] + opening["width"] / 2
    sill, top = opening["sill"], opening["sill"] + opening["height"]
    return [part(full[0], lo, 0.0, height), part(hi, full[1], 0.0, height),
            part(lo, hi, 0.0, sill), part(lo, hi, top, height)]


def draw_opening(size: tuple[float, float, float], wall: int, rng: np.random.Generator) -> dict:
    width, depth, height = size
    length = depth if WALLS[wall][0] == 0 else width
    w = float(rng.uniform(0.8, min(1.6, length - 1.0)))
    h = float(rng.uniform(0.9, min(1.4, height - 1.2)))
    return {"wall": wall, "width": w, "height": h, "sill": float(rng.uniform(0.7, min(1.0, height - h - 0.2))),
            "along": float(rng.uniform(-length / 2 + w / 2 + 0.3, length / 2 - w / 2 - 0.3))}


def opening_frame(size: tuple[float, float, float], opening: dict, thickness: float) -> tuple[np.ndarray, np.ndarray]:
    """(centre of the opening on the wall's outer face, outward unit normal)."""
    width, depth, _ = size
    axis, sign = WALLS[opening["wall"]]
    normal = np.zeros(3)
    normal[axis] = sign
    out = ((width if axis == 0 else depth) / 2 + thickness) * sign
    centre = np.array([out, opening["along"], 0.0]) if axis == 0 else np.array([opening["along"], out, 0.0])
    centre[2] = opening["sill"] + opening["height"] / 2
    return centre, normal


def sky_plane_parts(opening: dict, normal: np.ndarray, distance: float) -> tuple[list, np.ndarray]:
    """A thin slab ``distance`` outside the opening, wide enough to fill the opening seen from inside."""
    span = max(opening["width"], opening["height"]) * (3 + 2 * distance)
    extent = (0.02, span, span) if normal[0] else (span, 0.02, span)
    return [("cube", extent, (0.0, 0.0, 0.0))], normal * distance


def add_sun(name: str, normal: np.ndarray, rng: np.random.Generator):
    """A sun lamp shining in through the opening (down 25-55°, within ±30° of the wall normal)."""
    import bpy
    from mathutils import Vector

    data = bpy.data.lights.new(name, type="SUN")
    data.energy = float(rng.uniform(2.0, 5.0))
    data.angle = math.radians(0.53)
    obj = bpy.data.objects.new(name, data)
    bpy.context.scene.collection.objects.link(obj)
    elevation, turn = math.radians(rng.uniform(25, 55)), math.radians(rng.uniform(-30, 30))
    inward = -normal[:2]
    c, s = math.cos(turn), math.sin(turn)
    horizontal = np.array([c * inward[0] - s * inward[1], s * inward[0] + c * inward[1]])
    direction = Vector((*(horizontal * math.cos(elevation)), -math.sin(elevation)))
    # a sun lamp shines along its local -z
    obj.rotation_euler = direction.to_track_quat("-Z", "Y").to_euler()
    return obj
