"""Procedural indoor rooms: floor, walls with windows, ceiling, furniture built from parts,
clutter on its surfaces, cables, scattered assets, room lights and sunlight.

Hard materials (glass, mirror, metal, dark) come at the per-room rates of :class:`SceneConfig`;
by default every room also holds at least one glass, one metal and one mirror object, so each
render has surfaces on which an active-stereo sensor fails.
"""

from __future__ import annotations

import math

import numpy as np

from .config import SceneConfig
from .geometry import mesh_object, place, world_box
from .materials import make_material
from .model import BuiltScene, Instance

#: diffuse kinds of furniture, of small objects, of floors and of walls
FURNITURE_FINISHES = ("wood", "wood", "wood", "fabric", "textured", "plain")
CLUTTER_FINISHES = ("textured", "plain", "plain", "wood", "fabric")
FLOOR_FINISHES = ("wood", "tiles", "textured")
WALL_FINISHES = ("plain", "plain", "textured", "tiles")
WALL_THICKNESS_M = 0.1


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


def allocate_materials(count: int, rates: dict[str, float], finishes: tuple, rng: np.random.Generator,
                       required: tuple = ()) -> list[str]:
    """``count`` material kinds in random order: floor(rate·count + u) of each hard kind (u uniform,
    so the expected share is the rate exactly and a room is within one object of it), at least one
    of each ``required`` kind, the rest drawn from the diffuse ``finishes``."""
    hard = []
    for kind, rate in rates.items():
        hard += [kind] * max(int(math.floor(rate * count + rng.random())), int(kind in required and rate > 0))
    hard = hard[:count]
    kinds = hard + [finishes[int(rng.integers(len(finishes)))] for _ in range(count - len(hard))]
    return [kinds[i] for i in rng.permutation(count)]


def rotated_footprint(extent, yaw: float) -> tuple[float, float]:
    """x and y extents of the box around a ``extent``-sized rectangle turned by ``yaw``."""
    c, s = abs(math.cos(yaw)), abs(math.sin(yaw))
    return c * extent[0] + s * extent[1], s * extent[0] + c * extent[1]


class _Room:
    """The state of one room while it is built: instances, surfaces, occupied boxes, provenance."""

    def __init__(self, scene_id: str, rng: np.random.Generator, options: SceneConfig):
        self.scene_id, self.rng, self.options = scene_id, rng, options
        self.size = (float(rng.uniform(4.0, 7.0)), float(rng.uniform(4.0, 7.0)), float(rng.uniform(2.6, 3.2)))
        self.instances: list[Instance] = []
        self.targets: list = []
        self.surfaces: list = []              # clutter.WorldSurface of every placed piece
        self.occupied: list = []              # (object name, world box) of furniture, clutter and assets
        self.lights: list = []
        self.placements: dict[str, dict] = {}  # object -> what it stands on
        self.info: dict = {"room_size_m": list(self.size), "windows": [], "cables": 0, "assets": []}

    def add(self, obj, category: str, material_kind: str) -> Instance:
        obj.pass_index = len(self.instances) + 1
        obj.data.materials.append(make_material(material_kind, self.rng, f"{obj.name}_{material_kind}"))
        instance = Instance(obj.pass_index, obj.name, category, material_kind)
        self.instances.append(instance)
        return instance

    # ------------------------------------------------------------- shell and windows
    def build_shell(self) -> None:
        from .windows import WALLS, draw_opening, wall_parts

        width, depth, height = self.size
        t = WALL_THICKNESS_M
        pick = lambda options: options[int(self.rng.integers(len(options)))]   # noqa: E731
        self.add(mesh_object("floor_0", [("cube", (width, depth, t), (0, 0, -t / 2))]), "floor", pick(FLOOR_FINISHES))
        self.add(mesh_object("ceiling_1", [("cube", (width, depth, t), (0, 0, height + t / 2))]), "ceiling", "plain")
        windows = int(self.rng.integers(self.options.window_count[0], self.options.window_count[1] + 1))
        with_window = set(self.rng.permutation(len(WALLS))[:min(windows, len(WALLS))].tolist())
        for wall in range(len(WALLS)):
            opening = draw_opening(self.size, wall, self.rng) if wall in with_window else None
            obj = mesh_object(f"wall_{wall + 2}", wall_parts(self.size, wall, t, opening))
            self.add(obj, "wall", pick(WALL_FINISHES))
            if opening is not None:
                self._outdoor(opening, wall)

    def _outdoor(self, opening: dict, wall: int) -> None:
        """Sky plane outside the opening, sunlight through it, and maybe a glass pane in it."""
        from .windows import add_sun, opening_frame, sky_plane_parts

        centre, normal = opening_frame(self.size, opening, WALL_THICKNESS_M)
        distance = float(self.rng.uniform(0.5, 2.0))
        parts, offset = sky_plane_parts(opening, normal, distance)
        sky = mesh_object(f"sky_{wall}", parts)
        place(sky, centre + offset)
        # seen through the window and in reflections, but no diffuse fill: the sun lights the room in
        # RGB, and in the IR passes a glowing plane would flood every wall and drown the projector dots
        sky.visible_diffuse = False
        self.add(sky, "sky", "sky")
        glazed = bool(self.rng.random() < self.options.window_glass_probability)
        if glazed:
            axis = 0 if normal[0] else 1
            extent = [opening["width"], opening["width"], opening["height"]]
            extent[axis] = 0.01
            pane = mesh_object(f"window_glass_{wall}", [("cube", tuple(extent), (0, 0, 0))])
            place(pane, centre - normal * WALL_THICKNESS_M / 2)
            self.add(pane, "window_glass", "glass")
            self.targets.append((pane.name, pane, centre - normal * WALL_THICKNESS_M / 2))
        self.lights.append(add_sun(f"sun_{wall}", normal, self.rng))
        self.info["windows"].append({**opening, "glass": glazed, "sky_distance_m": distance})

    # ------------------------------------------------------------- furniture
    def build_furniture(self) -> None:
        from .clutter import WorldSurface
        from .furniture import MIRROR_PIECE, build_piece, draw_kind

        lo, hi = self.options.furniture_count
        count = int(self.rng.integers(lo, hi + 1))
        required = ("glass", "metal", "mirror") if self.options.hard_minimum else ()
        kinds = allocate_materials(count, self.options.hard_rates(), FURNITURE_FINISHES, self.rng, required)
        taken: list = []
        for i, material_kind in enumerate(kinds):
            piece = build_piece(MIRROR_PIECE if material_kind == "mirror" else draw_kind(self.rng), self.rng)
            yaw = float(self.rng.integers(4) * math.pi / 2 + self.rng.uniform(-0.3, 0.3))
            centre = _place(rotated_footprint(piece.extent, yaw), self.size[:2], taken, self.rng)
            if centre is None:
                continue
            obj = mesh_object(f"{piece.kind}_{len(self.instances)}", piece.parts)
            origin = np.array([centre[0], centre[1], 0.0])
            place(obj, origin, yaw)
            self.add(obj, piece.kind, material_kind)
            self.occupied.append((obj.name, world_box(obj)))
            self.targets.append((obj.name, obj, np.array([centre[0], centre[1], piece.extent[2] / 2])))
            self.surfaces += [WorldSurface(obj.name, origin, yaw, surface) for surface in piece.surfaces]

    # ------------------------------------------------------------- clutter and cables
    def build_clutter(self) -> None:
        from .clutter import CLUTTER_KINDS, clutter_parts, place_on

        lo, hi = self.options.clutter_per_surface
        plan = [(surface, CLUTTER_KINDS[int(self.rng.integers(len(CLUTTER_KINDS)))])
                for surface in self.surfaces for _ in range(int(self.rng.integers(lo, hi + 1)))]
        kinds = allocate_materials(len(plan), self.options.hard_rates(), CLUTTER_FINISHES, self.rng)
        for (surface, kind), material_kind in zip(plan, kinds):
            parts, extent = clutter_parts(kind, self.rng)
            obj = mesh_object(f"{kind}_{len(self.instances)}", parts)
            yaw = float(self.rng.uniform(0, 2 * math.pi))
            used = place_on(obj, [surface], math.hypot(extent[0], extent[1]) / 2, extent[2], self.occupied,
                            self.rng, lambda o, spot: _put(o, spot, yaw))
            if used is None:                 # no room left on this surface
                self._remove(obj)
                continue
            self.add(obj, kind, material_kind)
            self.placements[obj.name] = {"on": used.owner, "surface_z": used.z}
            self.targets.append((obj.name, obj, np.array([*obj.matrix_world.translation[:2], used.z + extent[2] / 2])))

    def build_cables(self) -> None:
        from .cables import add_cable, cable_path

        lo, hi = self.options.cable_count
        starts = [s for s in self.surfaces if s.surface.headroom >= 0.45 and s.z > 0.3]
        for _ in range(int(self.rng.integers(lo, hi + 1)) if starts else 0):
            start = starts[int(self.rng.integers(len(starts)))]
            obj, radius = add_cable(f"cable_{len(self.instances)}", cable_path(start, self.size[:2], self.rng),
                                    self.rng)
            self.add(obj, "cable", CLUTTER_FINISHES[int(self.rng.integers(2))])
            self.info["cables"] += 1

    # ------------------------------------------------------------- assets
    def scatter_assets(self) -> None:
        from .assets import find_assets, fitting_transform, import_asset, meshes_box, put_asset
        from .clutter import WorldSurface, place_on
        from .furniture import Surface

        if self.options.assets is None:
            return
        files = find_assets(self.options.assets)
        width, depth, height = self.size
        floor = WorldSurface("floor_0", np.zeros(3), 0.0, Surface((0, 0), (width - 0.2, depth - 0.2), 0.0, height))
        lo, hi = self.options.asset_count
        for _ in range(int(self.rng.integers(lo, hi + 1))):
            path = files[int(self.rng.integers(len(files)))]
            root, meshes = import_asset(path, f"{path.stem}_{len(self.instances)}")
            box = meshes_box(meshes)
            scale, bottom = fitting_transform(box, self.options.asset_max_size_m)
            extent = (box[1] - box[0]) * scale
            yaw = float(self.rng.uniform(0, 2 * math.pi))
            used = place_on(root, self.surfaces + [floor], math.hypot(extent[0], extent[1]) / 2, extent[2],
                            self.occupied, self.rng, lambda o, spot: put_asset(o, meshes, scale, bottom, spot, yaw))
            if used is None:
                for obj in meshes:
                    self._remove(obj)
                self._remove(root)
                continue
            index = len(self.instances) + 1
            for obj in meshes:
                obj.pass_index = index
            self.instances.append(Instance(index, root.name, path.stem.lower(), "asset"))
            self.placements[root.name] = {"on": used.owner, "surface_z": used.z}
            self.info["assets"].append({"file": str(path), "instance": index, "on": used.owner,
                                        "scale": float(scale)})
            placed_box = meshes_box(meshes)     # None: the ray to the centre may hit any of its meshes
            self.targets.append((root.name, None, (placed_box[0] + placed_box[1]) / 2))

    @staticmethod
    def _remove(obj) -> None:
        import bpy

        data = obj.data
        bpy.data.objects.remove(obj)
        if data is not None and data.users == 0 and isinstance(data, bpy.types.Mesh):
            bpy.data.meshes.remove(data)

    def finish(self) -> BuiltScene:
        width, depth, height = self.size
        self.lights += _add_room_lights(self.rng, self.size)
        margin = 0.25
        bounds = (np.array([-width / 2 + margin, -depth / 2 + margin, margin]),
                  np.array([width / 2 - margin, depth / 2 - margin, height - margin]))
        objects = [i for i in self.instances if i.category not in ("floor", "ceiling", "wall", "sky", "cable",
                                                                      "window_glass") and i.material != "asset"]
        counts: dict[str, int] = {}
        for instance in objects:
            counts[instance.material] = counts.get(instance.material, 0) + 1
        self.info.update({
            "scene_options": {k: (list(v) if isinstance(v, tuple) else v) for k, v in vars(self.options).items()},
            "objects": len(objects), "material_counts": counts,
            "hard_shares": {k: counts.get(k, 0) / max(len(objects), 1) for k in self.options.hard_rates()},
            "placements": self.placements})
        return BuiltScene(scene_id=self.scene_id, source="procedural", instances=self.instances,
                          targets=self.targets, bounds=bounds, floor_z=0.0, lights=self.lights, info=self.info)


def _put(obj, spot, yaw: float):
    place(obj, spot, yaw)
    return world_box(obj)


def build_procedural_room(scene_id: str, rng: np.random.Generator, options: SceneConfig | None = None
                          ) -> BuiltScene:
    """Build a room into the current (empty) Blender scene: the same ``rng`` state and ``options``
    give the same room."""
    room = _Room(scene_id, rng, options or SceneConfig())
    room.build_shell()
    room.build_furniture()
    room.build_clutter()
    room.build_cables()
    room.scatter_assets()
    return room.finish()
