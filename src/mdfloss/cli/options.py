"""Parsing shared by several commands: ``--param KEY=VALUE`` and ``--eval-set NAME=SET``."""

from __future__ import annotations

import json
from typing import Any

from mdfloss.common.errors import InvalidInputError


def parse_params(items: tuple[str, ...], option: str = "--param") -> dict[str, Any]:
    """``("sigma=1.5", "mode=fast")`` -> ``{"sigma": 1.5, "mode": "fast"}`` (values read as JSON when they parse)."""
    params: dict[str, Any] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.isidentifier():
            raise InvalidInputError(f"{option}: expected KEY=VALUE, got {item!r}")
        try:
            params[key] = json.loads(value)
        except ValueError:
            params[key] = value
    return params


def parse_named_sets(items: tuple[str, ...], option: str = "--eval-set") -> dict[str, str] | None:
    """``("Blur=/data/blur", "Set14")`` -> ``{"Blur": "/data/blur", "Set14": "Set14"}``; None when empty.

    A bare name is a named set; ``NAME=DIR`` a folder (or ``DEGRADED_DIR:CLEAN_DIR``) shown under NAME.
    """
    if not items:
        return None
    out: dict[str, str] = {}
    for item in items:
        name, sep, where = item.partition("=")
        name = name.strip()
        if sep and (not name or not where):
            raise InvalidInputError(f"{option}: expected NAME=DIR or a named set, got {item!r}")
        if not sep and ("/" in item or ":" in item):
            raise InvalidInputError(f"{option}: give a folder a name, as NAME={item} (the name labels the report)")
        if name in out:
            raise InvalidInputError(f"{option}: the name {name!r} is given twice")
        out[name] = where if sep else name
    return out


def _load_config(ctx, param, value):
    """``--config FILE.yaml``: the file's keys become the command's defaults, so flags on the command line win."""
    if value is None:
        return None
    import click

    try:
        import yaml
    except ImportError:
        raise InvalidInputError("--config: reading YAML needs PyYAML; pip install pyyaml") from None
    try:
        with open(value, encoding="utf-8") as f:
            data = yaml.safe_load(f)
    except OSError as exc:
        raise InvalidInputError(f"--config: cannot read '{value}' ({exc.strerror})") from None
    except yaml.YAMLError as exc:
        where = getattr(exc, "problem_mark", None)
        at = f" at line {where.line + 1}" if where is not None else ""
        raise InvalidInputError(f"--config: '{value}' is not valid YAML{at}") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise InvalidInputError(f"--config: '{value}' must hold a mapping of option names to values")
    # Keys are the options' long names without '--' (dashes or underscores), e.g. train-set or train_set.
    params = {opt[2:].replace("-", "_"): p for p in ctx.command.params if isinstance(p, click.Option)
              and p.name != "config" for opt in p.opts if opt.startswith("--")}
    defaults = {}
    for key, item in data.items():
        option = params.get(str(key).replace("-", "_"))
        if option is None:
            known = ", ".join(sorted(n.replace("_", "-") for n in params))
            raise InvalidInputError(f"--config: unknown key {key!r} in '{value}'; the keys are the options: {known}")
        name = option.name
        items = item if option.multiple and isinstance(item, list) else [item]
        try:
            converted = [option.type.convert(v, option, ctx) for v in items]
        except click.BadParameter as exc:
            raise InvalidInputError(f"--config: key {key!r} in '{value}': {exc.format_message()}") from None
        if option.is_flag and not isinstance(item, bool):
            raise InvalidInputError(f"--config: key {key!r} in '{value}': expected true or false, got {item!r}")
        defaults[name] = converted if option.multiple else converted[0]
    ctx.default_map = {**(ctx.default_map or {}), **defaults}
    return value


def config_option(command):
    """Add ``--config FILE.yaml`` to a click command (decorator; apply it after the options)."""
    import click

    return click.option("--config", type=click.Path(dir_okay=False), default=None, is_eager=True,
                        expose_value=False, callback=_load_config,
                        help="YAML file of option values (keys as the options without '--'); flags given on the "
                             "command line win.")(command)


def renamed_option(new: str, old: str, dest: str, **kwargs: Any):
    """The option ``new`` (``click.option(new, dest, **kwargs)``), still accepting its old spelling ``old`` for one
    release: given, it prints a deprecation note on stderr and fills ``dest``; both at once are refused."""
    import functools

    import click

    hidden = f"{dest}_old_spelling"

    def decorate(f):
        @functools.wraps(f)
        def wrapper(*args, **kw):
            value = kw.pop(hidden)
            if value is not None:
                if kw.get(dest) not in (None, kwargs.get("default")):
                    raise InvalidInputError(f"{old}: the old spelling of {new}; give {new} alone")
                click.echo(f"mdfloss: note: {old} is deprecated and goes in the next release; write {new}", err=True)
                kw[dest] = value
            return f(*args, **kw)

        wrapper = click.option(new, dest, **kwargs)(wrapper)
        return click.option(old, hidden, hidden=True, default=None, type=kwargs.get("type"))(wrapper)

    return decorate
