"""Furniture built from parts (tables, chairs, shelves, cabinets, lamps ...), each resting on z = 0
in its own frame, with the surfaces that clutter and assets can stand on."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: furniture kinds and how often a room draws them
FURNITURE_WEIGHTS = {"table": 2.0, "chair": 3.0, "shelf": 1.5, "cabinet": 1.5, "floor_lamp": 1.0,
                     "box": 1.0, "cylinder": 0.5, "sphere": 0.5}
#: the shape every mirror-material piece gets (a mirrored chair is not a thing rooms have)
MIRROR_PIECE = "mirror_panel"
#: headroom above a surface with nothing over it (table and cabinet tops, a shelf's top board)
OPEN_HEADROOM_M = 0.45


@dataclass
class Surface:
    """A horizontal rectangle something can stand on, in its owner's frame."""

    centre: tuple[float, float]     # xy in the owner's frame
    size: tuple[float, float]       # full extents along the owner's x and y
    top: float                      # z of the surface
    headroom: float                 # free height above it


@dataclass
class Piece:
    kind: str
    parts: list
    extent: tuple[float, float, float]      # footprint x, y and height
    surfaces: list[Surface]


def _legs(width: float, depth: float, height: float, thickness: float, inset: float, round_legs: bool) -> list:
    kind = "cylinder" if round_legs else "cube"
    return [(kind, (thickness, thickness, height), (sx * (width / 2 - inset), sy * (depth / 2 - inset), height / 2))
            for sx in (-1, 1) for sy in (-1, 1)]


def _table(rng) -> Piece:
    w, d, h = rng.uniform(0.8, 1.6), rng.uniform(0.6, 1.0), rng.uniform(0.68, 0.78)
    top, leg = rng.uniform(0.025, 0.05), rng.uniform(0.03, 0.06)
    parts = [("cube", (w, d, top), (0, 0, h - top / 2))] + _legs(w, d, h - top, leg, leg, bool(rng.random() < 0.5))
    return Piece("table", parts, (w, d, h), [Surface((0, 0), (w, d), h, OPEN_HEADROOM_M)])


def _chair(rng) -> Piece:
    """Seat, four thin legs (2-3 cm) and a back of two posts and slats: the thin structures."""
    w, d, seat_h = rng.uniform(0.4, 0.5), rng.uniform(0.4, 0.5), rng.uniform(0.42, 0.48)
    back_h, leg, seat = rng.uniform(0.35, 0.5), rng.uniform(0.02, 0.03), 0.03
    parts = [("cube", (w, d, seat), (0, 0, seat_h - seat / 2))]
    parts += _legs(w, d, seat_h - seat, leg, leg, bool(rng.random() < 0.6))
    back_y = d / 2 - leg / 2
    for sx in (-1, 1):
        parts.append(("cube", (leg, leg, back_h), (sx * (w / 2 - leg / 2), back_y, seat_h + back_h / 2)))
    slats = int(rng.integers(1, 4))
    for i in range(slats):
        z = seat_h + back_h * (i + 1) / (slats + 0.5)
        parts.append(("cube", (w, 0.015, 0.05), (0, back_y, z)))
    return Piece("chair", parts, (w, d, seat_h + back_h), [])


def _shelf(rng) -> Piece:
    w, d, h = rng.uniform(0.6, 1.2), rng.uniform(0.28, 0.4), rng.uniform(1.0, 2.0)
    board, levels = 0.025, int(rng.integers(3, 6))
    parts = [("cube", (board, d, h), (sx * (w / 2 - board / 2), 0, h / 2)) for sx in (-1, 1)]
    parts.append(("cube", (w, board / 2, h), (0, d / 2 - board / 4, h / 2)))
    spacing = (h - board) / (levels - 1)
    surfaces = []
    for level in range(levels):
        z = board / 2 + level * spacing
        parts.append(("cube", (w - 2 * board, d - board / 2, board), (0, -board / 4, z)))
        headroom = OPEN_HEADROOM_M if level == levels - 1 else spacing - board
        surfaces.append(Surface((0, -board / 4), (w - 2 * board, d - board / 2), z + board / 2, headroom))
    return Piece("shelf", parts, (w, d, h), surfaces)


def _cabinet(rng) -> Piece:
    """Body on a plinth, two doors standing 1 cm proud with bar handles."""
    w, d, h = rng.uniform(0.6, 1.4), rng.uniform(0.4, 0.6), rng.uniform(0.7, 1.1)
    plinth, door = 0.08, 0.015
    parts = [("cube", (w - 0.04, d - 0.04, plinth), (0, 0.0, plinth / 2)),
             ("cube", (w, d - door, h - plinth), (0, door / 2, plinth + (h - plinth) / 2))]
    for sx in (-1, 1):
        parts.append(("cube", (w / 2 - 0.006, door, h - plinth - 0.01), (sx * w / 4, -d / 2 + door / 2,
                                                                          plinth + (h - plinth) / 2)))
        parts.append(("cylinder", (0.012, 0.012, 0.14), (sx * 0.05, -d / 2 - 0.012, plinth + 0.7 * (h - plinth))))
    return Piece("cabinet", parts, (w, d, h), [Surface((0, 0), (w, d), h, OPEN_HEADROOM_M)])


def _floor_lamp(rng) -> Piece:
    """A 2 cm pole on a disc base under a conical shade: a thin structure SGM loses at a distance."""
    h, pole = rng.uniform(1.3, 1.7), rng.uniform(0.015, 0.025)
    base, shade = rng.uniform(0.22, 0.3), rng.uniform(0.3, 0.45)
    parts = [("cylinder", (base, base, 0.03), (0, 0, 0.015)),
             ("cylinder", (pole, pole, h - 0.03), (0, 0, 0.03 + (h - 0.03) / 2)),
             ("cone", (shade, shade, 0.25), (0, 0, h + 0.1), 0.55)]
    return Piece("floor_lamp", parts, (shade, shade, h + 0.225), [])


def _primitive(kind: str, rng) -> Piece:
    if kind == "box":
        w, d, h = rng.uniform(0.3, 1.0), rng.uniform(0.3, 0.8), rng.uniform(0.3, 1.2)
        return Piece(kind, [("cube", (w, d, h), (0, 0, h / 2))], (w, d, h),
                     [Surface((0, 0), (w, d), h, OPEN_HEADROOM_M)])
    if kind == "cylinder":
        r, h = rng.uniform(0.15, 0.4), rng.uniform(0.3, 1.2)
        return Piece(kind, [("cylinder", (2 * r, 2 * r, h), (0, 0, h / 2))], (2 * r, 2 * r, h), [])
    r = rng.uniform(0.15, 0.45)
    return Piece(kind, [("sphere", (2 * r, 2 * r, 2 * r), (0, 0, r))], (2 * r, 2 * r, 2 * r), [])


def _mirror_panel(rng) -> Piece:
    """A standing mirror: the glass-like slab on two feet."""
    w, h, lift = rng.uniform(0.6, 1.2), rng.uniform(0.8, 1.5), 0.3
    parts = [("cube", (w, 0.02, h), (0, 0, lift + h / 2))]
    parts += [("cube", (0.04, 0.3, lift), (sx * (w / 2 - 0.05), 0, lift / 2)) for sx in (-1, 1)]
    return Piece(MIRROR_PIECE, parts, (w, 0.3, h + lift), [])


def build_piece(kind: str, rng: np.random.Generator) -> Piece:
    builders = {"table": _table, "chair": _chair, "shelf": _shelf, "cabinet": _cabinet, "floor_lamp": _floor_lamp,
                MIRROR_PIECE: _mirror_panel}
    if kind in builders:
        return builders[kind](rng)
    if kind in ("box", "cylinder", "sphere"):
        return _primitive(kind, rng)
    raise ValueError(f"unknown furniture kind {kind!r}")


def draw_kind(rng: np.random.Generator) -> str:
    kinds = list(FURNITURE_WEIGHTS)
    weights = np.array([FURNITURE_WEIGHTS[k] for k in kinds])
    return kinds[int(rng.choice(len(kinds), p=weights / weights.sum()))]
