"""Every verb's options, generated from its typed config dataclasses (the single source of truth).

Each leaf field of a (nested) dataclass becomes one option: ``sgm.block_size`` becomes
``--sgm-block-size`` (parameter ``sgm_block_size``) with the dataclass default and, as help, the
field's ``metadata["help"]``, else its ``#:`` comment lines, else its trailing ``# comment``.
Values on the command line: tuples ``A,B`` (``WxH`` for numbers too), dicts ``KEY=VALUE,...``,
lists by repeating the flag, bools ``--x/--no-x``. A ``--config FILE`` takes the same names as
keys, flat (``sgm-block-size: 7``) or in sections (``sgm: {block_size: 7}``).

    @app.command()
    @options_from(RenderConfig)
    def render(cfg: RenderConfig, config: ConfigOption = None): ...

The decorated function's first parameters receive the built dataclasses; its other parameters
stay ordinary typer options (the short list of CLI-only options such as ``--config``).
"""

from __future__ import annotations

import ast
import dataclasses
import functools
import inspect
import io
import re
import textwrap
import tokenize
import types
import typing
from pathlib import Path
from typing import Annotated, Any, Callable, Collection, Mapping, Optional, Sequence

import typer

from .exits import FieldValueError
from .validate import constraint_text, field_constraints

#: ``ctx.meta`` key of the command line's words as typed (set by the CLI's root group), so an
#: error names the flag the user wrote rather than another alias of it
ARGS_KEY = "depthcur.args"


@dataclasses.dataclass(frozen=True)
class FieldOption:
    """One leaf field of a config dataclass and the command-line option it becomes."""

    path: tuple[str, ...]          # ("sgm", "block_size")
    annotation: Any                # the resolved field type
    default: Any                   # dataclasses.MISSING: required
    help: str
    #: the field's metadata: ``help``; ``parse`` (its own converter, e.g. render's "WIDTHxHEIGHT");
    #: the constraints that ``core/validate.py`` checks when the config is built (``min``, ``max``,
    #: ``above``, ``odd``, ``ordered``, ``choices``, ...); ``argument`` (positional)
    metadata: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    #: the help panel of a nested section's options (None: the command's main panel)
    panel: Optional[str] = None
    #: the constraints its dataclass declares for it (``core/validate.py``), base classes' included
    constraints: Mapping[str, Any] = dataclasses.field(default_factory=dict)

    @property
    def parse(self) -> Optional[Callable[[Any], Any]]:
        return self.metadata.get("parse")

    @property
    def name(self) -> str:
        return "_".join(self.path)

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")

    @property
    def required(self) -> bool:
        return self.default is dataclasses.MISSING

    def convert(self, value: Any) -> Any:
        """A value from a file or a flag's text, as the field's type."""
        return (self.parse or converter(self.annotation))(value)


# ---------------------------------------------------------------- fields of a dataclass


def is_section(annotation: Any) -> bool:
    return isinstance(annotation, type) and dataclasses.is_dataclass(annotation)


def field_options(cls: type, prefix: tuple[str, ...] = (), defaults: Any = None,
                  panel: str | None = None) -> list[FieldOption]:
    """The leaf fields of ``cls``, nested dataclasses flattened with their field name as prefix."""
    hints = typing.get_type_hints(cls)
    helps = field_help(cls)
    options: list[FieldOption] = []
    for f in dataclasses.fields(cls):
        if not f.init:
            continue
        default = _field_default(f) if defaults is None else getattr(defaults, f.name)
        if is_section(hints[f.name]):
            path = prefix + (f.name,)
            options += field_options(hints[f.name], path, default, _panel_title(path, hints[f.name]))
            continue
        options.append(FieldOption(prefix + (f.name,), hints[f.name], default,
                                   f.metadata.get("help") or helps.get(f.name, ""), f.metadata, panel,
                                   field_constraints(cls, f.name)))
    return options


def _panel_title(path: tuple[str, ...], section: type) -> str:
    """``--sgm-*: <the section class's docstring summary>``."""
    title = f"--{'-'.join(path).replace('_', '-')}-*"
    doc = inspect.getdoc(section) or ""
    if not doc or doc.startswith(section.__name__ + "("):   # none, or dataclass's generated signature
        return title
    return f"{title}: {doc.splitlines()[0].rstrip('.')}"


def _field_default(f: dataclasses.Field) -> Any:
    if f.default_factory is not dataclasses.MISSING:
        return f.default_factory()
    return f.default


@functools.cache
def field_help(cls: type) -> dict[str, str]:
    """Help of each field from the source: its ``#:`` lines above, else its trailing comment."""
    helps: dict[str, str] = {}
    for klass in cls.__mro__:
        if dataclasses.is_dataclass(klass):
            for name, text in _comments_of(klass).items():
                if text:
                    helps.setdefault(name, text)
    return helps


def _comments_of(klass: type) -> dict[str, str]:
    try:
        source = textwrap.dedent(inspect.getsource(klass))
    except (OSError, TypeError):
        return {}
    full_line: dict[int, str] = {}
    trailing: dict[int, str] = {}
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type == tokenize.COMMENT:
            own_line = token.line.strip().startswith("#")
            (full_line if own_line else trailing)[token.start[0]] = token.string
    body = next(node for node in ast.parse(source).body if isinstance(node, ast.ClassDef)).body
    helps = {}
    for node in body:
        if not (isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name)):
            continue
        above, line = [], node.lineno - 1
        while full_line.get(line, "").startswith("#:"):
            above.insert(0, full_line[line][2:].strip())
            line -= 1
        after = [trailing[n].lstrip("#").strip() for n in range(node.lineno, node.end_lineno + 1) if n in trailing]
        helps[node.target.id] = " ".join(above) or " ".join(after)
    return helps


# ---------------------------------------------------------------- types


def _optional_of(annotation: Any) -> Any:
    """``X | None`` -> X; anything else -> None."""
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        args = typing.get_args(annotation)
        rest = [a for a in args if a is not type(None)]
        if len(args) == 2 and len(rest) == 1:
            return rest[0]
    return None


def _scalar(kind: Any) -> Callable[[Any], Any]:
    if kind is bool:
        def to_bool(value: Any) -> bool:
            if isinstance(value, bool):
                return value
            text = str(value).lower()
            if text in ("true", "yes", "on", "1"):
                return True
            if text in ("false", "no", "off", "0"):
                return False
            raise ValueError(f"{value!r} is not true or false")
        return to_bool
    if kind is Any:
        return lambda value: _yaml_scalar(value) if isinstance(value, str) else value
    if kind in (int, float, str, Path) or (isinstance(kind, type) and issubclass(kind, Path)):
        def to_kind(value: Any) -> Any:
            if kind is int and isinstance(value, float) and not value.is_integer():
                raise ValueError(f"{value!r} is not an integer")
            if kind in (int, float) and isinstance(value, bool):
                raise ValueError(f"{value!r} is not a number")
            return kind(value)
        return to_kind
    return kind


def _yaml_scalar(text: str) -> Any:
    import yaml

    return yaml.safe_load(text)


def converter(annotation: Any) -> Callable[[Any], Any]:
    """value (text, or what YAML/TOML/JSON hold) -> the annotated type; ValueError names the problem."""
    inner = _optional_of(annotation)
    if inner is not None:
        convert_inner = converter(inner)
        return lambda value: None if value is None or value == "" else convert_inner(value)
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is tuple:
        return _tuple_converter(args)
    if origin is dict:
        return _dict_converter(args)
    if origin is list:
        item = converter(args[0]) if args else (lambda v: v)
        return lambda value: [item(v) for v in ([value] if isinstance(value, (str, Path)) else value)]
    return _scalar(annotation)


def _tuple_converter(args: tuple) -> Callable[[Any], tuple]:
    variadic = len(args) == 2 and args[1] is Ellipsis
    kinds = (args[0],) if variadic else args
    numeric = all(k in (int, float) for k in kinds)

    def to_tuple(value: Any) -> tuple:
        if isinstance(value, str):
            parts = [p.strip() for p in re.split(r"[,x]" if numeric else ",", value.strip()) if p.strip()]
        elif isinstance(value, (list, tuple)):
            parts = list(value)
        else:
            raise ValueError(f"{value!r} is not a list of values")
        if not variadic and len(parts) != len(kinds):
            raise ValueError(f"{value!r}: give {len(kinds)} values, like {','.join(_example(k) for k in kinds)}")
        return tuple(_scalar(kind)(part) for kind, part in zip(kinds * len(parts) if variadic else kinds, parts))
    return to_tuple


def _dict_converter(args: tuple) -> Callable[[Any], dict]:
    to_value = _scalar(args[1] if len(args) == 2 else Any)

    def to_dict(value: Any) -> dict:
        if isinstance(value, str):
            pairs = [item.split("=", 1) for item in value.split(",") if item.strip()]
            if any(len(pair) != 2 for pair in pairs):
                raise ValueError(f"{value!r}: give KEY=VALUE pairs separated by commas")
            value = {k.strip(): v.strip() for k, v in pairs}
        if not isinstance(value, Mapping):
            raise ValueError(f"{value!r} is not a mapping of KEY=VALUE")
        return {str(k): to_value(v) for k, v in value.items()}
    return to_dict


def _example(kind: Any) -> str:
    return {int: "1", float: "0.5"}.get(kind, "A")


def _metavar(annotation: Any) -> str:
    annotation = _optional_of(annotation) or annotation
    args = typing.get_args(annotation)
    if typing.get_origin(annotation) is dict:
        return "KEY=VALUE,..."
    names = [getattr(k, "__name__", "TEXT").upper() for k in args if k is not Ellipsis]
    return f"{names[0]},..." if Ellipsis in args else ",".join(names)


def format_default(value: Any) -> str:
    if isinstance(value, tuple):
        return ",".join(str(v) for v in value)
    if isinstance(value, dict):
        return ",".join(f"{k}={v}" for k, v in value.items())
    return str(value)


# ---------------------------------------------------------------- typer parameters


def typer_parameter(option: FieldOption, aliases: Sequence[str] = (), *, default_note: str | None = None
                    ) -> inspect.Parameter:
    """The typer option of one field; ``default_note`` replaces the shown default."""
    kind = _optional_of(option.annotation) or option.annotation
    origin = typing.get_origin(kind)
    settings: dict[str, Any] = {"help": _escape_markup(help_with_constraints(option)) or None,
                                "rich_help_panel": option.panel}
    if default_note is not None:
        settings["show_default"] = default_note
    if kind is bool:
        flag = option.flag[2:]
        decls = (f"--{flag}/--no-{flag}", *aliases)
        annotation = bool
    elif origin in (tuple, dict) or option.parse is not None:
        decls = (option.flag, *aliases)
        annotation = Optional[str] if _optional_of(option.annotation) else str
        settings.update(parser=option.convert, metavar=_metavar(option.annotation))
        if default_note is None and not option.required and option.default is not None:
            settings["show_default"] = format_default(option.default) or False
    else:
        decls = (option.flag, *aliases)
        annotation = typing.List[typing.get_args(kind)[0]] if origin is list else option.annotation
    default = ... if option.required else option.default
    if option.metadata.get("argument"):
        parameter = typer.Argument(**settings)
    else:
        parameter = typer.Option(*decls, **settings)
    return inspect.Parameter(option.name, inspect.Parameter.KEYWORD_ONLY, default=default,
                             annotation=Annotated[annotation, parameter])


def help_with_constraints(option: FieldOption) -> str:
    """The field's help, then its declared constraints in brackets (``[> 0]``, ``[0 .. 1]``, ``[odd, >= 1]``),
    so ``--help`` shows what the checks will refuse."""
    other = option.constraints.get("above_field")
    other_flag = "--" + "-".join(option.path[:-1] + (other,)).replace("_", "-") if other else None
    rules = constraint_text(option.constraints, other_flag)
    return f"{option.help} [{rules}]".strip() if rules else option.help


def _escape_markup(text: str) -> str:
    """Keep ``[a-z0-9_-]`` in help text: typer renders rich markup."""
    return text.replace("[", "\\[")


class OptionsError(typer.BadParameter):
    """A config dataclass refused the given values (its ``__post_init__`` validation).

    ``todo`` says what to give instead, when the field's constraint says it."""

    def __init__(self, message: str, param_hint: str | None = None, todo: str | None = None):
        super().__init__(message, param_hint=param_hint)
        self.todo = todo


def build(cls: type, values: Mapping[str, Any], base: Any = None, prefix: tuple[str, ...] = ()) -> Any:
    """The dataclass from option values by name; with ``base``, the given names replace base's values."""
    hints = typing.get_type_hints(cls)
    kwargs = {}
    for f in dataclasses.fields(cls):
        if not f.init:
            continue
        path = prefix + (f.name,)
        name = "_".join(path)
        if is_section(hints[f.name]):
            kwargs[f.name] = build(hints[f.name], values, None if base is None else getattr(base, f.name), path)
        elif name in values:
            kwargs[f.name] = values[name]
    try:
        return cls(**kwargs) if base is None else dataclasses.replace(base, **kwargs)
    except FieldValueError as exc:          # name the option: sgm.block_size -> sgm_block_size
        if not prefix:
            raise
        other = None if exc.other is None else "_".join(prefix + (exc.other,))
        raise FieldValueError("_".join(prefix + (exc.field,)), exc.what, exc.todo, other) from None


def options_from(*classes: type, aliases: Mapping[str, str | Sequence[str]] | None = None,
                 bases: Mapping[type, tuple[str | Sequence[str], Callable[..., Any]]] | None = None,
                 ) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Decorator: the command's options are the fields of ``classes``; the function's first
    ``len(classes)`` parameters receive the built dataclasses, the rest stay as they are.

    ``aliases`` maps an option name to more flags (kept for the command lines people already use).
    ``bases`` maps a class to ``(option name or names, function)``: the function of those options'
    values returns the instance to start from (train's ``--preset`` and ``--recipe``); then only the values given in a
    file or on the command line replace the base's, and the help says where the defaults come from.
    """
    aliases = {name: [flags] if isinstance(flags, str) else list(flags) for name, flags in (aliases or {}).items()}
    bases = dict(bases or {})
    groups = [(cls, field_options(cls)) for cls in classes]
    names = [option.name for _, options in groups for option in options]
    clashes = {name for name in names if names.count(name) > 1}
    unknown = (set(aliases) | {k for key, _ in bases.values() for k in _base_keys(key)}) - set(names)
    if clashes or unknown:
        raise TypeError(f"options of {[c.__name__ for c in classes]}: clashing names {sorted(clashes)}, "
                        f"aliases or bases for no option {sorted(unknown)}")

    def default_note(cls: type, option: FieldOption) -> str | None:
        keys = _base_keys(bases[cls][0]) if cls in bases else ()
        return None if not keys or option.name in keys else "from " + "/".join(f"--{k.replace('_', '-')}" for k in keys)

    def decorate(func: Callable[..., Any]) -> Callable[..., Any]:
        parameters = list(inspect.signature(func).parameters.values())
        if len(parameters) < len(classes) or any(p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD) for p in parameters):
            raise TypeError(f"{func.__name__} needs one named parameter per class of {[c.__name__ for c in classes]}")
        own = parameters[len(classes):]
        own = [p.replace(kind=inspect.Parameter.KEYWORD_ONLY, annotation=_resolve(p.annotation, func)) for p in own]
        generated = [typer_parameter(option, aliases.get(option.name, ()), default_note=default_note(cls, option))
                     for cls, options in groups for option in options]
        context = inspect.Parameter("options_context", inspect.Parameter.KEYWORD_ONLY, annotation=typer.Context)

        @functools.wraps(func)
        def command(**values: Any) -> Any:
            ctx = values.pop(context.name)
            passed = {p.name: values.pop(p.name) for p in own}
            built = [_build_given(cls, options, values, ctx, bases.get(cls), aliases) for cls, options in groups]
            return func(*built, **passed)

        parameters = generated + own + [context]
        command.option_classes = classes                    # for tests and docs: what the options are
        command.field_options = [option for _, options in groups for option in options]
        command.__signature__ = inspect.Signature(parameters)
        command.__annotations__ = {p.name: p.annotation for p in parameters}
        del command.__wrapped__           # typer must see the generated signature, not func's
        return command
    return decorate


def _build_given(cls: type, options: list[FieldOption], values: dict[str, Any], ctx: typer.Context,
                 base: tuple[str | Sequence[str], Callable[..., Any]] | None, aliases: Mapping[str, list[str]]) -> Any:
    names = {option.name for option in options}
    try:
        if base is None:
            return build(cls, {n: v for n, v in values.items() if n in names})
        key, base_of = base
        given = {n: v for n, v in values.items() if n in names and ctx.get_parameter_source(n).name != "DEFAULT"}
        return build(cls, given, base=base_of(*(values[k] for k in _base_keys(key))))
    except FieldValueError as exc:
        by_name = {option.name: option for option in options}
        named = [exc.field] + ([exc.other] if exc.other else [])
        where = ", ".join(_where_given(by_name[name], aliases.get(name, []), ctx) if name in by_name else name
                          for name in named)
        raise OptionsError(exc.what, param_hint=where, todo=exc.todo) from None
    except (ValueError, TypeError) as exc:
        raise OptionsError(str(exc)) from None


def _base_keys(key: str | Sequence[str]) -> tuple[str, ...]:
    """The option name(s) whose values a base function takes, in its argument order."""
    return (key,) if isinstance(key, str) else tuple(key)


def _where_given(option: FieldOption, aliases: Sequence[str], ctx: typer.Context) -> str:
    """The flag the user typed for ``option``, or the config file it came from."""
    if ctx.get_parameter_source(option.name).name == "DEFAULT_MAP" and ctx.params.get("config"):
        return f"config file {ctx.params['config']}, key {option.name.replace('_', '-')}"
    flags = [option.flag, *aliases]
    typed = ctx.meta.get(ARGS_KEY, ())
    for flag in flags:
        if any(word == flag or word.startswith(flag + "=") for word in typed):
            return flag
    return "/".join(flags)


def _resolve(annotation: Any, func: Callable[..., Any]) -> Any:
    """Evaluate a string annotation (``from __future__ import annotations``) in the function's module."""
    if isinstance(annotation, str):
        return eval(annotation, func.__globals__)  # noqa: S307 - the module's own annotation text
    return annotation


# ---------------------------------------------------------------- config-file sections


def flatten_sections(data: Mapping[str, Any], names: Collection[str], where: str) -> dict[str, tuple[str, Any]]:
    """``{sgm: {block_size: 7}}`` -> ``{"sgm_block_size": ("sgm.block_size", 7)}``.

    Keys may use - or _. A mapping is a section when some name starts with its key; otherwise it is
    the value of the option of that name. Unknown keys raise ValueError naming ``where`` and the keys.
    """
    flat: dict[str, tuple[str, Any]] = {}
    unknown: list[str] = []

    def walk(mapping: Mapping[str, Any], prefix: str, shown_prefix: str) -> None:
        for key, value in mapping.items():
            name, shown = prefix + str(key).replace("-", "_"), shown_prefix + str(key)
            if isinstance(value, Mapping) and any(n.startswith(name + "_") for n in names):
                walk(value, name + "_", shown + ".")
            elif name in names:
                flat[name] = (shown, value)
            else:
                unknown.append(shown)

    walk(data, "", "")
    if unknown:
        raise ValueError(f"{where}: unknown key(s) {', '.join(unknown)}; known keys: {', '.join(sorted(names))}")
    return flat


def values_from_mapping(cls: type, data: Mapping[str, Any], where: str) -> dict[str, Any]:
    """Option values of ``cls`` from a (nested) mapping, converted to the field types."""
    options = {option.name: option for option in field_options(cls)}
    values = {}
    for name, (key, value) in flatten_sections(data, options, where).items():
        try:
            values[name] = options[name].convert(value)
        except (ValueError, TypeError) as exc:
            raise ValueError(f"{where}: key {key!r}: {exc}") from None
    return values
