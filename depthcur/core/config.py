"""``--config FILE`` for every verb: YAML, TOML or JSON whose keys are the verb's option names.

Keys are flat (``sgm-block-size: 7``) or in sections (``sgm: {block_size: 7}``); legacy flag
names work too. Values from the file become the command's defaults, so flags given on the
command line override them. Unknown keys and unreadable files are errors that name the file
and key (exit code 2).
"""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Annotated, Any, Optional

import typer
import yaml

from .options import flatten_sections


class ConfigFileError(typer.BadParameter):
    pass


def read_config_file(path: str | Path) -> dict[str, Any]:
    """Parse a YAML (.yaml/.yml), TOML (.toml) or JSON (.json) mapping."""
    path = Path(path)
    if not path.is_file():
        raise ConfigFileError(f"config file {path} does not exist")
    text = path.read_text()
    try:
        if path.suffix == ".toml":
            data = tomllib.loads(text)
        elif path.suffix in (".yaml", ".yml"):
            data = yaml.safe_load(text) or {}
        elif path.suffix == ".json":
            data = json.loads(text)
        else:
            raise ConfigFileError(f"config file {path}: use a .yaml, .yml, .toml or .json file")
    except (tomllib.TOMLDecodeError, yaml.YAMLError, json.JSONDecodeError) as exc:
        raise ConfigFileError(f"config file {path} is not valid: {exc}") from exc
    if not isinstance(data, dict):
        raise ConfigFileError(f"config file {path} must hold a mapping of option names to values")
    return data


def _option_names(command) -> dict[str, str]:
    """Accepted config keys (param name, or a long flag without dashes, with _ for -) -> param name."""
    names: dict[str, str] = {}
    for param in command.params:
        if param.name is None or param.name == "config":
            continue
        names[param.name] = param.name
        for opt in getattr(param, "opts", []):
            if opt.startswith("--"):
                names[opt[2:].replace("-", "_")] = param.name
    return names


def apply_config_file(ctx: typer.Context, _param, value: Optional[Path]) -> Optional[Path]:
    if value is None:
        return value
    data = read_config_file(value)
    accepted = _option_names(ctx.command)
    try:
        flat = flatten_sections(data, accepted, f"config file {value}")
    except ValueError as exc:
        raise ConfigFileError(f"{exc} (for '{ctx.command_path}')") from None
    defaults = dict(ctx.default_map or {})
    for name, (key, val) in flat.items():
        param = next(p for p in ctx.command.params if p.name == accepted[name])
        try:
            # multi-value options accept a YAML list
            if param.multiple and not isinstance(val, (list, tuple)):
                val = [val]
            param.process_value(ctx, val)  # type conversion, as for a flag; core/validate.py checks ranges
        except typer.BadParameter as exc:
            raise ConfigFileError(f"config file {value}: key {key!r}: {exc.message}") from exc
        defaults[param.name] = val
    ctx.default_map = defaults
    return value


ConfigOption = Annotated[
    Optional[Path],
    typer.Option("--config", help="YAML, TOML or JSON file of option values (keys are the option names, flat or "
                                  "in sections like sgm: {block_size: 7}); flags override it.",
                 is_eager=True, callback=apply_config_file, exists=False),
]
