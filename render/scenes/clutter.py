"""Small objects (mugs, books, bottles, bowls, boxes, balls) and where things can stand: seeded
placement on the tops of tables, cabinets and shelf boards without interpenetration."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .furniture import Surface
from .geometry import boxes_overlap, rotate_xy

CLUTTER_KINDS = ("mug", "book", "bottle", "bowl", "box", "ball", "can")
#: boxes of two things may interpenetrate by at most this (m); also the gap kept to a surface's edge
PENETRATION_TOLERANCE_M = 0.002
PLACEMENT_TRIES = 30


def clutter_parts(kind: str, rng: np.random.Generator) -> tuple[list, tuple[float, float, float]]:
    """(parts, extent) of one small object resting on z = 0 in its own frame."""
    if kind == "mug":
        r, h = rng.uniform(0.035, 0.045), rng.uniform(0.08, 0.11)
        return [("cylinder", (2 * r, 2 * r, h), (0, 0, h / 2)),
                ("cube", (0.012, 0.012, 0.6 * h), (r + 0.012, 0, h / 2))], (2 * r + 0.036, 2 * r, h)
    if kind == "book":
        w, d, t = rng.uniform(0.14, 0.24), rng.uniform(0.1, 0.17), rng.uniform(0.015, 0.045)
        books = int(rng.integers(1, 4))
        return [("cube", (w, d, t), (0, 0, t / 2 + i * t)) for i in range(books)], (w, d, t * books)
    if kind == "bottle":
        r, h = rng.uniform(0.03, 0.045), rng.uniform(0.2, 0.3)
        body = 0.65 * h
        return [("cylinder", (2 * r, 2 * r, body), (0, 0, body / 2)),
                ("cone", (2 * r, 2 * r, 0.15 * h), (0, 0, body + 0.075 * h), 0.35),
                ("cylinder", (0.7 * r, 0.7 * r, 0.2 * h), (0, 0, 0.9 * h))], (2 * r, 2 * r, h)
    if kind == "bowl":
        r, h = rng.uniform(0.06, 0.1), rng.uniform(0.04, 0.07)
        return [("cone", (r, r, h), (0, 0, h / 2), 2.0)], (2 * r, 2 * r, h)
    if kind == "box":
        w, d, h = rng.uniform(0.05, 0.2), rng.uniform(0.05, 0.15), rng.uniform(0.03, 0.15)
        return [("cube", (w, d, h), (0, 0, h / 2))], (w, d, h)
    if kind == "ball":
        r = rng.uniform(0.03, 0.09)
        return [("sphere", (2 * r, 2 * r, 2 * r), (0, 0, r))], (2 * r, 2 * r, 2 * r)
    if kind == "can":
        r, h = rng.uniform(0.03, 0.04), rng.uniform(0.1, 0.13)
        return [("cylinder", (2 * r, 2 * r, h), (0, 0, h / 2))], (2 * r, 2 * r, h)
    raise ValueError(f"unknown clutter kind {kind!r}")


@dataclass
class WorldSurface:
    """A :class:`Surface` of one owner placed in the room."""

    owner: str                     # object name (or "floor")
    origin: np.ndarray             # owner's world position (its frame's origin)
    yaw: float                     # owner's rotation about +z
    surface: Surface

    @property
    def z(self) -> float:
        return float(self.origin[2] + self.surface.top)

    def point(self, local_xy) -> np.ndarray:
        """World xyz of a point given in the surface's own (centred) frame, at the surface's height."""
        xy = np.asarray(self.surface.centre) + np.asarray(local_xy)
        return np.array([*(self.origin[:2] + rotate_xy(xy, self.yaw)), self.z])


def find_spot(world: WorldSurface, radius: float, height: float, rng: np.random.Generator) -> np.ndarray | None:
    """A random world point on ``world`` where a thing of this footprint radius fits inside the
    surface and under its headroom; None when it cannot fit at all."""
    half = np.asarray(world.surface.size) / 2 - radius - PENETRATION_TOLERANCE_M
    if np.any(half < 0) or height > world.surface.headroom:
        return None
    return world.point(rng.uniform(-half, half))


def place_on(obj, surfaces: list[WorldSurface], radius: float, height: float, occupied: list,
             rng: np.random.Generator, put) -> WorldSurface | None:
    """Try random spots on ``surfaces`` until ``put(obj, xyz)`` gives a world box that overlaps no
    box in ``occupied`` (``(owner name, (lo, hi))``; the supporting owner is exempt); the box is
    added to ``occupied``. Returns the surface used, None after PLACEMENT_TRIES misses."""
    for _ in range(PLACEMENT_TRIES):
        world = surfaces[int(rng.integers(len(surfaces)))]
        spot = find_spot(world, radius, height, rng)
        if spot is None:
            continue
        box = put(obj, spot)
        if not any(boxes_overlap(box, other, PENETRATION_TOLERANCE_M)
                   for owner, other in occupied if owner != world.owner):
            occupied.append((obj.name, box))
            return world
    return None
