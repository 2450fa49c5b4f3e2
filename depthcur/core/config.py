"""``--config FILE`` for every verb: YAML or TOML whose keys are the verb's option names.

Values from the file become the command's defaults, so flags given on the command line
override them. Unknown keys and unreadable files are errors that name the file and key.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Annotated, Any, Optional

import typer
import yaml


class ConfigFileError(typer.BadParameter):
    pass


def read_config_file(path: str | Path) -> dict[str, Any]:
    """Parse a YAML (.yaml/.yml) or TOML (.toml) mapping."""
    path = Path(path)
    if not path.is_file():
        raise ConfigFileError(f"config file {path} does not exist")
    text = path.read_text()
    try:
        if path.suffix == ".toml":
            data = tomllib.loads(text)
        elif path.suffix in (".yaml", ".yml"):
            data = yaml.safe_load(text) or {}
        else:
            raise ConfigFileError(f"config file {path}: use a .yaml, .yml or .toml file")
    except (tomllib.TOMLDecodeError, yaml.YAMLError) as exc:
        raise ConfigFileError(f"config file {path} is not valid: {exc}") from exc
    if not isinstance(data, dict):
        raise ConfigFileError(f"config file {path} must hold a mapping of option names to values")
    return data


def _option_names(command) -> dict[str, str]:
    """Accepted config keys (param name, or the long flag without dashes) -> param name."""
    names: dict[str, str] = {}
    for param in command.params:
        if param.name is None or param.name == "config":
            continue
        names[param.name] = param.name
        for opt in getattr(param, "opts", []):
            if opt.startswith("--"):
                names[opt[2:]] = param.name
                names[opt[2:].replace("-", "_")] = param.name
    return names


def apply_config_file(ctx: typer.Context, _param, value: Optional[Path]) -> Optional[Path]:
    if value is None:
        return value
    data = read_config_file(value)
    accepted = _option_names(ctx.command)
    unknown = sorted(k for k in data if k not in accepted)
    if unknown:
        raise ConfigFileError(f"config file {value}: unknown key(s) {', '.join(unknown)} for "
                              f"'{ctx.command_path}'; known keys: {', '.join(sorted(set(accepted.values())))}")
    defaults = dict(ctx.default_map or {})
    for key, val in data.items():
        param_name = accepted[key]
        param = next(p for p in ctx.command.params if p.name == param_name)
        try:
            # multi-value options accept a YAML list
            if param.multiple and not isinstance(val, (list, tuple)):
                val = [val]
            param.process_value(ctx, val)  # type conversion and range checks, as for a flag
        except typer.BadParameter as exc:
            raise ConfigFileError(f"config file {value}: key {key!r}: {exc.message}") from exc
        defaults[param_name] = val
    ctx.default_map = defaults
    return value


ConfigOption = Annotated[
    Optional[Path],
    typer.Option("--config", help="YAML or TOML file of option values; flags override it.",
                 is_eager=True, callback=apply_config_file, exists=False),
]
