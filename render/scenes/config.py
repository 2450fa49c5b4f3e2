"""Typed options of the procedural rooms (the ``--scene-*`` flags): furniture, clutter, windows,
cables, hard-material rates and a folder of assets to scatter."""

from __future__ import annotations

from dataclasses import dataclass, field
from depthcur.core.exits import FieldValueError
from depthcur.core.validate import Checked

#: a (lo, hi) count range; lo == hi fixes the count
COUNT_RANGE = {"min": 0, "ordered": "<="}
RATE = {"min": 0, "max": 1}
#: the hard materials and their rate fields, in the order a room assigns them
HARD_RATE_FIELDS = {"glass": "glass_rate", "mirror": "mirror_rate", "metal": "metal_rate", "dark": "dark_rate"}


@dataclass
class SceneConfig(Checked):
    """How a procedural room is furnished. Rates are shares of the room's furniture and clutter
    objects; each room draws its counts from them (stochastic rounding), so they hold per room to
    within one object and exactly on average."""

    #: pieces of furniture on the floor (tables, chairs, shelves, cabinets, boxes, mirror panels ...)
    furniture_count: tuple[int, int] = field(default=(6, 10), metadata=COUNT_RANGE)
    #: small objects (mugs, books, bottles, bowls, boxes, balls) on each table, cabinet and shelf board
    clutter_per_surface: tuple[int, int] = field(default=(1, 3), metadata=COUNT_RANGE)
    #: cables (5 mm thick) running from a piece of furniture down to the floor
    cable_count: tuple[int, int] = field(default=(0, 2), metadata=COUNT_RANGE)
    #: window openings in the walls, each with a sky plane outside and sunlight through it
    window_count: tuple[int, int] = field(default=(0, 2), metadata=COUNT_RANGE)
    #: chance that a window opening holds a glass pane
    window_glass_probability: float = field(default=0.5, metadata=RATE)
    #: share of furniture and clutter objects made of glass (transmission 1)
    glass_rate: float = field(default=0.1, metadata=RATE)
    #: share made of mirror (metallic 1, roughness 0); mirror furniture is a wall or standing mirror panel
    mirror_rate: float = field(default=0.05, metadata=RATE)
    #: share made of polished metal (metallic 1, roughness 0.02-0.08)
    metal_rate: float = field(default=0.1, metadata=RATE)
    #: share made of very dark, light-absorbing material (albedo 0.005-0.02)
    dark_rate: float = field(default=0.1, metadata=RATE)
    #: every room holds at least one glass, one mirror and one metal object (when their rate is above 0)
    hard_minimum: bool = True
    #: a folder of .glb/.gltf/.blend/.obj assets scattered on the rooms' surfaces (also --assets)
    assets: str | None = None
    #: assets scattered per room (drawn with replacement from the folder)
    asset_count: tuple[int, int] = field(default=(2, 4), metadata=COUNT_RANGE)
    #: an asset larger than this (its largest side, m) is scaled down to it
    asset_max_size_m: float = field(default=0.5, metadata={"above": 0})

    def __post_init__(self):
        super().__post_init__()
        if self.assets is not None:
            from .assets import check_asset_folder

            self.assets = str(check_asset_folder(self.assets))
        total = sum(getattr(self, name) for name in HARD_RATE_FIELDS.values())
        if total > 1:
            raise FieldValueError("glass_rate", f"the hard-material rates add up to {total:g}, more than 1",
                                  "give glass, mirror, metal and dark rates that add up to at most 1",
                                  other="dark_rate")

    def hard_rates(self) -> dict[str, float]:
        return {kind: float(getattr(self, name)) for kind, name in HARD_RATE_FIELDS.items()}
