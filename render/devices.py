"""Cycles device selection: CPU, or the GPUs of one backend through the Cycles add-on preferences.

``--device auto`` renders on a GPU when Cycles finds one (the ``--gpu-backend`` first, then the
other backends) and on the CPU otherwise; ``--device gpu`` never falls back: without a GPU it fails
with :class:`GpuUnavailable`. Under Ray, each GPU task sees only the GPU Ray gave it
(``CUDA_VISIBLE_DEVICES``), so one Blender process renders on one GPU.
"""

from __future__ import annotations

from depthcur.core.exits import UsageError

from .config import GPU_BACKENDS


class GpuUnavailable(UsageError):
    """``--device gpu`` where no GPU is available; nothing falls back to the CPU silently."""


def backend_order(device: str, backend: str) -> list[str]:
    """Backends to try: ``gpu`` only the one asked for, ``auto`` that one first, then the others."""
    if device == "gpu":
        return [backend]
    return [backend] + [other for other in GPU_BACKENDS if other != backend]


def ray_gpus_per_task(device: str, cluster_gpus: float) -> float:
    """GPUs each render task asks Ray for: one Blender per GPU, none on the CPU.

    ``gpu`` on a cluster without GPUs fails here, before any task is queued (Ray would wait
    for a GPU node forever)."""
    if device == "cpu":
        return 0.0
    if cluster_gpus < 1:
        if device == "gpu":
            raise GpuUnavailable("--device gpu, but the Ray cluster has no GPU (ray.cluster_resources() holds none)",
                                 "--device", "use --device cpu, or --device auto to use a GPU only where there is one")
        return 0.0
    return 1.0


def enable_gpus(backend: str) -> list[str]:
    """Switch the Cycles preferences to ``backend`` and use all of its devices (not the CPU);
    returns their names, empty when Cycles finds none."""
    import bpy

    preferences = bpy.context.preferences.addons["cycles"].preferences
    kind = backend.upper()
    if kind not in {entry[0] for entry in preferences.get_device_types(bpy.context)}:
        return []
    preferences.compute_device_type = kind
    preferences.refresh_devices()
    gpus = [device for device in preferences.devices if device.type == kind]
    for device in preferences.devices:
        device.use = device.type == kind       # the CPU would only slow a GPU render down
    return [device.name for device in gpus]


def select_device(scene, device: str, backend: str) -> dict:
    """Set ``scene.cycles.device`` for ``device`` (auto/cpu/gpu) and say what was used (for provenance)."""
    info = {"requested": device, "device": "CPU"}
    if device != "cpu":
        tried = backend_order(device, backend)
        for name in tried:
            gpus = enable_gpus(name)
            if gpus:
                scene.cycles.device = "GPU"
                return {**info, "device": "GPU", "gpu_backend": name, "gpus": gpus}
        if device == "gpu":
            raise GpuUnavailable(f"--device gpu, but Cycles finds no {backend.upper()} GPU on this machine",
                                 "--device", "check the driver (nvidia-smi), try another --gpu-backend, "
                                 "or use --device cpu / auto")
        info["note"] = f"auto: Cycles found no GPU ({', '.join(tried)}), rendered on the CPU"
    scene.cycles.device = "CPU"
    return info
