"""Every verb's options are its config dataclasses' fields (same names, same defaults), and every
verb follows one exit-code convention: 0 ok, 1 some items failed, 2 usage or input error."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
import typing
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from depthcur.capture.job import AppJob, RecordJob
from depthcur.cli import app, leaf_commands
from depthcur.core.config import ConfigOption
from depthcur.core.options import options_from
from depthcur.curate.exports.fde import FdeConfig
from depthcur.curate.exports.vqa import VqaConfig
from depthcur.curate.filters import FilterConfig
from depthcur.curate.lidar.virtual import VirtualLidarConfig
from depthcur.curate.shards.build import BuildShardsConfig
from depthcur.curate.shards.verify import VerifyConfig
from depthcur.curate.stereo.pseudo_label import PseudoLabelConfig
from depthcur.curate.verbs import CurateIO, LayoutJob, LidarJob, ReportJob, StereoJob
from depthcur.demo import DemoConfig
from depthcur.evaluate.runner import EvalConfig
from depthcur.render.config import RenderConfig
from depthcur.train.cli import TRAIN_OPTIONS
from depthcur.train.config import DistillRun, MDMRun, PromptRun, TrainConfig, TrainRun, load_config

#: options that are no dataclass field: the config file itself
CLI_ONLY = {"config"}

VERB_CLASSES = {
    "render": (RenderConfig,),
    "capture record": (RecordJob,),
    "capture app": (AppJob,),
    "curate stereo": (StereoJob, PseudoLabelConfig),
    "curate lidar": (LidarJob, VirtualLidarConfig),
    "curate import": (LayoutJob,),
    "curate export": (LayoutJob,),
    "curate filter": (CurateIO, FilterConfig),
    "curate vqa": (CurateIO, VqaConfig),
    "curate fde": (CurateIO, FdeConfig),
    "curate report": (ReportJob,),
    "build-shards": (BuildShardsConfig,),
    "shards verify": (VerifyConfig,),
    "train mdm": (MDMRun, TrainConfig),
    "train prompt": (PromptRun, TrainConfig),
    "train distill": (DistillRun, TrainConfig),
    "eval": (EvalConfig,),
    "demo": (DemoConfig,),
}

#: one cheap call per verb that must be refused as a usage or input error (no Blender, no training)
MISSING = "/nonexistent/depthcur-input"
BAD_USAGE = {
    "render": ["--spp", "0"],
    "capture record": ["--out", "{tmp}/o"],                       # neither --device nor --rig
    "capture app": ["--out", "{tmp}/o", "--device", "realsense", "--rig", "{tmp}/rig.yaml"],
    "curate stereo": ["--in", MISSING, "--out", "{tmp}/o"],
    "curate lidar": ["--virtual", "--out", "{tmp}/o"],            # --virtual needs --in
    "curate import": ["--format", "bogus", "--in", MISSING, "--out", "{tmp}/o"],
    "curate export": ["--format", "lingbot", "--in", MISSING, "--out", "{tmp}/o"],
    "curate filter": ["--in", MISSING, "--out", "{tmp}/o"],
    "curate vqa": ["--in", "{tmp}", "--out", "{tmp}/o", "--marker", "star"],
    "curate fde": ["--in", MISSING, "--out", "{tmp}/o"],
    "curate report": ["--in", MISSING, "--out", "{tmp}/o"],
    "build-shards": ["--in", MISSING, "--out", "{tmp}/o"],
    "shards verify": [MISSING],
    "train mdm": ["--data", MISSING, "--preset", "huge"],
    "train prompt": ["--data", MISSING, "--out", "{tmp}/o"],
    "train distill": ["--data", "{tmp}", "--model-embed-dim", "49", "--out", "{tmp}/o"],  # not divisible by heads
    "eval": ["--model", "fill-nearest", "--data", MISSING, "--out", "{tmp}/o", "--protocol", "bogus"],
    "demo": ["--bogus"],
}


VERBS = leaf_commands()


def field_defaults(cls: type, prefix: str = "") -> dict[str, object]:
    """Each leaf field's option name -> its default (dataclasses.MISSING when required)."""
    hints = typing.get_type_hints(cls)
    out: dict[str, object] = {}
    for f in dataclasses.fields(cls):
        if dataclasses.is_dataclass(hints[f.name]):
            out.update(field_defaults(hints[f.name], f"{prefix}{f.name}_"))
        elif f.default_factory is not dataclasses.MISSING:
            out[prefix + f.name] = f.default_factory()
        else:
            out[prefix + f.name] = f.default
    return out


def test_every_verb_is_covered():
    assert set(VERBS) == set(VERB_CLASSES) == set(BAD_USAGE)


@pytest.mark.parametrize("verb", sorted(VERB_CLASSES))
def test_options_are_the_dataclass_fields_with_their_defaults(verb):
    fields: dict[str, object] = {}
    for cls in VERB_CLASSES[verb]:
        fields.update(field_defaults(cls))
    params = {p.name: p for p in VERBS[verb].params}
    assert set(params) - CLI_ONLY == set(fields)
    for name, default in fields.items():
        param = params[name]
        if default is dataclasses.MISSING:
            assert param.required, name
            continue
        assert not param.required, name
        value = list(param.default) if param.multiple else param.default
        assert value == default and type(value) is type(default), (name, param.default, default)
        if param.param_type_name == "option":
            assert "--" + name.replace("_", "-") in param.opts, (name, param.opts)


def render_probe() -> typer.Typer:
    """A throwaway command with render's generated options that prints the config it built."""
    probe = typer.Typer()

    @probe.command()
    @options_from(RenderConfig, aliases={"sgm_ir_noise_std": "--ir-noise-std"})
    def run(cfg: RenderConfig, config: ConfigOption = None) -> None:
        typer.echo(repr(cfg))

    return probe


def train_probe() -> typer.Typer:
    """The same with train's options, printing the training config."""
    probe = typer.Typer()

    @probe.command()
    @options_from(TrainRun, TrainConfig, **TRAIN_OPTIONS)
    def run(_run: TrainRun, cfg: TrainConfig, config: ConfigOption = None) -> None:
        typer.echo(repr(cfg))

    return probe


def built(probe: typer.Typer, args: list[str]) -> str:
    result = CliRunner().invoke(probe, args)
    assert result.exit_code == 0, result.output
    return result.output.strip()


def test_options_from_builds_nested_sections_from_flags_and_files(tmp_path):
    probe = render_probe()
    assert built(probe, []) == repr(RenderConfig())
    config = tmp_path / "render.yaml"
    config.write_text("resolution: 320x240\nsgm: {block_size: 7, mode: hh}\nrig-baseline-m: [0.1, 0.15]\n"
                      "ir_noise_std: 2.5\n")
    want = RenderConfig(resolution=(320, 240), rig=dataclasses.replace(RenderConfig().rig, baseline_m=(0.1, 0.15)),
                        sgm=dataclasses.replace(RenderConfig().sgm, block_size=7, mode="hh", ir_noise_std=2.5))
    assert built(probe, ["--config", str(config)]) == repr(want)
    flags = built(probe, ["--config", str(config), "--sgm-block-size", "9", "--rig-baseline-m", "0.05,0.1",
                          "--no-sgm-explicit-lr-check", "--resolution", "640x480"])
    assert flags == repr(dataclasses.replace(want, resolution=(640, 480), sgm=dataclasses.replace(want.sgm, block_size=9),
                                             rig=dataclasses.replace(want.rig, baseline_m=(0.05, 0.1))))


def test_train_preset_then_config_file_then_flags(tmp_path):
    probe = train_probe()
    data = ["--data", "x"]
    assert built(probe, data) == repr(load_config("tiny"))
    assert built(probe, data + ["--preset", "small"]) == repr(load_config("small"))
    config = tmp_path / "train.yaml"
    config.write_text("preset: small\nmodel: {depth: 3}\ndata: {crop: [112, 140], weights: {sim: 2}}\n")
    from_file = load_config(config)
    assert from_file.model.depth == 3 and from_file.data.weights == {"sim": 2.0}
    assert built(probe, data + ["--config", str(config)]) == repr(from_file)
    flags = built(probe, data + ["--config", str(config), "--model-depth", "4", "--steps", "7",
                                 "--data-weights", "sim=1,rig=3"])
    want = dataclasses.replace(from_file, model=dataclasses.replace(from_file.model, depth=4),
                               run=dataclasses.replace(from_file.run, steps=7),
                               data=dataclasses.replace(from_file.data, weights={"sim": 1.0, "rig": 3.0}))
    assert flags == repr(want)


def test_help_comes_from_the_field_comments():
    result = CliRunner().invoke(app, ["render", "--help"], terminal_width=200)
    text = " ".join(result.output.replace("│", " ").split())
    assert "Cycles samples per pixel" in text and "--sgm-block-size" in text
    assert "stereo baseline range in metres" in text


@pytest.mark.parametrize("verb", sorted(BAD_USAGE))
def test_bad_usage_exits_2(verb, tmp_path):
    args = [arg.replace("{tmp}", str(tmp_path)) for arg in BAD_USAGE[verb]]
    depthcur = Path(sys.executable).parent / "depthcur"
    proc = subprocess.run([str(depthcur), *verb.split(), *args], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr


# ---------------------------------------------------------------- --help shows the checks


def option_help(verb: str, name: str) -> str:
    return (next(p.help for p in VERBS[verb].params if p.name == name) or "").replace("\\[", "[")


@pytest.mark.parametrize("verb, name, shown", [
    ("curate vqa", "focal_px", "[> 0]"),
    ("curate fde", "val_frac", "[0 .. 1]"),
    ("curate fde", "max_area_frac", "[0 .. 1, > --min-area-frac]"),
    ("curate stereo", "block_size", "[odd, >= 1]"),
    ("curate stereo", "max_depth_m", "[> --min-depth-m]"),
    ("train mdm", "data_crop_scale", "[> 0, <= 1, LOW <= HIGH]"),
    ("curate vqa", "marker", "[circle|cross|dot]"),
])
def test_help_shows_the_declared_constraints(verb, name, shown):
    """The allowed values written out by hand from the fields' metadata (curate/exports, curate/stereo,
    train/config), not read back from the code that writes them."""
    assert shown in option_help(verb, name)


def test_every_constrained_option_shows_its_constraint_in_help():
    missing = [f"{verb} {option.flag}" for verb, command in VERBS.items() for option in command.callback.field_options
               if set(option.constraints) - {"finite"} and not option_help(verb, option.name).rstrip().endswith("]")]
    assert not missing, f"options whose --help hides their allowed values: {missing}"


def test_help_shows_the_ranges_without_importing_the_heavy_stages():
    script = ("import sys\nfrom typer.testing import CliRunner\nfrom depthcur.cli import app\n"
              "out = CliRunner().invoke(app, ['curate', 'vqa', '--help'], terminal_width=200).output\n"
              "print(' '.join(out.replace(chr(9474), ' ').split()))\n"
              "print(sorted(m for m in ('torch', 'ray', 'bpy') if m in sys.modules))")
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    text, heavy = proc.stdout.strip().splitlines()
    assert "[> 0]" in text and heavy == "[]", proc.stdout + proc.stderr
