"""Scene categories of the capture app and their quota shares.

The ids are ``depthcur.schemas.SCENE_CATEGORIES`` (the LingBot-Depth capture-table taxonomy). The
default shares are equal: the per-category counts of that table are not reproduced here, so a team
that wants the paper's mix (or its own) gives the shares in the rig YAML under ``quotas:``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

from depthcur.schemas import SCENE_CATEGORIES

CATEGORY_LABELS = {
    "residential_lt50": "Residential < 50 m²", "residential_50_100": "Residential 50–100 m²",
    "residential_gt100": "Residential > 100 m²", "office": "Office", "meeting_room": "Meeting room",
    "classroom": "Classroom", "library": "Library", "workshop": "Workshop", "laboratory": "Laboratory",
    "retail": "Retail", "restaurant_cafe": "Restaurant / café", "hotel": "Hotel", "gym": "Gym",
    "lobby_corridor": "Lobby / corridor", "hospital": "Hospital", "school_hall": "School hall",
    "airport_station": "Airport / station", "museum": "Museum", "parking_garage": "Parking garage",
    "machinery_room": "Machinery room", "elevator": "Elevator", "corridor_passage": "Corridor / passage",
    "storage_warehouse": "Storage / warehouse", "outdoor": "Outdoor",
}
#: categories an operator can pick (the schema's "synthetic" and "unknown" are not capture scenes)
CAPTURE_CATEGORIES = tuple(c for c in SCENE_CATEGORIES if c in CATEGORY_LABELS)


@dataclass(frozen=True)
class Quota:
    category: str
    label: str
    share: float      # fraction of all captures wanted in this category
    target: int       # captures wanted, share × total target


def default_shares() -> dict[str, float]:
    return {c: 1.0 / len(CAPTURE_CATEGORIES) for c in CAPTURE_CATEGORIES}


def check_category(category: str) -> str:
    if category not in CAPTURE_CATEGORIES:
        raise ValueError(f"unknown scene category {category!r}; use one of {', '.join(CAPTURE_CATEGORIES)}")
    return category


def make_quotas(total_target: int, shares: Mapping[str, float] | None = None) -> list[Quota]:
    """Per-category targets; given shares are normalised, categories left out get no quota."""
    shares = dict(shares or default_shares())
    for category, share in shares.items():
        check_category(category)
        if share < 0:
            raise ValueError(f"quota share of {category} must be >= 0, got {share}")
    total_share = sum(shares.values()) or 1.0
    return [Quota(c, CATEGORY_LABELS[c], shares.get(c, 0.0) / total_share,
                  round(total_target * shares.get(c, 0.0) / total_share)) for c in CAPTURE_CATEGORIES]
