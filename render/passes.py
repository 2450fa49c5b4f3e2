"""Cycles passes of one sample: RGB (+Z, +object index) and the IR speckle pair (+Z).

In background mode the Render Result holds no pixels, so the colour image is written with
``write_still`` and the float passes go through a compositor File Output node as EXR
(bpy 5.0: a compositor node group on ``scene.compositing_node_group``; no Composite node).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

#: Blender writes this depth where a ray hits nothing
BACKGROUND_DEPTH = 1.0e9


#: light path limits: enough for glass (transmission) and mirrors, fewer than Cycles' defaults
LIGHT_PATH_BOUNCES = {"max_bounces": 6, "diffuse_bounces": 2, "glossy_bounces": 4,
                      "transmission_bounces": 6, "transparent_max_bounces": 4, "volume_bounces": 0}


@dataclass
class PassOutputs:
    image: np.ndarray                 # uint8 HxWx3 (RGB) or HxW (IR)
    depth: np.ndarray | None = None   # float32 planar Z in metres, 0 = nothing hit
    object_index: np.ndarray | None = None   # uint16


#: the RGB pass's denoiser: OpenImageDenoise with albedo and normal guides (BlenderProc's default)
RGB_DENOISER = {"denoiser": "OPENIMAGEDENOISE", "denoising_input_passes": "RGB_ALBEDO_NORMAL",
                "denoising_prefilter": "ACCURATE"}


def configure_cycles(scene, *, spp: int, threads: int, seed: int) -> None:
    """Everything but the device (``devices.select_device``) and denoising (``set_denoising``)."""
    scene.render.engine = "CYCLES"
    scene.cycles.samples = spp
    scene.cycles.use_adaptive_sampling = False
    scene.cycles.use_denoising = False
    scene.cycles.seed = seed
    for name, bounces in LIGHT_PATH_BOUNCES.items():
        setattr(scene.cycles, name, bounces)
    scene.render.threads_mode = "FIXED"
    scene.render.threads = threads
    scene.render.resolution_percentage = 100
    scene.render.use_persistent_data = True     # keep BVH and images between the passes
    view_layer = scene.view_layers[0]
    view_layer.use_pass_z = True
    view_layer.use_pass_object_index = True


def set_denoising(scene, on: bool) -> dict | None:
    """OpenImageDenoise with albedo + normal guides when ``on``; the settings used, or None when off."""
    scene.cycles.use_denoising = on
    scene.view_layers[0].cycles.use_denoising = on
    if not on:
        return None
    for name, value in RGB_DENOISER.items():
        setattr(scene.cycles, name, value)
    return dict(RGB_DENOISER)


class PassWriter:
    """A compositor File Output node writing Depth and Object Index EXRs into ``directory``."""

    def __init__(self, scene, directory: str | Path):
        import bpy

        self.directory = Path(directory)
        tree = bpy.data.node_groups.new("depthcur_passes", "CompositorNodeTree")
        scene.compositing_node_group = tree
        layers = tree.nodes.new("CompositorNodeRLayers")
        self.node = tree.nodes.new("CompositorNodeOutputFile")
        self.node.directory = str(self.directory) + os.sep
        self.node.format.media_type = "IMAGE"          # must precede OPEN_EXR in 5.0
        self.node.format.file_format = "OPEN_EXR"
        self.node.format.color_depth = "32"
        self.node.format.exr_codec = "ZIP"
        for name in ("Depth", "Object Index"):
            self.node.file_output_items.new("FLOAT", name)
            tree.links.new(layers.outputs[name], self.node.inputs[name])

    def set_prefix(self, prefix: str | None) -> None:
        """Write the passes as ``<prefix>Depth.exr`` ...; ``None`` writes nothing."""
        self.node.mute = prefix is None
        if prefix is not None:
            self.node.file_name = prefix

    def read(self, prefix: str, name: str) -> np.ndarray:
        import cv2

        os.environ["OPENCV_IO_ENABLE_OPENEXR"] = "1"   # read lazily by OpenCV at the first EXR
        path = self.directory / f"{prefix}{name}.exr"
        image = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
        if image is None:
            raise RuntimeError(f"Blender did not write the {name} pass ({path})")
        return image[:, :, 0] if image.ndim == 3 else image


def read_png(path: Path, grey: bool) -> np.ndarray:
    import cv2

    image = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE if grey else cv2.IMREAD_COLOR)
    if image is None:
        raise RuntimeError(f"Blender did not write the image {path}")
    return image if grey else cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def clean_depth(depth: np.ndarray) -> np.ndarray:
    """Background (nothing hit) -> 0, as the record's 'invalid'."""
    depth = depth.astype(np.float32)
    depth[~np.isfinite(depth) | (depth >= BACKGROUND_DEPTH) | (depth <= 0)] = 0.0
    return depth


def render_still(scene, writer: PassWriter, *, resolution: tuple[int, int], prefix: str,
                 grey: bool, want_passes: bool, want_index: bool = False) -> PassOutputs:
    """Render the active camera at ``resolution`` and read what was asked for back from disk."""
    import bpy

    scene.render.resolution_x, scene.render.resolution_y = resolution
    scene.render.image_settings.file_format = "PNG"
    scene.render.image_settings.color_mode = "BW" if grey else "RGB"
    scene.render.image_settings.color_depth = "8"
    scene.render.filepath = str(writer.directory / f"{prefix}image.png")
    writer.set_prefix(prefix if want_passes else None)
    bpy.ops.render.render(write_still=True)
    image = read_png(writer.directory / f"{prefix}image.png", grey)
    outputs = PassOutputs(image=image)
    if want_passes:
        outputs.depth = clean_depth(writer.read(prefix, "Depth"))
        if want_index:
            outputs.object_index = np.rint(writer.read(prefix, "Object Index")).astype(np.uint16)
    return outputs
