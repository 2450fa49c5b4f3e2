"""``depthcur capture record`` (headless) and ``depthcur capture app`` (touchscreen web UI)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from depthcur.core.config import ConfigOption

DEVICE_HELP = "One device: realsense[:SERIAL|:FILE.db3], orbbec[:SERIAL], zed[:SERIAL|:FILE.svo2], replay:DIR."


def _job(out, device, rig, session, operator, category, location, fps, min_free_mb):
    from .job import CaptureJob

    return CaptureJob(out=out, device=device, rig=rig, session=session, operator=operator, category=category,
                      location=location, fps=fps, min_free_mb=min_free_mb)


def _fail(exc: Exception) -> None:
    typer.secho(f"depthcur capture: {exc}", err=True, fg="red")
    raise typer.Exit(code=1)


def register(app: typer.Typer) -> None:
    capture = typer.Typer(help="Record from RGB-D cameras headless or run the touchscreen capture app.",
                          no_args_is_help=True)

    @capture.command(help="Record N captures headless; each becomes one raw sample per device.")
    def record(
        out: Path = typer.Option(..., "--out", help="Output folder (sessions are sub-folders)."),
        device: Optional[str] = typer.Option(None, "--device", help=DEVICE_HELP),
        rig: Optional[Path] = typer.Option(None, "--rig", help="Rig YAML with several devices (see docs/capture.md)."),
        frames: int = typer.Option(1, "--frames", min=1, help="Number of captures."),
        session: Optional[str] = typer.Option(None, "--session", help="Session name [a-z0-9_-]; default by time."),
        operator: str = typer.Option("", "--operator"),
        category: str = typer.Option("office", "--category", help="Scene category id (LingBot-Depth taxonomy)."),
        location: str = typer.Option("", "--location", help="Free-text location note."),
        fps: Optional[float] = typer.Option(None, "--fps", help="Pace a replay device at this rate."),
        min_free_mb: float = typer.Option(2048.0, "--min-free-mb", help="Refuse captures below this free space."),
        config: ConfigOption = None,
    ) -> None:
        from .cameras import CaptureError
        from .job import record as run_record

        try:
            recorder = run_record(_job(out, device, rig, session, operator, category, location, fps, min_free_mb),
                                  frames)
        except CaptureError as exc:
            _fail(exc)
        typer.echo(f"{len(recorder.captures)} capture(s) in {recorder.session_dir}")

    @capture.command(name="app", help="Serve the touchscreen capture app (bound to 127.0.0.1 by default).")
    def serve_app(
        out: Path = typer.Option(..., "--out", help="Output folder (sessions are sub-folders)."),
        device: Optional[str] = typer.Option(None, "--device", help=DEVICE_HELP),
        rig: Optional[Path] = typer.Option(None, "--rig", help="Rig YAML with several devices."),
        host: str = typer.Option("127.0.0.1", "--host", help="Address to bind; keep 127.0.0.1 for a kiosk."),
        port: int = typer.Option(8080, "--port"),
        session: Optional[str] = typer.Option(None, "--session"),
        operator: str = typer.Option("", "--operator"),
        category: str = typer.Option("office", "--category"),
        location: str = typer.Option("", "--location"),
        fps: Optional[float] = typer.Option(None, "--fps", help="Pace a replay device at this rate."),
        min_free_mb: float = typer.Option(2048.0, "--min-free-mb"),
        total_target: Optional[int] = typer.Option(None, "--total-target",
                                                   help="Captures wanted in all; split by the quota shares."),
        config: ConfigOption = None,
    ) -> None:
        from .app import CaptureApp, serve
        from .cameras import CaptureError
        from .job import open_recorder

        try:
            with open_recorder(_job(out, device, rig, session, operator, category, location, fps,
                                    min_free_mb)) as recorder:
                serve(CaptureApp(recorder, total_target=total_target), host, port)
        except CaptureError as exc:
            _fail(exc)

    app.add_typer(capture, name="capture")
