"""Every numeric and enum option is checked where its config is built, from the constraints its
dataclass field declares (core/validate.py), so the CLI, config files and the Python API refuse the
same values; and every verb's errors follow one convention: one line
``depthcur VERB: <what> (<where>): <todo>``, exit code 2 for bad usage or input, 1 for items that
failed, a traceback only with ``--debug``.

The bad values are generated from the declared constraints: a test that walks every option of every
verb, so a new option with a constraint is covered without a new test.
"""

from __future__ import annotations

import dataclasses
import subprocess
import sys
import typing
from pathlib import Path

import pytest
from typer.testing import CliRunner

from depthcur.cli import DEBUG_HINT, app, leaf_commands
from depthcur.core.exits import FieldValueError, ItemsFailed
from depthcur.core.options import FieldOption, field_options
from depthcur.core.validate import check_fields

DEPTHCUR = Path(sys.executable).with_name("depthcur")
DUMMY = "/nonexistent/depthcur-input"
#: options without a declared constraint whose own parser checks them (render's WIDTHxHEIGHT)
PARSED = {"resolution"}
#: per verb, options that take it past the checks of other fields (lidar: --virtual needs --in)
BASE_ARGS = {"curate lidar": ["--virtual", "--in", DUMMY]}
#: required str fields whose value must be one of a set (given a valid one here)
VALID_REQUIRED = {"layout": "generic", "models": "fill-nearest"}


VERBS = leaf_commands()


def required_args(verb: str, options: list[FieldOption]) -> list[str]:
    args = list(BASE_ARGS.get(verb, []))
    for option in options:
        if not option.required:
            continue
        value = VALID_REQUIRED.get(option.name, DUMMY)
        args += [value] if option.metadata.get("argument") else [option.flag, value]
    return args


# ---------------------------------------------------------------- bad values from the constraints


def _scalar_kind(annotation) -> type | None:
    """int or float for a number field (or a tuple/dict/list of numbers); None otherwise."""
    args = [a for a in typing.get_args(annotation) if a is not Ellipsis and a is not type(None)]
    if annotation in (int, float):
        return annotation
    kinds = {_scalar_kind(a) for a in args} - {None}
    return kinds.pop() if len(kinds) == 1 else None


def _shape(option: FieldOption) -> str:
    base = typing.get_args(option.annotation)
    annotation = option.annotation
    if type(None) in base:        # X | None
        annotation = next(a for a in base if a is not type(None))
    origin = typing.get_origin(annotation)
    if origin is tuple:
        args = typing.get_args(annotation)
        return "variadic" if Ellipsis in args else f"tuple{len(args)}"
    return {dict: "dict", list: "list"}.get(origin, "scalar")


def _text(option: FieldOption, item) -> str:
    """One number (or word) written as the option's value: every element of a tuple gets it."""
    shape = _shape(option)
    word = str(item)
    if shape.startswith("tuple"):
        return ",".join([word] * int(shape[5:]))
    if shape == "dict":
        return f"sim={word}"
    return word


def _number(kind, value):
    return int(value) if kind is int and float(value).is_integer() else value


def bad_values(option: FieldOption, defaults: dict[str, object]) -> list[tuple[str, str]]:
    """(constraint, value text) pairs, each breaking one declared constraint of ``option``."""
    rules, kind = option.constraints, _scalar_kind(option.annotation)
    cases = []
    if "choices" in rules:
        wrong = max(rules["choices"]) + 1 if kind is not None else "not-a-choice"
        cases.append(("choices", _text(option, wrong)))
    for key, offset in (("min", -1), ("max", +1), ("above", 0), ("below", 0)):
        if key in rules:
            cases.append((key, _text(option, _number(kind, rules[key] + offset))))
    if rules.get("odd"):
        even = max(2, rules.get("min", 2))
        cases.append(("odd", _text(option, even + even % 2)))
    if rules.get("finite") and kind is float:
        cases.append(("finite", _text(option, "nan")))
    if rules.get("ordered"):
        default = option.default
        if isinstance(default, tuple) and default[0] != default[1]:
            low, high = default
        else:   # a default of None or (x, x): two valid numbers from the lower bound
            low = rules.get("min", rules.get("above", 0)) + 1
            high = low + 1
        cases.append(("ordered", f"{high},{low}"))
    if "above_field" in rules:
        other = "_".join(option.path[:-1] + (rules["above_field"],))
        cases.append(("above_field", str(defaults[other])))    # equal to the lower end: an empty range
    return cases


def constrained_cases():
    for verb, command in sorted(VERBS.items()):
        options = command.callback.field_options
        defaults = {option.name: option.default for option in options}
        for option in options:
            for rule, text in bad_values(option, defaults):
                yield pytest.param(verb, option, rule, text, id=f"{verb}:{option.flag}:{rule}")


CASES = list(constrained_cases())


def test_every_numeric_option_declares_a_constraint():
    """A number option without a declared range would accept nonsense such as nan or -1."""
    unchecked = [f"{verb} {option.flag}" for verb, command in VERBS.items()
                 for option in command.callback.field_options
                 if _scalar_kind(option.annotation) is not None and option.name not in PARSED
                 and not set(option.constraints) - {"finite"}]
    assert not unchecked, f"number options without a declared constraint: {unchecked}"
    assert len(CASES) > 150            # every verb contributes; a broken walk would find few


@pytest.mark.parametrize("verb, option, rule, text", CASES)
def test_cli_refuses_each_bad_value_naming_the_flag(verb, option, rule, text):
    args = [*verb.split(), *required_args(verb, VERBS[verb].callback.field_options), f"{option.flag}={text}"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2, (args, result.output)
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"depthcur {verb}: "), result.output
    assert option.flag in lines[0], (args, result.output)


def _section_class(cls: type, path: tuple[str, ...]) -> type:
    for name in path[:-1]:
        cls = typing.get_type_hints(cls)[name]
    return cls


def _python_cases():
    seen = set()
    for verb, command in sorted(VERBS.items()):
        for cls in command.callback.option_classes:
            options = field_options(cls)
            defaults = {option.name: option.default for option in options}
            for option in options:
                owner = _section_class(cls, option.path)
                for rule, text in bad_values(option, defaults):
                    key = (owner, option.path[-1], rule)
                    if key not in seen:
                        seen.add(key)
                        yield pytest.param(owner, option, text, id=f"{owner.__name__}.{option.path[-1]}:{rule}")


def _init_names(cls: type) -> set[str]:
    return {f.name for f in dataclasses.fields(cls) if f.init}


#: the required fields of the configs, for constructing them from Python
REQUIRED_VALUES = {"in_dir": Path(DUMMY), "out": Path(DUMMY), "in_dirs": [Path(DUMMY)], "inputs": [Path(DUMMY)],
                   "directory": Path(DUMMY), "data": [DUMMY], "models": ["fill-nearest"], "layout": "generic"}


def _required_kwargs(owner: type) -> dict[str, object]:
    kwargs = {f.name: REQUIRED_VALUES[f.name] for f in dataclasses.fields(owner)
              if f.init and f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING}
    if "virtual" in _init_names(owner):
        kwargs.update(virtual=True, in_dir=Path(DUMMY))
    return kwargs


@pytest.mark.parametrize("owner, option, text", list(_python_cases()))
def test_python_api_refuses_the_same_values_naming_the_field(owner, option, text):
    field = option.path[-1]
    with pytest.raises(ValueError, match=rf"\b{field}\b") as caught:
        owner(**_required_kwargs(owner), **{field: option.convert(text)})
    assert isinstance(caught.value, FieldValueError) and field in (caught.value.field, caught.value.other)


def test_defaults_and_presets_pass_their_own_checks():
    from depthcur.train.config import PRESETS, preset_config

    for preset in PRESETS:
        cfg = preset_config(preset)
        for section in (cfg, cfg.model, cfg.optim, cfg.data, cfg.mask, cfg.prompt, cfg.distill, cfg.run):
            check_fields(section)


def test_the_issue_examples_are_refused():
    """The nonsense the command line used to accept (exit 2, the option named)."""
    examples = [
        ["render", "--ir-noise-std", "nan"], ["render", "--ir-noise-std", "-0.5"],
        ["curate", "stereo", "--in", DUMMY, "--out", DUMMY, "--lr-threshold", "-1"],
        ["curate", "stereo", "--in", DUMMY, "--out", DUMMY, "--min-depth", "5", "--max-depth", "1"],
        ["curate", "stereo", "--in", DUMMY, "--out", DUMMY, "--block-size", "4"],
        ["curate", "vqa", "--in", DUMMY, "--out", DUMMY, "--focal", "0"],
        ["curate", "fde", "--in", DUMMY, "--out", DUMMY, "--min-area", "0.4", "--max-area", "0.2"],
        ["curate", "fde", "--in", DUMMY, "--out", DUMMY, "--val-frac", "1.5"],
        ["curate", "fde", "--in", DUMMY, "--out", DUMMY, "--val-frac", "0.6", "--test-frac", "0.6"],
        ["curate", "lidar", "--virtual", "--in", DUMMY, "--out", DUMMY, "--n-lines", "0"],
        ["capture", "record", "--out", DUMMY, "--device", "replay:" + DUMMY, "--fps", "0"],
        ["capture", "record", "--out", DUMMY, "--device", "replay:" + DUMMY, "--fps", "-30"],
        ["train", "mdm", "--data", DUMMY, "--threads", "0"],
        ["render", "--threads-per-worker", "0"],
    ]
    for args in examples:
        result = CliRunner().invoke(app, args)
        named = [word for word in args if word.startswith("--")][-1]
        assert result.exit_code == 2 and named in result.output, (args, result.output)


def test_a_config_file_value_is_refused_naming_the_file_and_key(tmp_path):
    config = tmp_path / "vqa.yaml"
    config.write_text("focal-px: 0\n")
    result = CliRunner().invoke(app, ["curate", "vqa", "--in", DUMMY, "--out", DUMMY, "--config", str(config)])
    assert result.exit_code == 2 and str(config) in result.output and "focal-px" in result.output, result.output


def test_items_failed_and_unexpected_errors_at_the_boundary(monkeypatch, tmp_path):
    import depthcur.curate.jobs as jobs

    def fails(*_args, **_kwargs):
        raise ItemsFailed(["sample a: broken", "sample b: broken"])

    monkeypatch.setattr(jobs, "run_vqa", fails)
    args = ["curate", "vqa", "--in", str(tmp_path), "--out", str(tmp_path / "out")]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == ["depthcur curate vqa: sample a: broken",
                                                  "depthcur curate vqa: sample b: broken"]

    def bug(*_args, **_kwargs):
        raise KeyError("surprise")

    monkeypatch.setattr(jobs, "run_vqa", bug)
    result = CliRunner().invoke(app, args)
    lines = result.output.strip().splitlines()
    assert result.exit_code == 1 and len(lines) == 1, result.output
    assert "KeyError" in lines[0] and "surprise" in lines[0] and lines[0].endswith(DEBUG_HINT)


# ---------------------------------------------------------------- the real command


def depthcur(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(DEPTHCUR), *args], capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("args, flag", [
    (["curate", "vqa", "--in", DUMMY, "--out", DUMMY, "--focal", "0"], "--focal"),
    (["render", "--ir-noise-std", "nan"], "--ir-noise-std"),
    (["render", "--no-such-option"], "--no-such-option"),
])
def test_the_command_prints_one_line_and_no_traceback(args, flag):
    done = depthcur(*args)
    verb = " ".join(word for word in args[:2] if not word.startswith("-"))
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in done.stderr, done.stderr
    assert lines[0].startswith(f"depthcur {verb}: ") and f"({flag})" in lines[0], lines[0]
    assert lines[0].count(":") >= 2          # <what> (<where>): <todo>


def test_debug_adds_the_traceback_and_keeps_the_code():
    done = depthcur("--debug", "curate", "vqa", "--in", DUMMY, "--out", DUMMY, "--focal", "0")
    assert done.returncode == 2
    assert "Traceback" in done.stderr and done.stderr.strip().splitlines()[-1].startswith("depthcur curate vqa: ")


def test_a_missing_input_is_a_usage_error():
    done = depthcur("curate", "filter", "--in", DUMMY, "--out", DUMMY)
    assert done.returncode == 2 and DUMMY in done.stderr and "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
