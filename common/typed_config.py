"""Typed config trees from dataclasses: defaults < YAML file < `--set a.b=c`, strict keys and types, clear errors."""
from __future__ import annotations

import dataclasses
import difflib
import hashlib
import json
import typing
from pathlib import Path
from typing import Any

import yaml


class ConfigError(ValueError):
    """A config problem, named by its dotted key, raised before any job starts."""


def option(default: Any, help: str, choices: tuple | None = None, min: float | None = None,
           max: float | None = None):
    """A config field with its help text and optional allowed values or numeric range."""
    meta = {"help": help, "choices": choices, "min": min, "max": max}
    if isinstance(default, (list, dict)):
        return dataclasses.field(default_factory=lambda: type(default)(default), metadata=meta)
    return dataclasses.field(default=default, metadata=meta)


def _fields(cls) -> dict[str, dataclasses.Field]:
    return {f.name: f for f in dataclasses.fields(cls)}


def _hints(cls) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _unknown(key: str, known: typing.Iterable[str], where: str) -> ConfigError:
    close = difflib.get_close_matches(key.rsplit(".", 1)[-1], list(known), n=1)
    hint = f" (did you mean '{close[0]}'?)" if close else f" (known keys: {', '.join(sorted(known))})"
    return ConfigError(f"unknown config key '{key}' in {where}{hint}")


def _coerce(value: Any, hint: Any, key: str, where: str) -> Any:
    """Check (and for --set strings, parse) one value against its declared type."""
    origin = typing.get_origin(hint)
    bad = lambda expected: ConfigError(  # noqa: E731
        f"config key '{key}' expects {expected}, got {value!r} ({type(value).__name__}) from {where}")
    if dataclasses.is_dataclass(hint):
        raise bad("a section (mapping)")
    if hint is bool:
        if isinstance(value, bool):
            return value
        raise bad("true or false")
    if hint is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        raise bad("an integer")
    if hint is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        raise bad("a number")
    if hint is str:
        if isinstance(value, str):
            return value
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return str(value)
        raise bad("a string")
    if origin is list:
        (item,) = typing.get_args(hint)
        if isinstance(value, str):  # --set a.b=x,y,z
            value = [v.strip() for v in value.split(",") if v.strip()]
        if not isinstance(value, list):
            raise bad("a list")
        return [_coerce(v, item, f"{key}[{i}]", where) for i, v in enumerate(value)]
    if origin is dict:
        _, item = typing.get_args(hint)
        if not isinstance(value, dict):
            raise bad("a mapping")
        return {str(k): _coerce(v, item, f"{key}.{k}", where) for k, v in value.items()}
    raise ConfigError(f"config key '{key}' has an unsupported declared type {hint}")


def _allowed(value, choices) -> str:
    if len(choices) <= 12:
        return f"must be one of {list(choices)}"
    by_lower = {str(c).lower(): c for c in choices}
    close = difflib.get_close_matches(str(value).lower(), list(by_lower), n=1)
    hint = f" (did you mean {by_lower[close[0]]!r}?)" if close else ""
    return f"not one of the {len(choices)} allowed values{hint}"


def _section_items(hint: Any):
    """The section class of a `dict[str, Section]` field (named sections, e.g. one per task), else None."""
    if typing.get_origin(hint) is dict:
        item = typing.get_args(hint)[1]
        if dataclasses.is_dataclass(item):
            return item
    return None


def _check_bounds(obj, prefix: str) -> None:
    hints = _hints(type(obj))
    for f in dataclasses.fields(obj):
        value, meta, key = getattr(obj, f.name), f.metadata, f"{prefix}{f.name}"
        if dataclasses.is_dataclass(value):
            _check_bounds(value, key + ".")
            continue
        if _section_items(hints[f.name]) is not None:
            for name, section in value.items():
                _check_bounds(section, f"{key}.{name}.")
            continue
        values = list(value) if isinstance(value, (list, dict)) else [value]  # a mapping is checked by its keys
        if meta.get("choices") is not None:
            for v in values:
                if v not in meta["choices"]:
                    raise ConfigError(f"config key '{key}' got {v!r}: {_allowed(v, meta['choices'])}")
        for v in (list(value.values()) if isinstance(value, dict) else values):
            if isinstance(v, (int, float)) and not isinstance(v, bool):
                if meta.get("min") is not None and v < meta["min"]:
                    raise ConfigError(f"config key '{key}' must be >= {meta['min']}, got {v!r}")
                if meta.get("max") is not None and v > meta["max"]:
                    raise ConfigError(f"config key '{key}' must be <= {meta['max']}, got {v!r}")


def _merge(obj, data: dict, prefix: str, where: str):
    """A copy of dataclass `obj` with the mapping `data` laid over it, checked key by key."""
    if not isinstance(data, dict):
        raise ConfigError(f"config section '{prefix.rstrip('.') or '<root>'}' must be a mapping in {where}")
    fields, hints, changes = _fields(type(obj)), _hints(type(obj)), {}
    for name, value in data.items():
        key = f"{prefix}{name}"
        if name not in fields:
            raise _unknown(key, fields, where)
        current = getattr(obj, name)
        if dataclasses.is_dataclass(current):
            changes[name] = _merge(current, value, key + ".", where)
        elif (item := _section_items(hints[name])) is not None:
            changes[name] = _merge_named(current, item, value, key, where)
        else:
            changes[name] = _coerce(value, hints[name], key, where)
    return dataclasses.replace(obj, **changes)


def _merge_named(current: dict, item, data, key: str, where: str) -> dict:
    """Named sections (`dict[str, Section]`): each given name is laid over its current section (or the section's
    defaults when the name is new), so `--set tasks.x.weight=2` changes x and keeps every other section."""
    if not isinstance(data, dict):
        raise ConfigError(f"config key '{key}' expects a mapping of named sections, got {data!r} from {where}")
    out = dict(current)
    for name, section in data.items():
        name = str(name)
        if not name:
            raise ConfigError(f"config key '{key}' has an empty section name in {where}")
        out[name] = _merge(current.get(name, item()), section if section is not None else {}, f"{key}.{name}.",
                           where)
    return out


def parse_override(text: str) -> dict:
    """`a.b.c=value` -> {'a': {'b': {'c': value}}}, the value read as a YAML scalar (`8`, `true`, `0.5`, `x`)."""
    if "=" not in text:
        raise ConfigError(f"--set expects key=value, got {text!r}")
    key, raw = text.split("=", 1)
    key = key.strip()
    if not key or any(not part for part in key.split(".")):
        raise ConfigError(f"--set has an empty key in {text!r}")
    try:
        value = yaml.safe_load(raw) if raw.strip() else ""
    except yaml.YAMLError:
        value = raw
    if isinstance(value, (dict, list)) and not raw.strip().startswith(("[", "{")):
        value = raw
    for part in reversed(key.split(".")):
        value = {part: value}
    return value


def load(cls, yaml_path: str | Path | None = None, overrides: typing.Sequence[str] = (),
         base: dict | None = None):
    """Defaults of `cls`, then `base` (programmatic), then the YAML file, then each `--set`, all checked."""
    cfg = cls()
    if base:
        cfg = _merge(cfg, base, "", "arguments")
    if yaml_path:
        try:
            data = yaml.safe_load(Path(yaml_path).read_text()) or {}
        except FileNotFoundError:
            raise ConfigError(f"config file not found: {yaml_path}") from None
        except yaml.YAMLError as e:
            raise ConfigError(f"config file {yaml_path} is not valid YAML: {e}") from None
        cfg = _merge(cfg, data, "", f"file {yaml_path}")
    for text in overrides:
        cfg = _merge(cfg, parse_override(text), "", f"--set {text}")
    _check_bounds(cfg, "")
    return cfg


def to_dict(cfg) -> dict:
    return dataclasses.asdict(cfg)


def to_yaml(cfg) -> str:
    return yaml.safe_dump(to_dict(cfg), sort_keys=False)


def fingerprint_view(part: Any) -> Any:
    """`part` as plain JSON-able data (dataclasses become dicts, also inside dicts)."""
    if dataclasses.is_dataclass(part):
        return to_dict(part)
    if isinstance(part, dict):
        return {k: fingerprint_view(v) for k, v in part.items()}
    return part


def fingerprint(*parts: Any) -> str:
    """sha256 of the canonical JSON of `parts`: what a rerun compares to skip work."""
    norm = [fingerprint_view(p) for p in parts]
    return hashlib.sha256(json.dumps(norm, sort_keys=True, default=str).encode()).hexdigest()


def describe(cls, prefix: str = "") -> list[tuple[str, str, str]]:
    """(key, default, help) for every leaf option, for `--help-config` and the README."""
    rows = []
    obj = cls()
    for f in dataclasses.fields(cls):
        value = getattr(obj, f.name)
        if dataclasses.is_dataclass(value):
            rows += describe(type(value), f"{prefix}{f.name}.")
            continue
        rows.append((f"{prefix}{f.name}", json.dumps(fingerprint_view(value)), f.metadata.get("help", "")))
        if (item := _section_items(_hints(cls)[f.name])) is not None:
            rows += describe(item, f"{prefix}{f.name}.<name>.")
    return rows
