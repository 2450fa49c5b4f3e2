"""The IR speckle projector: a spot light at the left camera that projects random dots.

The dots are an image texture on the light's emission, sampled with closest-pixel
interpolation so they stay sharp; ``shadow_soft_size = 0`` makes it a point source so dots
and occlusion shadows have hard edges. The projector casts shadows, as a real one does
(BlenderProc turns them off, which hides the occlusion holes real sensors have).
"""

from __future__ import annotations

import math

import numpy as np


def speckle_pattern(rng: np.random.Generator, size: int, density: float = 0.4) -> np.ndarray:
    """A ``size``x``size`` float pattern in [0, 1]: random dots of random brightness on black."""
    dots = rng.random((size, size)) < density
    brightness = rng.uniform(0.5, 1.0, size=(size, size))
    return np.where(dots, brightness, 0.0).astype(np.float32)


def pattern_size(ir_width: int, dots_per_ir_pixel: float, cone_over_fov: float) -> int:
    """Texels across the projector so one dot covers about 1/dots_per_ir_pixel IR pixels."""
    return max(16, int(round(ir_width * cone_over_fov * dots_per_ir_pixel)))


def _pattern_image(pattern: np.ndarray, name: str):
    """Load the pattern as a packed 8-bit image (Cycles does not see pixels set on a generated
    image, so it goes through a PNG)."""
    import tempfile

    import bpy

    from depthcur.schemas.codecs import encode_png

    with tempfile.TemporaryDirectory() as tmp:
        path = f"{tmp}/{name}.png"
        with open(path, "wb") as fh:
            fh.write(encode_png(np.rint(pattern * 255).astype(np.uint8)))
        image = bpy.data.images.load(path)
        image.pack()
    image.name = name
    image.colorspace_settings.name = "Non-Color"
    return image


def _projective_uv(nodes, links, cone_rad: float):
    """Texture coordinates of a slide projector: the light-space ray direction (TexCoord
    Normal) divided by its depth, scaled so the texture spans the cone. Returns the socket."""
    coords = nodes.new("ShaderNodeTexCoord")
    split = nodes.new("ShaderNodeSeparateXYZ")
    links.new(coords.outputs["Normal"], split.inputs["Vector"])
    # u = 0.5 + x / (-z) / (2 tan(cone/2)); the same for v
    depth = nodes.new("ShaderNodeMath")
    depth.operation = "MULTIPLY"
    depth.inputs[1].default_value = -2.0 * math.tan(cone_rad / 2.0)
    links.new(split.outputs["Z"], depth.inputs[0])
    combine = nodes.new("ShaderNodeCombineXYZ")
    for axis in ("X", "Y"):
        ratio = nodes.new("ShaderNodeMath")
        ratio.operation = "DIVIDE"
        links.new(split.outputs[axis], ratio.inputs[0])
        links.new(depth.outputs[0], ratio.inputs[1])
        shift = nodes.new("ShaderNodeMath")
        shift.operation = "ADD"
        shift.inputs[1].default_value = 0.5
        links.new(ratio.outputs[0], shift.inputs[0])
        links.new(shift.outputs[0], combine.inputs[axis])
    return combine.outputs["Vector"]


def add_projector(pattern: np.ndarray, *, fov_rad: float, cone_over_fov: float, power_w: float,
                  name: str = "speckle_projector"):
    """Create the spot light object (not yet placed) and return it."""
    import bpy

    light = bpy.data.lights.new(name, type="SPOT")
    # the square texture spans the cone; widen the cone so it covers the image diagonal
    light.spot_size = min(math.radians(175), fov_rad * cone_over_fov)
    light.spot_blend = 0.0
    light.shadow_soft_size = 0.0
    light.use_shadow = True
    light.energy = power_w
    light.use_nodes = True
    nodes, links = light.node_tree.nodes, light.node_tree.links
    emission = next(n for n in nodes if n.type == "EMISSION")
    texture = nodes.new("ShaderNodeTexImage")
    texture.image = _pattern_image(pattern, f"{name}_dots")
    texture.interpolation = "Closest"
    texture.extension = "CLIP"
    links.new(_projective_uv(nodes, links, light.spot_size), texture.inputs["Vector"])
    links.new(texture.outputs["Color"], emission.inputs["Color"])
    obj = bpy.data.objects.new(name, light)
    bpy.context.scene.collection.objects.link(obj)
    return obj
