"""``depthcur demo``: the whole pipeline on procedural scenes, ending in one HTML report.

Each step is the same CLI verb a user would run, invoked in this process (so Ray starts
once). A step that finished leaves ``<out>/.steps/<name>.json``; a re-run skips it, and
the verbs themselves resume inside a step that was interrupted.
"""

from __future__ import annotations

import html
import json
import shlex
import time
from dataclasses import dataclass
from pathlib import Path

import typer

from depthcur.config import ConfigOption


@dataclass(frozen=True)
class DemoSize:
    """How big each step is; ``quick`` is for a fast look (and the end-to-end test)."""

    train_scenes: int
    test_scenes: int
    samples_per_scene: int
    resolution: str
    spp: int
    mdm_steps: int
    prompt_steps: int
    distill_steps: int


SIZES = {
    "quick": DemoSize(train_scenes=3, test_scenes=2, samples_per_scene=2, resolution="160x120", spp=8,
                      mdm_steps=60, prompt_steps=30, distill_steps=30),
    "full": DemoSize(train_scenes=8, test_scenes=3, samples_per_scene=3, resolution="320x240", spp=16,
                     mdm_steps=300, prompt_steps=120, distill_steps=120),
}
PROTOCOLS = "raw,block-mask:medium,points:100"


def steps(out: Path, size: DemoSize) -> list[tuple[str, list[str]]]:
    """(name, argv) of every step, in order."""
    render_common = ["--samples-per-scene", str(size.samples_per_scene), "--resolution", size.resolution,
                     "--spp", str(size.spp)]
    runs = out / "train"
    return [
        ("render_train", ["render", "--scenes", f"procedural:{size.train_scenes}", "--seed", "0",
                          "--out", str(out / "render/train"), *render_common]),
        ("render_test", ["render", "--scenes", f"procedural:{size.test_scenes}", "--seed", "1000",
                         "--out", str(out / "render/test"), *render_common]),
        ("curate_stereo", ["curate", "stereo", "--in", str(out / "render/train"),
                           "--out", str(out / "curate/stereo")]),
        ("curate_virtual_lidar", ["curate", "lidar", "--virtual", "--in", str(out / "render/train"),
                                  "--out", str(out / "curate/virtual_lidar"), "--dataset", "virtual_lidar"]),
        ("curate_report", ["curate", "report", "--in", str(out / "render/train"), "--in", str(out / "render/test"),
                           "--in", str(out / "curate/stereo"), "--in", str(out / "curate/virtual_lidar"),
                           "--out", str(out / "curate/report")]),
        ("shards_train", ["build-shards", "--in", str(out / "render/train"), "--out", str(out / "shards/train"),
                          "--samples-per-shard", "4"]),
        ("shards_stereo", ["build-shards", "--in", str(out / "curate/stereo"), "--out",
                           str(out / "shards/stereo"), "--samples-per-shard", "4"]),
        ("shards_lidar", ["build-shards", "--in", str(out / "curate/virtual_lidar"), "--out",
                          str(out / "shards/virtual_lidar"), "--samples-per-shard", "4"]),
        ("shards_test", ["build-shards", "--in", str(out / "render/test"), "--out", str(out / "shards/test"),
                         "--samples-per-shard", "4"]),
        ("train_mdm", ["train", "mdm", "--data", str(out / "shards/train"), "--data", str(out / "shards/stereo"),
                       "--config", "tiny", "--steps", str(size.mdm_steps), "--out", str(runs / "mdm")]),
        ("train_prompt", ["train", "prompt", "--data", str(out / "shards/train"), "--data",
                          str(out / "shards/virtual_lidar"), "--config", "tiny", "--steps", str(size.prompt_steps),
                          "--prior", str(runs / "mdm"), "--out", str(runs / "prompt")]),
        ("train_distill", ["train", "distill", "--data", str(out / "shards/train"), "--config", "tiny",
                           "--steps", str(size.distill_steps), "--teacher", str(runs / "prompt"),
                           "--out", str(runs / "distill")]),
        ("evaluate", ["eval", "--model", "raw-depth", "--model", "fill-nearest", "--model", "inpaint",
                      "--model", str(runs / "mdm"), "--model", str(runs / "prompt"), "--model", str(runs / "distill"),
                      "--data", str(out / "shards/test"), "--protocol", PROTOCOLS, "--out", str(out / "evaluate")]),
    ]


def resume_flag(argv: list[str]) -> list[str]:
    """``--resume`` for a training step whose run folder already holds a checkpoint."""
    if argv[0] != "train":
        return []
    run = Path(argv[argv.index("--out") + 1])
    checkpoints = run / "checkpoints"
    return ["--resume"] if checkpoints.is_dir() and any(checkpoints.iterdir()) else []


def run_step(argv: list[str]) -> int:
    """Run one CLI verb in this process; return its exit code."""
    from typer.main import get_command

    from depthcur.cli import app

    try:
        result = get_command(app).main(args=argv, prog_name="depthcur", standalone_mode=False)
    except typer.Exit as exc:
        return exc.exit_code
    except SystemExit as exc:  # click raises this for usage errors
        return int(exc.code or 0)
    return result if isinstance(result, int) else 0


def run_demo(out: Path, size_name: str = "quick") -> Path:
    from depthcur.progress import console

    size = SIZES[size_name]
    marks = out / ".steps"
    marks.mkdir(parents=True, exist_ok=True)
    plan = steps(out, size)
    timings: dict[str, float] = {}
    for index, (name, argv) in enumerate(plan, 1):
        mark = marks / f"{name}.json"
        if mark.exists() and json.loads(mark.read_text()).get("argv") == argv:
            console.print(f"[dim]demo {index}/{len(plan)} {name}: done in an earlier run, skipped[/dim]")
            timings[name] = json.loads(mark.read_text())["seconds"]
            continue
        console.print(f"[bold cyan]demo {index}/{len(plan)} {name}[/bold cyan]: depthcur {shlex.join(argv)}")
        started = time.perf_counter()
        code = run_step(argv + resume_flag(argv))
        if code != 0:
            raise RuntimeError(f"demo step {name!r} failed with exit code {code}: depthcur {shlex.join(argv)}")
        timings[name] = time.perf_counter() - started
        from depthcur.schemas import write_json_atomic

        write_json_atomic(mark, {"argv": argv, "seconds": timings[name]})
    return write_demo_report(out, plan, timings)


def _link(out: Path, relative: str, label: str) -> str:
    path = out / relative
    if not path.exists():
        return f"<li>{html.escape(label)}: <em>missing ({html.escape(relative)})</em></li>"
    return f"<li><a href='{html.escape(relative)}'>{html.escape(label)}</a></li>"


def _picture(out: Path, relative: str, caption: str) -> str:
    if not (out / relative).exists():
        return ""
    return (f"<figure><a href='{html.escape(relative)}'><img src='{html.escape(relative)}'></a>"
            f"<figcaption>{html.escape(caption)}</figcaption></figure>")


def write_demo_report(out: Path, plan: list[tuple[str, list[str]]], timings: dict[str, float]) -> Path:
    from depthcur.schemas import write_bytes_atomic

    metrics_path = out / "evaluate/metrics.json"
    metrics = json.loads(metrics_path.read_text()) if metrics_path.exists() else {}
    rows = "".join(f"<tr><td>{html.escape(name)}</td><td><code>depthcur {html.escape(shlex.join(argv))}</code></td>"
                   f"<td>{timings.get(name, 0):.1f}</td></tr>" for name, argv in plan)
    summary = _headline_table(metrics)
    pictures = "".join([
        _picture(out, "render/train/gallery.png", "render: RGB, perfect depth, IR pair, GT disparity, SGM depth"),
        _picture(out, "render/train/mask_ratio_hist.png", "render: mask-ratio histogram"),
    ])
    links = "".join([
        _link(out, "render/train/render_report.json", "render report (train scenes)"),
        _link(out, "render/test/render_report.json", "render report (held-out test scenes)"),
        _link(out, "curate/report/index.html", "curate report: mask ratios, depth ranges, gallery"),
        _link(out, "shards/train/manifest.json", "training shard manifest"),
        _link(out, "shards/test/manifest.json", "test shard manifest"),
        _link(out, "train/mdm/metrics.csv", "MDM training log"),
        _link(out, "train/prompt/metrics.csv", "prompt pretraining log"),
        _link(out, "train/distill/metrics.csv", "distillation log"),
        _link(out, "evaluate/report.html", "evaluation report: every protocol, pictures, worst cases"),
        _link(out, "evaluate/metrics.json", "evaluation metrics (JSON)"),
    ])
    page = f"""<!doctype html><html><head><meta charset="utf-8"><title>depthcur demo</title><style>
body{{font-family:system-ui,sans-serif;margin:24px;max-width:1200px;color:#222}}
table{{border-collapse:collapse;font-size:13px}} td,th{{border:1px solid #ddd;padding:3px 8px}}
th{{background:#f2f2f2}} figure{{display:inline-block;margin:4px}} img{{max-width:560px;border:1px solid #ccc}}
</style></head><body><h1>depthcur demo</h1>
<p>Procedural Blender scenes, rendered with a speckle projector and SGM sensor depth, curated, sharded, used to
train the three stages at tiny size, and evaluated on held-out scenes against the raw sensor depth and classical
fills.</p><h2>Headline: completed depth vs the sensor's own depth</h2>{summary}
<h2>Pictures</h2>{pictures}<h2>Every stage's outputs</h2><ul>{links}</ul>
<h2>Steps</h2><table><tr><th>step</th><th>command</th><th>seconds</th></tr>{rows}</table></body></html>"""
    path = out / "report.html"
    write_bytes_atomic(path, page.encode())
    return path


def _headline_table(metrics: dict) -> str:
    rows = metrics.get("summary") or []
    if not rows:
        return "<p><em>no evaluation metrics yet</em></p>"
    keys = ("absrel", "rmse", "delta1", "coverage")
    head = "".join(f"<th>{k}</th>" for k in ("protocol", "model", *keys))
    body = ""
    for row in rows:
        cells = "".join(f"<td>{row[k]:.4f}</td>" if isinstance(row.get(k), (int, float)) else "<td></td>"
                        for k in keys)
        body += f"<tr><td>{html.escape(str(row.get('protocol')))}</td><td>{html.escape(str(row.get('model')))}" \
                f"</td>{cells}</tr>"
    return f"<table><tr>{head}</tr>{body}</table>"


def register(app: typer.Typer) -> None:
    @app.command(help="Run the whole pipeline on procedural scenes and write one HTML report.")
    def demo(out: Path = typer.Option(Path("demo_out"), "--out", help="Output folder."),
             quick: bool = typer.Option(False, "--quick", help="Smallest sizes, for a fast look."),
             config: ConfigOption = None) -> None:
        from depthcur.progress import console

        started = time.perf_counter()
        try:
            report = run_demo(out, "quick" if quick else "full")
        except RuntimeError as exc:
            console.print(f"[red]{exc}[/red]")
            raise typer.Exit(code=1)
        console.print(f"demo: finished in {time.perf_counter() - started:.0f}s")
        console.print(f"demo: outputs are in {out.resolve()}")
        console.print(f"demo: open the report: {report.resolve()}")
