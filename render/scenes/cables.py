"""Cables: 5 mm tubes from a piece of furniture's top down to the floor and along it to a wall."""

from __future__ import annotations

import numpy as np

from .clutter import WorldSurface

CABLE_RADIUS_M = (0.0025, 0.004)


def cable_path(start: WorldSurface, room: tuple[float, float], rng: np.random.Generator) -> list[np.ndarray]:
    """Points of a cable leaving ``start``'s surface over its edge, dropping to the floor and running
    to the nearest wall (in room xy, floor at z = 0)."""
    size = np.asarray(start.surface.size)
    side = int(rng.integers(2))                              # leave over an x or a y edge
    edge = np.zeros(2)
    edge[side] = size[side] / 2 * (1 if rng.random() < 0.5 else -1)
    edge[1 - side] = rng.uniform(-0.4, 0.4) * size[1 - side]
    on_top = start.point(edge * 0.7)
    over = start.point(edge + np.sign(edge) * 0.03 * (np.abs(edge) > 0))
    down = over + np.array([*(over[:2] - start.origin[:2]) * 0.05, 0.0])
    floor = np.array([down[0], down[1], 0.0])
    half = np.asarray(room) / 2
    gaps = np.concatenate([half - floor[:2], floor[:2] + half])           # to x+, y+, x-, y- walls
    wall = int(np.argmin(gaps))
    end = floor.copy()
    end[wall % 2] = (half[wall % 2] - 0.01) * (1 if wall < 2 else -1)
    middle = (floor + end) / 2 + np.array([*rng.uniform(-0.3, 0.3, 2), 0.0])
    middle[:2] = np.clip(middle[:2], -half + 0.05, half - 0.05)
    return [on_top, over, (over + floor) / 2, floor, middle, end]


def add_cable(name: str, points: list[np.ndarray], rng: np.random.Generator):
    """A bevelled curve object through ``points``, lifted by its radius so it lies on what it crosses."""
    import bpy

    radius = float(rng.uniform(*CABLE_RADIUS_M))
    curve = bpy.data.curves.new(name, type="CURVE")
    curve.dimensions = "3D"
    curve.bevel_depth, curve.bevel_resolution = radius, 3
    spline = curve.splines.new("BEZIER")
    spline.bezier_points.add(len(points) - 1)
    for bezier, point in zip(spline.bezier_points, points):
        bezier.co = (float(point[0]), float(point[1]), float(point[2]) + radius)
        bezier.handle_left_type = bezier.handle_right_type = "AUTO"
    obj = bpy.data.objects.new(name, curve)
    bpy.context.scene.collection.objects.link(obj)
    return obj, radius
