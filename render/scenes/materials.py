"""Surface materials, including the ones real active-stereo cameras fail on."""

from __future__ import annotations

import numpy as np

from depthcur.schemas.fields import MaterialClass

#: material kinds a procedural object can get: diffuse (textured, plain and the PBR-like wood,
#: fabric, tiles), the hard ones (dark, glass, metal, mirror) and the emissive sky outside windows
MATERIAL_KINDS = ("textured", "plain", "wood", "fabric", "tiles", "dark", "glass", "metal", "mirror", "sky")
#: kinds where an active-stereo sensor is expected to lose depth (specular / transparent)
NON_LAMBERTIAN = ("glass", "metal", "mirror")
#: the ``material_mask`` code of each kind (imported scene files and assets are unlabelled)
MATERIAL_CLASS = {"textured": MaterialClass.OPAQUE, "plain": MaterialClass.OPAQUE, "wood": MaterialClass.OPAQUE,
                  "fabric": MaterialClass.OPAQUE, "tiles": MaterialClass.OPAQUE, "dark": MaterialClass.DARK,
                  "glass": MaterialClass.TRANSPARENT, "metal": MaterialClass.SPECULAR,
                  "mirror": MaterialClass.SPECULAR, "sky": MaterialClass.UNLABELLED}


def _principled(material):
    if material.node_tree is None:      # bpy < 5 needs nodes switched on
        material.use_nodes = True
    return material.node_tree.nodes["Principled BSDF"]


def _random_colour(rng: np.random.Generator, lo: float = 0.15, hi: float = 0.85) -> tuple:
    return (*rng.uniform(lo, hi, size=3).tolist(), 1.0)


def _add_texture(material, rng: np.random.Generator) -> None:
    """Base colour from a procedural texture between two colours (gives RGB texture)."""
    nodes, links = material.node_tree.nodes, material.node_tree.links
    kind = ("ShaderNodeTexNoise", "ShaderNodeTexChecker", "ShaderNodeTexVoronoi",
            "ShaderNodeTexWave")[int(rng.integers(4))]
    texture = nodes.new(kind)
    texture.inputs["Scale"].default_value = float(rng.uniform(2, 12))
    ramp = nodes.new("ShaderNodeValToRGB")
    ramp.color_ramp.elements[0].color = _random_colour(rng)
    ramp.color_ramp.elements[1].color = _random_colour(rng)
    links.new(texture.outputs[0 if kind == "ShaderNodeTexChecker" else "Color"] if kind != "ShaderNodeTexVoronoi"
              else texture.outputs["Distance"], ramp.inputs["Fac"])
    links.new(ramp.outputs["Color"], _principled(material).inputs["Base Color"])


def _object_coordinates(material):
    """Texture coordinates in the object's own metres, so patterns keep their real size."""
    node = material.node_tree.nodes.new("ShaderNodeTexCoord")
    return node.outputs["Object"]


def _planar_coordinates(material):
    """2D pattern coordinates in metres that follow the surface: (x, y) on floors and ceilings,
    (x + y, z) on walls (one of x, y is constant there), so tiles and weaves are not smeared into
    stripes on vertical faces."""
    nodes, links = material.node_tree.nodes, material.node_tree.links
    texture = nodes.new("ShaderNodeTexCoord")
    position, normal = nodes.new("ShaderNodeSeparateXYZ"), nodes.new("ShaderNodeSeparateXYZ")
    links.new(texture.outputs["Object"], position.inputs[0])
    links.new(texture.outputs["Normal"], normal.inputs[0])
    upright = nodes.new("ShaderNodeMath")
    upright.operation = "ABSOLUTE"
    links.new(normal.outputs["Z"], upright.inputs[0])
    horizontal = nodes.new("ShaderNodeMath")
    horizontal.operation = "GREATER_THAN"
    horizontal.inputs[1].default_value = 0.5
    links.new(upright.outputs[0], horizontal.inputs[0])
    along = nodes.new("ShaderNodeMath")
    links.new(position.outputs["X"], along.inputs[0])
    links.new(position.outputs["Y"], along.inputs[1])
    floor_uv, wall_uv = nodes.new("ShaderNodeCombineXYZ"), nodes.new("ShaderNodeCombineXYZ")
    links.new(position.outputs["X"], floor_uv.inputs["X"])
    links.new(position.outputs["Y"], floor_uv.inputs["Y"])
    links.new(along.outputs[0], wall_uv.inputs["X"])
    links.new(position.outputs["Z"], wall_uv.inputs["Y"])
    choose = nodes.new("ShaderNodeMix")
    choose.data_type = "VECTOR"
    links.new(horizontal.outputs[0], choose.inputs["Factor"])
    links.new(wall_uv.outputs[0], choose.inputs[4])        # vector A (factor 0: a wall)
    links.new(floor_uv.outputs[0], choose.inputs[5])       # vector B (factor 1: floor, ceiling, tops)
    return choose.outputs[1]


def _bump(material, height_socket, strength: float) -> None:
    nodes, links = material.node_tree.nodes, material.node_tree.links
    bump = nodes.new("ShaderNodeBump")
    bump.inputs["Strength"].default_value = strength
    bump.inputs["Distance"].default_value = 0.002
    links.new(height_socket, bump.inputs["Height"])
    links.new(bump.outputs["Normal"], _principled(material).inputs["Normal"])


def _ramp(material, factor_socket, low: tuple, high: tuple):
    ramp = material.node_tree.nodes.new("ShaderNodeValToRGB")
    ramp.color_ramp.elements[0].color = low
    ramp.color_ramp.elements[1].color = high
    material.node_tree.links.new(factor_socket, ramp.inputs[0])
    return ramp.outputs["Color"]


def _wood(material, rng: np.random.Generator) -> None:
    """Growth rings (wave texture, rings, distorted) between a light and a dark brown, with a slight bump."""
    nodes, links = material.node_tree.nodes, material.node_tree.links
    rings = nodes.new("ShaderNodeTexWave")
    rings.wave_type, rings.rings_direction = "RINGS", "X"
    rings.inputs["Scale"].default_value = float(rng.uniform(2, 6))
    rings.inputs["Distortion"].default_value = float(rng.uniform(4, 10))
    rings.inputs["Detail"].default_value = 3.0
    links.new(_object_coordinates(material), rings.inputs["Vector"])
    hue = rng.uniform(0.8, 1.2)
    light = (0.45 * hue, 0.27 * hue, 0.12, 1.0)
    dark = (0.18 * hue, 0.09 * hue, 0.04, 1.0)
    links.new(_ramp(material, rings.outputs["Factor"], dark, light), _principled(material).inputs["Base Color"])
    _bump(material, rings.outputs["Factor"], 0.15)
    _principled(material).inputs["Roughness"].default_value = float(rng.uniform(0.35, 0.6))
    _principled(material).inputs["Coat Weight"].default_value = float(rng.uniform(0.0, 0.3))


def _fabric(material, rng: np.random.Generator) -> None:
    """A fine weave (two crossed band textures, 2-4 mm period) in one colour, with sheen."""
    nodes, links = material.node_tree.nodes, material.node_tree.links
    coords = _planar_coordinates(material)
    weave = nodes.new("ShaderNodeMath")
    weave.operation = "MULTIPLY"
    for index, direction in enumerate(("X", "Y")):
        bands = nodes.new("ShaderNodeTexWave")
        bands.wave_type, bands.bands_direction = "BANDS", direction
        bands.inputs["Scale"].default_value = float(rng.uniform(150, 300))
        links.new(coords, bands.inputs["Vector"])
        links.new(bands.outputs["Factor"], weave.inputs[index])
    colour = np.array(_random_colour(rng, 0.1, 0.7)[:3])
    links.new(_ramp(material, weave.outputs["Value"], (*(colour * 0.6), 1.0), (*colour, 1.0)),
              _principled(material).inputs["Base Color"])
    _bump(material, weave.outputs["Value"], 0.3)
    _principled(material).inputs["Roughness"].default_value = float(rng.uniform(0.8, 1.0))
    _principled(material).inputs["Sheen Weight"].default_value = float(rng.uniform(0.3, 0.8))


def _tiles(material, rng: np.random.Generator) -> None:
    """Square tiles (brick texture, no row offset) of 15-60 cm with darker grout and a grout bump."""
    nodes, links = material.node_tree.nodes, material.node_tree.links
    tile = float(rng.uniform(0.15, 0.6))
    bricks = nodes.new("ShaderNodeTexBrick")
    bricks.offset = 0.0
    bricks.inputs["Scale"].default_value = 1.0
    bricks.inputs["Brick Width"].default_value = tile
    bricks.inputs["Row Height"].default_value = tile
    bricks.inputs["Mortar Size"].default_value = 0.004
    bricks.inputs["Bias"].default_value = float(rng.uniform(-0.3, 0.3))
    base = np.array(_random_colour(rng, 0.3, 0.9)[:3])
    bricks.inputs["Color1"].default_value = (*base, 1.0)
    bricks.inputs["Color2"].default_value = (*(base * rng.uniform(0.8, 0.95)), 1.0)
    bricks.inputs["Mortar"].default_value = (*(base * 0.4), 1.0)
    links.new(_planar_coordinates(material), bricks.inputs["Vector"])
    links.new(bricks.outputs["Color"], _principled(material).inputs["Base Color"])
    _bump(material, bricks.outputs["Factor"], 0.4)
    _principled(material).inputs["Roughness"].default_value = float(rng.uniform(0.1, 0.4))


def _sky(material, rng: np.random.Generator) -> None:
    """Daylight outside a window: an emissive pale blue, brighter than anything in the room."""
    nodes, links = material.node_tree.nodes, material.node_tree.links
    emission = nodes.new("ShaderNodeEmission")
    emission.inputs["Color"].default_value = (0.55, 0.7, 1.0, 1.0)
    emission.inputs["Strength"].default_value = float(rng.uniform(2.0, 5.0))
    output = next(n for n in nodes if n.type == "OUTPUT_MATERIAL")
    links.new(emission.outputs["Emission"], output.inputs["Surface"])


#: the node-built kinds
_PATTERNS = {"wood": _wood, "fabric": _fabric, "tiles": _tiles, "sky": _sky}


def material_mask_from_instances(instance_mask: np.ndarray, instances: dict) -> np.ndarray:
    """``material_mask`` (MaterialClass codes, uint8) of a rendered view from its instance mask and the
    provenance's instance table ``{pass index: {material: kind, ...}}``; unknown kinds are unlabelled."""
    lookup = np.zeros(int(max([int(k) for k in instances] + [int(instance_mask.max())])) + 1, np.uint8)
    for index, instance in instances.items():
        lookup[int(index)] = int(MATERIAL_CLASS.get(instance.get("material"), MaterialClass.UNLABELLED))
    return lookup[instance_mask]


def make_material(kind: str, rng: np.random.Generator, name: str):
    import bpy

    if kind not in MATERIAL_KINDS:
        raise ValueError(f"unknown material kind {kind!r}; known: {MATERIAL_KINDS}")
    material = bpy.data.materials.new(name)
    bsdf = _principled(material)
    if kind in _PATTERNS:
        _PATTERNS[kind](material, rng)
    elif kind == "textured":
        bsdf.inputs["Roughness"].default_value = float(rng.uniform(0.5, 0.9))
        _add_texture(material, rng)
    elif kind == "plain":
        bsdf.inputs["Base Color"].default_value = _random_colour(rng)
        bsdf.inputs["Roughness"].default_value = float(rng.uniform(0.6, 1.0))
    elif kind == "dark":
        bsdf.inputs["Base Color"].default_value = (*[float(rng.uniform(0.005, 0.02))] * 3, 1.0)
        bsdf.inputs["Roughness"].default_value = 0.6
    elif kind == "glass":
        bsdf.inputs["Base Color"].default_value = (1.0, 1.0, 1.0, 1.0)
        bsdf.inputs["Transmission Weight"].default_value = 1.0
        bsdf.inputs["Roughness"].default_value = 0.0
        bsdf.inputs["IOR"].default_value = 1.45
    elif kind == "metal":
        bsdf.inputs["Base Color"].default_value = _random_colour(rng, 0.6, 0.95)
        bsdf.inputs["Metallic"].default_value = 1.0
        bsdf.inputs["Roughness"].default_value = float(rng.uniform(0.02, 0.08))
    elif kind == "mirror":
        bsdf.inputs["Base Color"].default_value = (0.95, 0.95, 0.95, 1.0)
        bsdf.inputs["Metallic"].default_value = 1.0
        bsdf.inputs["Roughness"].default_value = 0.0
    return material
