"""One Blender session rendering samples (runs inside a Ray worker process; bpy lives there).

For each sample: build (or reuse) the scene, sample the rig and a free-space pose, render
RGB + Z + object index from the left camera with the room lights on and the projector
hidden, render the IR pair at 3/4 resolution with the projector on and low ambient, run SGM,
and write the sample folder atomically.
"""

from __future__ import annotations

import platform
import tempfile
import time
from dataclasses import asdict, dataclass, field

import numpy as np

from .config import RenderConfig
from .jobs import SampleJob, scene_rng, sample_seed
from .rig import PoseSampler, Rig, right_camera_pose, sample_rig
from .scenes import BuiltScene, build_procedural_room, load_scene_file, material_mask_from_instances

#: the projector cone is this much wider than the camera's horizontal FOV (covers the corners)
PROJECTOR_CONE_OVER_FOV = 1.35
RGB_WORLD_STRENGTH = 0.15
#: ``projector_power_w`` is the power for a target at this distance
PROJECTOR_REFERENCE_DISTANCE_M = 2.0


def projector_power(power_at_reference_w: float, target_distance_m: float) -> float:
    """Emitter power for this view: inverse-square scaling to the target distance, which keeps
    the dots in the 8-bit range like a sensor's auto-exposure does."""
    return power_at_reference_w * (target_distance_m / PROJECTOR_REFERENCE_DISTANCE_M) ** 2


def choose_targets(built: BuiltScene, rng: np.random.Generator, hard_probability: float) -> list:
    """The objects this view may look at: with ``hard_probability`` only glass/metal/mirror ones,
    so most samples hold the surfaces active-stereo sensors fail on."""
    from .scenes import NON_LAMBERTIAN

    materials = {i.name: i.material for i in built.instances}
    hard = [t for t in built.targets if materials.get(t[0]) in NON_LAMBERTIAN]
    return hard if hard and rng.random() < hard_probability else built.targets


def disparity_from_depth(depth: np.ndarray, fx: float, baseline_m: float) -> np.ndarray:
    """GT disparity fx·B/Z in pixels; 0 where the depth is invalid."""
    disparity = np.zeros_like(depth, dtype=np.float32)
    hit = depth > 0
    disparity[hit] = fx * baseline_m / depth[hit]
    return disparity


def renderer_info(config: RenderConfig, device: dict, rgb_denoiser: dict | None) -> dict:
    import bpy

    from .passes import LIGHT_PATH_BOUNCES

    return {"engine": "cycles", "device": device["device"], "device_selection": device,
            "blender": bpy.app.version_string, "spp": config.spp,
            # the IR pair is never denoised: its speckle and noise are what SGM matches
            "denoising": {"rgb": rgb_denoiser or False, "ir": False},
            "bounces": LIGHT_PATH_BOUNCES, "threads": config.threads_per_worker,
            "resolution_rgb": list(config.resolution), "resolution_ir": list(config.ir_resolution),
            # a passive camera's pair sees the room as the RGB pass does
            "rgb_view_transform": "AgX", "ir_view_transform": "Standard" if config.projector else "AgX",
            "rgb_world_strength": RGB_WORLD_STRENGTH,
            "ir_world_strength": config.ir_ambient if config.projector else RGB_WORLD_STRENGTH}


def camera_info(config: RenderConfig) -> dict:
    """The camera profile for provenance: its name and every value, or the generic rig's ranges."""
    if config.camera_profile is None:
        return {"name": "generic", "rig_ranges": asdict(config.rig)}
    return {**config.camera_profile.to_dict(), "scale": config.camera_scale,
            "resolution_rgb": list(config.resolution), "resolution_ir": list(config.ir_resolution)}


def sensor_depth_on_rgb(depth_ir: np.ndarray, rig: Rig, K_ir, K_rgb, rgb_size: tuple[int, int]) -> np.ndarray:
    """SGM depth on the RGB grid: a nearest upsampling when the RGB camera is the left IR camera,
    else registered into the RGB camera (z-buffered, like the device SDK's depth-to-colour align)."""
    from depthcur.schemas.registration import register_depth_to_rgb

    from .sgm import upsample_nearest

    if rig.rgb_is_left_ir:
        return upsample_nearest(depth_ir, rgb_size)
    return register_depth_to_rgb(depth_ir, K_ir, K_rgb, rig.T_rgb_from_ir(), (rgb_size[1], rgb_size[0]))


def filtered_sensor_depth(depth_ir: np.ndarray, rig: Rig, K_ir, K_rgb, config: RenderConfig) -> np.ndarray | None:
    """The RealSense-style post-processed sensor depth on the RGB grid; None when no filter is on.

    The filters run on the sensor's own grid (as the SDK runs them on the depth stream); a
    decimated grid keeps its scaled intrinsics and is registered like the unfiltered depth."""
    from depthcur.schemas.registration import register_depth_to_rgb

    from .postprocess import postprocess_depth

    if not config.postprocess.filters:
        return None
    filtered, fx = postprocess_depth(depth_ir, fx=K_ir.fx, baseline_m=rig.baseline_m, config=config.postprocess)
    if filtered.shape == depth_ir.shape:
        return sensor_depth_on_rgb(filtered, rig, K_ir, K_rgb, config.resolution)
    scale = fx / K_ir.fx
    width, height = config.resolution
    return register_depth_to_rgb(filtered, K_ir.scaled(scale, scale), K_rgb, rig.T_rgb_from_ir(), (height, width))


@dataclass
class PlacedRig:
    rig: Rig
    left_pose: np.ndarray            # camera-to-world of the left (= RGB) camera
    pose_info: dict
    camera: object                   # bpy camera object
    projector: object                # bpy spot light object
    projector_info: dict


@dataclass
class SampleReport:
    key: str
    scene_id: str
    render_s: float = 0.0           # time inside bpy.ops.render.render (bare Cycles)
    total_s: float = 0.0            # the whole sample in this worker
    stats: dict = field(default_factory=dict)


class BlenderSession:
    """Keeps the current scene between samples of the same scene (scene builds are deterministic)."""

    def __init__(self):
        self.scene_key: tuple | None = None
        self.built: BuiltScene | None = None
        self.device_info: dict = {}                 # what select_device used for the last sample
        self.rgb_denoiser: dict | None = None       # the RGB pass's denoiser settings, None when off

    # ----------------------------------------------------------------- scene
    def _reset(self) -> None:
        import bpy

        bpy.ops.wm.read_factory_settings(use_empty=True)

    def load(self, job: SampleJob, config: RenderConfig) -> BuiltScene:
        key = (job.scene, config.seed)
        if self.scene_key == key and self.built is not None:
            return self.built
        self.scene_key, self.built = None, None
        self._reset()
        if job.scene.procedural:
            built = build_procedural_room(job.scene.scene_id, scene_rng(config.seed, job.scene), config.scene)
        else:
            built = load_scene_file(job.scene.path, job.scene.scene_id)
        self.scene_key, self.built = key, built
        return built

    # ----------------------------------------------------------------- helpers
    @staticmethod
    def _camera(rig: Rig):
        import bpy

        data = bpy.data.cameras.new("depthcur_camera")
        data.lens, data.sensor_width, data.sensor_fit = rig.focal_mm, rig.sensor_width_mm, "HORIZONTAL"
        data.clip_start, data.clip_end = 0.01, 1000.0
        obj = bpy.data.objects.new("depthcur_camera", data)
        bpy.context.scene.collection.objects.link(obj)
        bpy.context.scene.camera = obj
        return obj

    @staticmethod
    def _world(strength: float) -> None:
        import bpy

        scene = bpy.context.scene
        if scene.world is None:
            scene.world = bpy.data.worlds.new("depthcur_world")
        world = scene.world
        if world.node_tree is None:
            world.use_nodes = True
        background = next(n for n in world.node_tree.nodes if n.type == "BACKGROUND")
        background.inputs["Color"].default_value = (1.0, 1.0, 1.0, 1.0)
        background.inputs["Strength"].default_value = strength

    @staticmethod
    def _remove_sample_objects() -> None:
        import bpy

        prefixes = ("depthcur_camera", "speckle_projector")
        for collection in (bpy.data.objects, bpy.data.cameras, bpy.data.lights, bpy.data.images):
            for block in list(collection):
                if block.name.startswith(prefixes):
                    collection.remove(block)
        for group in list(bpy.data.node_groups):
            if group.name.startswith("depthcur_passes"):
                bpy.data.node_groups.remove(group)

    # ----------------------------------------------------------------- one sample
    def _place_rig(self, built: BuiltScene, rng: np.random.Generator, config: RenderConfig) -> "PlacedRig":
        """Sample the rig and a free-space pose; create the camera and the projector at the left eye."""
        import bpy
        from mathutils import Matrix

        from .projector import add_projector, pattern_size, speckle_pattern

        rig = sample_rig(rng, config.rig)
        sampler = PoseSampler(bpy.context.scene, bpy.context.evaluated_depsgraph_get(),
                              min_view_depth_m=max(config.sgm.min_depth_m, 0.3))
        left_pose, pose_info = sampler.sample(rng, choose_targets(built, rng, config.hard_view_probability),
                                              config.rig, built.bounds, built.floor_z)
        camera = self._camera(rig)
        pattern = speckle_pattern(rng, pattern_size(config.ir_resolution[0], config.speckle_dots_per_ir_pixel,
                                                    PROJECTOR_CONE_OVER_FOV))
        power_w = projector_power(config.projector_power_w, pose_info["target_distance_m"])
        projector = add_projector(pattern, fov_rad=rig.horizontal_fov_rad(), cone_over_fov=PROJECTOR_CONE_OVER_FOV,
                                  power_w=power_w)
        projector.matrix_world = Matrix(left_pose.tolist())
        camera.matrix_world = Matrix(left_pose.tolist())
        projector_info = {"type": "spot", "power_w": power_w, "shadow_soft_size": 0.0, "cast_shadows": True,
                          "pattern_texels": int(pattern.shape[0]), "cone_over_fov": PROJECTOR_CONE_OVER_FOV,
                          "position": "left camera"}
        return PlacedRig(rig, left_pose, pose_info, camera, projector, projector_info)

    def _render_passes(self, built: BuiltScene, placed: "PlacedRig", config: RenderConfig, seed: int):
        """(rgb, ir_left, ir_right, seconds inside Cycles) of one placed rig."""
        import bpy
        from mathutils import Matrix

        from .devices import select_device
        from .passes import PassWriter, configure_cycles, render_still, set_denoising

        scene = bpy.context.scene
        configure_cycles(scene, spp=config.spp, threads=config.threads_per_worker, seed=seed)
        # every sample: a scene load resets the preferences to factory settings
        self.device_info = select_device(scene, config.device, config.gpu_backend)
        render_s = 0.0
        with tempfile.TemporaryDirectory(prefix="depthcur-render-") as tmp:
            writer = PassWriter(scene, tmp)

            def timed(**kwargs):
                nonlocal render_s
                t0 = time.perf_counter()
                result = render_still(scene, writer, **kwargs)
                render_s += time.perf_counter() - t0
                return result

            # RGB: room lights, projector hidden, from the RGB camera (a profile's own lens and place)
            self._aim(placed, rgb=True)
            self._set_lighting(built, placed.projector, ir=False, config=config)
            self.rgb_denoiser = set_denoising(scene, config.denoise_rgb)
            rgb = timed(resolution=config.resolution, prefix="rgb_", grey=False, want_passes=True, want_index=True)
            # IR pair: projector on, low ambient, Standard view transform, grey
            self._aim(placed, rgb=False)
            self._set_lighting(built, placed.projector, ir=True, config=config)
            set_denoising(scene, False)
            ir_left = timed(resolution=config.ir_resolution, prefix="irl_", grey=True, want_passes=True)
            placed.camera.matrix_world = Matrix(right_camera_pose(placed.left_pose, placed.rig.baseline_m).tolist())
            ir_right = timed(resolution=config.ir_resolution, prefix="irr_", grey=True, want_passes=False)
        return rgb, ir_left, ir_right, render_s

    def render(self, job: SampleJob, config: RenderConfig) -> SampleReport:
        from .sgm import sensor_depth
        from .writer import build_sample, write_rendered

        started = time.perf_counter()
        built = self.load(job, config)
        self._remove_sample_objects()
        seed = sample_seed(config.seed, job)
        rng = np.random.default_rng(seed)
        placed = self._place_rig(built, rng, config)
        rgb, ir_left, ir_right, render_s = self._render_passes(built, placed, config, seed)

        rig = placed.rig
        K_ir, K_rgb = rig.intrinsics(*config.ir_resolution), rig.rgb_intrinsics(*config.resolution)
        sgm = sensor_depth(ir_left.image, ir_right.image, fx_ir=K_ir.fx, baseline_m=rig.baseline_m,
                           config=config.sgm, rng=np.random.default_rng(seed + 1))
        depth_raw = sensor_depth_on_rgb(sgm.depth_ir, rig, K_ir, K_rgb, config.resolution)
        filtered = filtered_sensor_depth(sgm.depth_ir, rig, K_ir, K_rgb, config)
        if filtered is not None and config.postprocess.output == "depth_raw":
            depth_raw, filtered = filtered, None
        provenance = {
            "renderer": renderer_info(config, self.device_info, self.rgb_denoiser),
            "seed": config.seed, "sample_seed": seed, "sample_index": job.sample_index,
            "scene": {"id": built.scene_id, "source": built.source, **built.info},
            "rig": {**rig.to_dict(), "camera_to_world_left": placed.left_pose.tolist(), **placed.pose_info},
            "projector": placed.projector_info if config.projector else {"type": "none (passive stereo)"},
            "camera": camera_info(config),
            "sgm": sgm.params,
            "postprocess": config.postprocess.to_dict() if config.postprocess.filters else None,
            "instances": built.instance_table(),
            "host": platform.node(),
        }
        sample = build_sample(
            key=job.key, dataset=config.dataset, scene_id=built.scene_id, scene_category=built.scene_category,
            rgb=rgb.image, depth_gt=rgb.depth, depth_raw=depth_raw,
            ir_left=ir_left.image, ir_right=ir_right.image,
            disparity_gt=disparity_from_depth(ir_left.depth, K_ir.fx, rig.baseline_m),
            instance_mask=rgb.object_index,
            material_mask=material_mask_from_instances(rgb.object_index, provenance["instances"]),
            K_rgb=K_rgb, K_ir=K_ir, T_rgb_from_ir=rig.T_rgb_from_ir(),
            baseline_m=rig.baseline_m, provenance=provenance, depth_raw_filtered=filtered,
            extra_stats={"sgm_valid_ratio_ir": float(np.mean(sgm.disparity > 0))})
        write_rendered(config.out, sample)
        return SampleReport(key=job.key, scene_id=built.scene_id, render_s=render_s,
                            total_s=time.perf_counter() - started, stats=dict(sample.stats))

    @staticmethod
    def _aim(placed: "PlacedRig", *, rgb: bool) -> None:
        """Put the camera at the RGB camera (its lens, offset along +x) or at the left IR camera."""
        from mathutils import Matrix

        rig = placed.rig
        pose = right_camera_pose(placed.left_pose, rig.rgb_offset_m) if rgb else placed.left_pose
        placed.camera.data.lens = rig.rgb_lens_mm if rgb else rig.focal_mm
        placed.camera.matrix_world = Matrix(pose.tolist())

    def _set_lighting(self, built: BuiltScene, projector, *, ir: bool, config: RenderConfig) -> None:
        """RGB: room lights. IR: the projector and a low ambient, or, for a passive camera (no
        projector), the room lights as the RGB pass has them."""
        import bpy

        active_ir = ir and config.projector
        for light in built.lights:
            light.hide_render = active_ir
        projector.hide_render = not active_ir
        self._world(config.ir_ambient if active_ir else RGB_WORLD_STRENGTH)
        bpy.context.scene.view_settings.view_transform = "Standard" if active_ir else "AgX"


_SESSION: BlenderSession | None = None


def render_job(job: SampleJob, config: RenderConfig) -> SampleReport:
    """Entry point for a worker: one Blender session per worker process, reused across tasks."""
    global _SESSION
    if _SESSION is None:
        _SESSION = BlenderSession()
    return _SESSION.render(job, config)
