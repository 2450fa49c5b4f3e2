"""``depthcur capture record`` (headless) and ``depthcur capture app`` (touchscreen web UI)."""

from __future__ import annotations

import typer

from depthcur.core.config import ConfigOption
from depthcur.core.exits import input_error, items_failed
from depthcur.core.options import options_from

from .job import AppJob, RecordJob


def register(app: typer.Typer) -> None:
    capture = typer.Typer(help="Record from RGB-D cameras headless or run the touchscreen capture app.",
                          no_args_is_help=True)

    @capture.command(help="Record N captures headless; each becomes one raw sample per device.")
    @options_from(RecordJob)
    def record(job: RecordJob, config: ConfigOption = None) -> None:
        from .cameras import CaptureError
        from .job import capture_frames, open_recorder

        try:
            with open_recorder(job) as recorder:
                try:
                    capture_frames(recorder, job.frames, job.category)
                except CaptureError as exc:
                    raise items_failed("capture record", [f"after {len(recorder.captures)} capture(s): {exc}"])
        except CaptureError as exc:   # the options, the rig or a device: nothing was captured
            raise input_error("capture record", exc) from None
        typer.echo(f"{len(recorder.captures)} capture(s) in {recorder.session_dir}")

    @capture.command(name="app", help="Serve the touchscreen capture app (bound to 127.0.0.1 by default).")
    @options_from(AppJob)
    def serve_app(job: AppJob, config: ConfigOption = None) -> None:
        from .app import CaptureApp, serve
        from .cameras import CaptureError
        from .job import open_recorder

        try:
            with open_recorder(job) as recorder:
                serve(CaptureApp(recorder, total_target=job.total_target, preview_width=job.preview_width), job.host,
                      job.port)
        except CaptureError as exc:
            raise input_error("capture app", exc) from None

    app.add_typer(capture, name="capture")
