"""Surface materials, including the ones real active-stereo cameras fail on."""

from __future__ import annotations

import numpy as np

#: material kinds a procedural object can get, and how often (diffuse dominates real rooms)
MATERIAL_KINDS = ("textured", "plain", "dark", "glass", "metal", "mirror")
#: kinds where an active-stereo sensor is expected to lose depth (specular / transparent)
NON_LAMBERTIAN = ("glass", "metal", "mirror")


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


def make_material(kind: str, rng: np.random.Generator, name: str):
    import bpy

    if kind not in MATERIAL_KINDS:
        raise ValueError(f"unknown material kind {kind!r}; known: {MATERIAL_KINDS}")
    material = bpy.data.materials.new(name)
    bsdf = _principled(material)
    if kind == "textured":
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
