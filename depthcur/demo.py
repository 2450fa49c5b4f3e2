"""``depthcur demo``: the whole pipeline on procedural scenes, ending in one HTML report.

Each step is the same CLI verb a user would run, invoked in this process (so Ray starts
once). A step that finished leaves ``<out>/.steps/<name>.json``; a re-run skips it, and
the verbs themselves resume inside a step that was interrupted.
"""

from __future__ import annotations

import json
import shlex
import time
from dataclasses import dataclass
from pathlib import Path

import typer

from depthcur.core.config import ConfigOption
from depthcur.core.exits import items_failed
from depthcur.core.options import options_from
from depthcur.core.pages import escape, figure, page, text_table


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
    #: MDM training crop (H, W); the tiny preset's 56x70 is too coarse to complete holes
    mdm_crop: tuple[int, int]


SIZES = {
    "quick": DemoSize(train_scenes=3, test_scenes=2, samples_per_scene=2, resolution="160x120", spp=8,
                      mdm_steps=300, prompt_steps=30, distill_steps=30, mdm_crop=(84, 112)),
    "full": DemoSize(train_scenes=8, test_scenes=3, samples_per_scene=3, resolution="320x240", spp=8,
                     mdm_steps=600, prompt_steps=120, distill_steps=120, mdm_crop=(112, 154)),
}
PROTOCOLS = "raw,block-mask:medium,points:100"
HEADLINE_PROTOCOL = "raw"
HEADLINE_COLUMNS = ("absrel", "delta1", "coverage", "missed_absrel", "missed_delta1", "missed_coverage")


def mdm_config(size: DemoSize) -> dict:
    """The demo's MDM config: the tiny preset, a residual over the visible depth, a larger crop."""
    return {"preset": "tiny", "model": {"depth_prior": "fill"}, "data": {"crop": list(size.mdm_crop)}}


def write_configs(out: Path, size: DemoSize) -> dict[str, Path]:
    """Config files the training steps name with ``--config``, kept in the output for people to read."""
    import yaml

    from depthcur.schemas import write_bytes_atomic

    path = out / "configs" / "mdm.yaml"
    text = yaml.safe_dump(mdm_config(size), sort_keys=False)
    if not path.is_file() or path.read_text() != text:
        write_bytes_atomic(path, text.encode())
    return {"mdm": path}


def steps(out: Path, size: DemoSize) -> list[tuple[str, list[str]]]:
    """(name, argv) of every step, in order (training configs are under ``out/configs``)."""
    render_common = ["--samples-per-scene", str(size.samples_per_scene), "--resolution", size.resolution,
                     "--spp", str(size.spp)]
    runs = out / "train"
    return [
        ("render_train", ["render", "--scenes", f"procedural:{size.train_scenes}", "--seed", "0",
                          "--out", str(out / "render/train"), *render_common]),
        ("render_test", ["render", "--scenes", f"procedural:{size.test_scenes}", "--seed", "1000",
                         "--out", str(out / "render/test"), *render_common]),
        ("curate_stereo", ["curate", "stereo", "--in", str(out / "render/train"), "--precision-curve",
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
                       "--config", str(out / "configs/mdm.yaml"), "--steps", str(size.mdm_steps),
                       "--out", str(runs / "mdm")]),
        ("train_prompt", ["train", "prompt", "--data", str(out / "shards/train"), "--data",
                          str(out / "shards/virtual_lidar"), "--preset", "tiny", "--steps", str(size.prompt_steps),
                          "--prior", str(runs / "mdm"), "--out", str(runs / "prompt")]),
        ("train_distill", ["train", "distill", "--data", str(out / "shards/train"), "--preset", "tiny",
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


def step_inputs(argv: list[str]) -> dict:
    """What a finished step's marker must match: its argv and the text of its config file."""
    inputs: dict = {"argv": argv}
    if "--config" in argv:
        config = Path(argv[argv.index("--config") + 1])
        if config.is_file():
            inputs["config"] = config.read_text()
    return inputs


def run_step(app: typer.Typer, argv: list[str]) -> int:
    """Run one verb of ``app`` (the ``depthcur`` command) in this process; return its exit code."""
    from typer.main import get_command

    try:
        # standalone: usage errors are reported and become exit code 2, as on the command line
        get_command(app).main(args=argv, prog_name="depthcur", standalone_mode=True)
    except SystemExit as exc:  # standalone mode always ends with sys.exit
        return int(exc.code or 0)
    return 0


def run_demo(app: typer.Typer, out: Path, size_name: str = "quick") -> Path:
    from depthcur.core.progress import console

    size = SIZES[size_name]
    marks = out / ".steps"
    marks.mkdir(parents=True, exist_ok=True)
    write_configs(out, size)
    plan = steps(out, size)
    timings: dict[str, float] = {}
    for index, (name, argv) in enumerate(plan, 1):
        mark = marks / f"{name}.json"
        inputs = step_inputs(argv)
        if mark.exists() and json.loads(mark.read_text()).get("inputs") == inputs:
            console.print(f"[dim]demo {index}/{len(plan)} {name}: done in an earlier run, skipped[/dim]")
            timings[name] = json.loads(mark.read_text())["seconds"]
            continue
        console.print(f"[bold cyan]demo {index}/{len(plan)} {name}[/bold cyan]: depthcur {shlex.join(argv)}")
        started = time.perf_counter()
        code = run_step(app, argv + resume_flag(argv))
        if code != 0:
            raise RuntimeError(f"demo step {name!r} failed with exit code {code}: depthcur {shlex.join(argv)}")
        timings[name] = time.perf_counter() - started
        from depthcur.schemas import write_json_atomic

        write_json_atomic(mark, {"inputs": inputs, "seconds": timings[name]})
    return write_demo_report(out, plan, timings)


STYLE = """
body{max-width:1200px} img{max-width:560px;min-width:200px;border:1px solid #ccc;image-rendering:pixelated}
"""


def _link(out: Path, relative: str, label: str) -> str:
    path = out / relative
    if not path.exists():
        return f"<li>{escape(label)}: <em>missing ({escape(relative)})</em></li>"
    return f"<li><a href='{escape(relative)}'>{escape(label)}</a></li>"


def _picture(out: Path, relative: str, caption: str) -> str:
    return figure(relative, caption, link=True) if (out / relative).exists() else ""


def write_demo_report(out: Path, plan: list[tuple[str, list[str]]], timings: dict[str, float]) -> Path:
    from depthcur.curate.shards.manifest import MANIFEST_NAME
    from depthcur.schemas import write_bytes_atomic

    metrics_path = out / "evaluate/metrics.json"
    metrics = json.loads(metrics_path.read_text()) if metrics_path.exists() else {}
    rows = [(escape(name), f"<code>depthcur {escape(shlex.join(argv))}</code>", f"{timings.get(name, 0):.1f}")
            for name, argv in plan]
    summary = _headline_table(metrics)
    pictures = "".join([
        _picture(out, "render/train/gallery.png", "render: RGB, perfect depth, IR pair, GT disparity, SGM depth"),
        _picture(out, "render/train/mask_ratio_hist.png", "render: mask-ratio histogram"),
    ])
    completion = _completion_pictures(out, metrics)
    links = "".join([
        _link(out, "render/train/render_report.json", "render report (train scenes)"),
        _link(out, "render/test/render_report.json", "render report (held-out test scenes)"),
        _link(out, "curate/report/index.html", "curate report: mask ratios, depth ranges, gallery"),
        _link(out, f"shards/train/{MANIFEST_NAME}", "training shard manifest"),
        _link(out, f"shards/test/{MANIFEST_NAME}", "test shard manifest"),
        _link(out, "train/mdm/metrics.csv", "MDM training log"),
        _link(out, "train/prompt/metrics.csv", "prompt pretraining log"),
        _link(out, "train/distill/metrics.csv", "distillation log"),
        _link(out, "evaluate/report.html", "evaluation report: every protocol, pictures, worst cases"),
        _link(out, "evaluate/metrics.json", "evaluation metrics (JSON)"),
    ])
    body = f"""<h1>depthcur demo</h1>
<p>Procedural Blender scenes, rendered with a speckle projector and SGM sensor depth, curated, sharded, used to
train the three stages at tiny size, and evaluated on held-out scenes against the raw sensor depth and classical
fills.</p><h2>Headline: completed depth vs the sensor's own depth</h2>{summary}
{completion}<h2>Pictures</h2>{pictures}<h2>Every stage's outputs</h2><ul>{links}</ul>
<h2>Steps</h2>{text_table(("step", "command", "seconds"), rows)}"""
    path = out / "report.html"
    write_bytes_atomic(path, page("depthcur demo", body, STYLE).encode())
    return path


def headline(metrics: dict) -> dict:
    """The demo's claim, from the evaluation summary: MDM against the sensor and nearest-fill on
    the ``raw`` protocol (held-out scenes, the SGM sensor depth as input)."""
    rows = {row["model"]: row for row in _headline_rows(metrics)}
    mdm = next((row for name, row in rows.items() if name.startswith("mdm:")), None)
    sensor, nearest = rows.get("raw-depth"), rows.get("fill-nearest")
    if not (mdm and sensor and nearest):
        return {}
    return {"protocol": HEADLINE_PROTOCOL, "mdm_model": mdm["model"], "samples": mdm.get("samples"),
            "coverage": {"mdm": mdm["coverage"], "raw-depth": sensor["coverage"]},
            "missed_absrel": {"mdm": mdm.get("missed_absrel"), "fill-nearest": nearest.get("missed_absrel")},
            "missed_delta1": {"mdm": mdm.get("missed_delta1"), "fill-nearest": nearest.get("missed_delta1")}}


def _completion_pictures(out: Path, metrics: dict) -> str:
    """The evaluation report's first held-out sample on the headline protocol: RGB, the sensor's
    depth, GT, nearest-fill and MDM, on one colour scale (pictures written by ``depthcur eval``)."""
    config = metrics.get("config") or {}
    protocols, models = config.get("protocols") or [], config.get("models") or []
    mdm = next((i for i, name in enumerate(models) if name.startswith("mdm:")), None)
    if HEADLINE_PROTOCOL not in protocols or "fill-nearest" not in models or mdm is None:
        return ""
    from depthcur.evaluate.report import figure_name, gallery_prefix

    prefix = gallery_prefix(protocols.index(HEADLINE_PROTOCOL), 0)
    figures = [(figure_name(prefix, "rgb"), "RGB"), (figure_name(prefix, "in"), "sensor depth (input)"),
               (figure_name(prefix, "gt"), "ground truth"),
               (figure_name(prefix, "pred", models.index("fill-nearest")), "nearest-fill"),
               (figure_name(prefix, "pred", mdm), models[mdm])]
    return "<h2>One held-out sample</h2>" + "".join(_picture(out, f"evaluate/img/{name}", caption)
                                                    for name, caption in figures)


def _headline_rows(metrics: dict) -> list[dict]:
    """Summary rows of the headline protocol over all test data (``all`` exists with 2+ datasets)."""
    rows = [row for row in metrics.get("summary") or [] if row.get("protocol") == HEADLINE_PROTOCOL]
    pooled = [row for row in rows if row.get("dataset") == "all"]
    return pooled or rows


def _headline_table(metrics: dict) -> str:
    rows = _headline_rows(metrics)
    if not rows:
        return "<p><em>no evaluation metrics yet</em></p>"
    body = [[escape(str(row.get("model")))] + [f"{row[k]:.4f}" if isinstance(row.get(k), (int, float)) else "–"
                                               for k in HEADLINE_COLUMNS] for row in rows]
    claim = headline(metrics)
    sentence = ""
    if claim:
        sentence = f"<p>On {claim['samples']} held-out samples: {escape(claim_sentence(claim))}.</p>"
    return (f"{sentence}<p>Protocol <code>{HEADLINE_PROTOCOL}</code>: the sensor's own depth is the input. "
            "<em>missed_</em> columns score only the valid pixels the sensor did not measure.</p>"
            f"{text_table(('model', *HEADLINE_COLUMNS), body)}")


def claim_sentence(claim: dict) -> str:
    """The headline in words, as the report and the console both say it."""
    return (f"MDM coverage {claim['coverage']['mdm']:.1%} vs sensor {claim['coverage']['raw-depth']:.1%}; "
            f"AbsRel on the pixels the sensor missed {_number(claim['missed_absrel']['mdm'])} vs nearest-fill "
            f"{_number(claim['missed_absrel']['fill-nearest'])}")


def _number(value) -> str:
    return f"{value:.3f}" if isinstance(value, (int, float)) else "–"


@dataclass
class DemoConfig:
    """The options of ``depthcur demo``."""

    #: output folder
    out: Path = Path("demo_out")
    #: smallest sizes, for a fast look
    quick: bool = False


def register(app: typer.Typer) -> None:
    @app.command(help="Run the whole pipeline on procedural scenes and write one HTML report.")
    @options_from(DemoConfig)
    def demo(cfg: DemoConfig, config: ConfigOption = None) -> None:
        from depthcur.core.progress import console

        out = cfg.out
        started = time.perf_counter()
        try:
            report = run_demo(app, out, "quick" if cfg.quick else "full")
        except RuntimeError as exc:
            raise items_failed("demo", [exc]) from None
        console.print(f"demo: finished in {time.perf_counter() - started:.0f}s")
        claim = headline(json.loads((out / "evaluate/metrics.json").read_text()))
        if claim:
            console.print(f"demo: {claim_sentence(claim)}")
        console.print(f"demo: outputs are in {out.resolve()}")
        console.print(f"demo: open the report: {report.resolve()}")
