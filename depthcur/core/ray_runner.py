"""One way to start Ray for every stage: local by default, ``--ray-address`` joins a cluster."""

from __future__ import annotations

import os
from typing import Any, Callable, Iterator, Sequence

from .progress import get_logger, progress_task

log = get_logger(__name__)


def init_ray(address: str | None = None, *, num_cpus: int | None = None) -> None:
    """Start (or join) Ray once per process.

    ``address=None`` starts a private local instance; ``"auto"`` or ``HOST:PORT`` joins a
    running cluster. The package is installed on every node (docker/), so no runtime_env
    upload of the source tree is needed.
    """
    import ray

    if ray.is_initialized():
        return
    kwargs: dict[str, Any] = dict(ignore_reinit_error=True, include_dashboard=False,
                                  log_to_driver=bool(os.environ.get("DEPTHCUR_RAY_LOG")),
                                  configure_logging=False)
    if address:
        ray.init(address=address, **kwargs)
    else:
        # "local" always starts a private instance, even when another Ray runs on this machine
        ray.init(address="local", num_cpus=num_cpus or os.cpu_count(), **kwargs)
    log.debug("ray: %s", ray.cluster_resources())


def shutdown_ray() -> None:
    import ray

    if ray.is_initialized():
        ray.shutdown()


def run_tasks(fn: Callable[..., Any], items: Sequence[Any], *, description: str,
              num_cpus: float = 1, max_retries: int = 3, max_in_flight: int | None = None,
              **remote_options: Any) -> Iterator[tuple[Any, Any]]:
    """Run ``fn(item)`` as Ray tasks with a progress bar; yield ``(item, result)`` as each ends.

    Results come back in completion order; an exception raised by ``fn`` is yielded as the
    result (not raised) so one bad item never stops the others. Tasks lost with a dead node
    are retried ``max_retries`` times by Ray.
    """
    import ray

    remote = ray.remote(num_cpus=num_cpus, max_retries=max_retries, **remote_options)(fn)
    pending: dict[Any, Any] = {}
    queue = list(items)
    limit = max_in_flight or max(1, len(queue))
    with progress_task(description, len(queue)) as advance:
        while queue or pending:
            while queue and len(pending) < limit:
                item = queue.pop(0)
                pending[remote.remote(item)] = item
            done, _ = ray.wait(list(pending), num_returns=1)
            ref = done[0]
            item = pending.pop(ref)
            try:
                result = ray.get(ref)
            except Exception as exc:  # RayTaskError wraps the user's exception
                cause = getattr(exc, "cause", None)
                result = cause if isinstance(cause, Exception) else exc
            advance(1)
            yield item, result


