"""``render_scenes``: the distributed, resumable render run (Ray tasks, one Blender per worker)."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field

from depthcur.core.progress import get_logger
from depthcur.schemas import check_run_options, read_sample, sample_dir, sample_exists, write_json_atomic
from depthcur.schemas.folder import read_meta, remove_leftovers, scan_samples

from .config import RenderConfig
from .devices import GpuUnavailable, ray_gpus_per_task
from .jobs import SampleJob, expand_scenes, make_jobs

log = get_logger(__name__)
#: RenderConfig fields a resumed render may change: which scenes and how many views (more samples
#: of the same kind), and how the work is run; every other field shapes each sample
RENDER_MAY_DIFFER = ("scenes", "samples_per_scene", "out", "workers", "threads_per_worker", "ray_address",
                     "write_gallery", "device", "gpu_backend")
GALLERY_ROWS = 4


@dataclass
class RenderReport:
    out: str
    requested: int = 0
    rendered: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)        # already on disk (resume)
    failures: dict[str, str] = field(default_factory=dict)  # key -> message naming the scene file
    wall_s: float = 0.0
    render_s: float = 0.0             # summed bare Cycles time of the rendered samples
    sample_s: float = 0.0             # summed per-sample worker time
    leftovers_removed: int = 0
    mask_ratio: dict = field(default_factory=dict)
    config: dict = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.failures

    @property
    def failed_scenes(self) -> dict[str, str]:
        """One message per failing scene (a bad scene file fails all of its samples)."""
        scenes: dict[str, str] = {}
        for key, message in self.failures.items():
            scenes.setdefault(key.split("/")[1], message)
        return scenes

    def to_dict(self) -> dict:
        data = asdict(self)
        data["ok"] = self.ok
        data["failed_scenes"] = self.failed_scenes
        return data


def _render_item(item: tuple[SampleJob, RenderConfig]):
    """Ray task body: runs in a worker process that keeps its Blender session between tasks."""
    from .session import render_job

    return render_job(*item)


def _describe(exc: BaseException) -> str:
    from .scenes.model import SceneError

    return str(exc) if isinstance(exc, SceneError) else f"{type(exc).__name__}: {exc}"


def gpu_task_options(config: RenderConfig) -> dict:
    """Ray options of a render task: one GPU per Blender worker when rendering on GPUs."""
    import ray

    gpus = ray_gpus_per_task(config.device, ray.cluster_resources().get("GPU", 0))
    # Ray ends a GPU task's worker process after one call by default; max_calls=0 keeps its
    # Blender session (scene, BVH, compiled kernels) alive across samples and scenes
    return {"num_gpus": gpus, "max_calls": 0} if gpus else {}


def run_jobs(config: RenderConfig, jobs: list[SampleJob], report: RenderReport) -> None:
    from depthcur.core.ray_runner import init_ray, run_tasks

    # "local" always starts a private instance: a bare ray.init() would join any other Ray
    # instance running on this machine (another user's job, a test's cluster)
    init_ray(config.ray_address or "local")
    items = [(job, config) for job in jobs]
    for (job, _), result in run_tasks(_render_item, items, description="render", max_in_flight=config.workers,
                                      num_cpus=config.threads_per_worker, max_retries=1,
                                      **gpu_task_options(config)):
        if isinstance(result, GpuUnavailable):      # --device gpu on a node without one: a usage error
            raise result
        if isinstance(result, BaseException):
            report.failures[job.key] = _describe(result)
            log.error("render %s failed: %s", job.key, report.failures[job.key])
            continue
        report.rendered.append(job.key)
        report.render_s += result.render_s
        report.sample_s += result.total_s


def write_run_pictures(config: RenderConfig, jobs: list[SampleJob], report: RenderReport) -> None:
    """gallery.png (first few samples) and the mask-ratio statistics of every sample on disk."""
    from .gallery import write_gallery, write_mask_ratio_stats

    done = [job for job in jobs if sample_exists(config.out, job.key)]
    ratios = {job.key: float(read_meta(sample_dir(config.out, job.key))["stats"].get("mask_ratio", 0.0))
              for job in done}
    if not done:
        return
    report.mask_ratio = write_mask_ratio_stats(ratios, config.out / "mask_ratio_stats.json",
                                               config.out / "mask_ratio_hist.png")
    if config.write_gallery:
        # one sample per scene first, so the gallery shows different rooms
        firsts = [j for j in done if j.sample_index == 0] + [j for j in done if j.sample_index > 0]
        write_gallery([read_sample(sample_dir(config.out, j.key)) for j in firsts[:GALLERY_ROWS]],
                      config.out / "gallery.png")


def render_scenes(config: RenderConfig) -> RenderReport:
    """Render every (scene, sample) of ``config`` that is not on disk yet; write the run's report.

    Raises :class:`depthcur.render.jobs.SceneSpecError` when ``config.scenes`` names nothing.
    Failures of single scenes are collected in the report (``report.ok`` is False), the
    other scenes continue.
    """
    started = time.perf_counter()
    jobs = make_jobs(config, expand_scenes(config.scenes))
    check_run_options(config.out, config.to_dict(), RENDER_MAY_DIFFER)   # a resume must not mix two settings
    report = RenderReport(out=str(config.out), requested=len(jobs), config=config.to_dict())
    # half-written folders of a killed run are hidden temporaries: drop them, then resume
    report.leftovers_removed = remove_leftovers(scan_samples(config.out))
    pending = [job for job in jobs if not sample_exists(config.out, job.key)]
    pending_keys = {job.key for job in pending}
    report.skipped = [job.key for job in jobs if job.key not in pending_keys]
    if report.skipped:
        log.info("resume: %d of %d samples already in %s", len(report.skipped), len(jobs), config.out)
    if pending:
        run_jobs(config, pending, report)
    write_run_pictures(config, jobs, report)
    report.wall_s = time.perf_counter() - started
    write_json_atomic(config.out / "render_report.json", report.to_dict())
    return report
