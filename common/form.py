"""Trigger-form checks every DAG shares: params from typed-config options, value, path and run-name checks."""
from __future__ import annotations

import dataclasses
import os
import re
import typing
from pathlib import Path

ROOTS_ENV = "PIPELINE_ALLOWED_ROOTS"
# characters refused in any path: shell syntax, globbing, quoting, Jinja braces, control characters
_BAD_PATH_CHARS = set(";&|$`<>(){}[]*?!#'\"\\~%^\n\r\t\0")
_RUN_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")


class ParamError(ValueError):
    """A trigger value refused before anything runs; the message names the param and the reason."""


def _field(config_cls: type, key: str) -> tuple[dataclasses.Field, typing.Any]:
    cls: typing.Any = config_cls
    parts = key.split(".")
    for part in parts[:-1]:
        cls = typing.get_type_hints(cls)[part]
    fields = {f.name: f for f in dataclasses.fields(cls)}
    return fields[parts[-1]], typing.get_type_hints(cls)[parts[-1]]


def _default(f: dataclasses.Field):
    return f.default_factory() if f.default is dataclasses.MISSING else f.default  # type: ignore[misc]


def option_schema(config_cls: type, key: str) -> dict:
    """The JSON-schema dict (type, enum, range, help, default) of one typed-config option, by its dotted key."""
    f, hint = _field(config_cls, key)
    meta = f.metadata
    if typing.get_origin(hint) is list:
        item: dict = {"type": "string"}
        if meta.get("choices"):
            item["enum"] = list(meta["choices"])
        schema: dict = {"type": "array", "items": item, "uniqueItems": True}
    else:
        schema = {"type": {int: "integer", float: "number", bool: "boolean", str: "string"}[hint]}
        if meta.get("choices"):
            schema["enum"] = list(meta["choices"])
        if meta.get("min") is not None:
            schema["minimum"] = meta["min"]
        if meta.get("max") is not None:
            schema["maximum"] = meta["max"]
    return {"default": _default(f), "description": f"{key}: {meta['help']}", **schema}


def allowed_roots(env: typing.Mapping[str, str] | None = None) -> list[Path]:
    """Folders inputs and outputs must lie under: ${PIPELINE_ALLOWED_ROOTS}, separated by os.pathsep."""
    raw = (os.environ if env is None else env).get(ROOTS_ENV, "")
    roots = [Path(os.path.realpath(r)) for r in raw.split(os.pathsep) if r.strip()]
    if not roots:
        raise ParamError(f"no allowed roots: set {ROOTS_ENV} to the folders the pipeline may read and write")
    return roots


def check_path(name: str, value: typing.Any, roots: typing.Sequence[Path]) -> str:
    """An absolute local path with no shell or template syntax whose real location is under one of `roots`."""
    if not isinstance(value, str) or not value:
        raise ParamError(f"param '{name}': expected a non-empty path string, got {value!r}")
    bad = sorted({c for c in value if c in _BAD_PATH_CHARS or not c.isprintable()})
    if bad:
        raise ParamError(f"param '{name}': {value!r} contains {''.join(bad)!r}, which is not allowed in a path")
    if not value.startswith("/"):
        raise ParamError(f"param '{name}': {value!r} is not an absolute path")
    real = Path(os.path.realpath(value))
    if not any(real == r or r in real.parents for r in roots):
        raise ParamError(f"param '{name}': {value!r} is outside the allowed roots "
                         f"({', '.join(map(str, roots))}; set {ROOTS_ENV})")
    return str(real)


def check_value(name: str, value: typing.Any, schema: dict) -> typing.Any:
    kind = schema["type"]
    if kind == "array":
        if not isinstance(value, list):
            raise ParamError(f"param '{name}': expected a list, got {value!r}")
        if len(set(map(str, value))) != len(value):
            raise ParamError(f"param '{name}': repeated items in {value!r}")
        return [check_value(f"{name}[{i}]", v, schema["items"]) for i, v in enumerate(value)]
    if kind == "integer" and (isinstance(value, bool) or not isinstance(value, int)):
        raise ParamError(f"param '{name}': expected an integer, got {value!r}")
    if kind == "number":
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ParamError(f"param '{name}': expected a number, got {value!r}")
        value = float(value)
    if kind == "string" and not isinstance(value, str):
        raise ParamError(f"param '{name}': expected a string, got {value!r}")
    if "enum" in schema and value not in schema["enum"]:
        raise ParamError(f"param '{name}': {value!r} is not one of the allowed values")
    if "minimum" in schema and value < schema["minimum"]:
        raise ParamError(f"param '{name}': {value!r} is below the minimum {schema['minimum']}")
    if "maximum" in schema and value > schema["maximum"]:
        raise ParamError(f"param '{name}': {value!r} is above the maximum {schema['maximum']}")
    return value


def with_defaults(conf: typing.Mapping[str, typing.Any], schemas: dict[str, dict]) -> dict[str, typing.Any]:
    """Every param of `schemas`: the conf's value, else the default; a param the form does not have is refused."""
    unknown = sorted(set(conf) - set(schemas))
    if unknown:
        raise ParamError(f"unknown params {unknown} (known: {', '.join(schemas)})")
    return {name: conf.get(name, s["default"]) for name, s in schemas.items()}


def check_run_name(run_name: typing.Any) -> str:
    """The `run_name` param: empty, or one path-safe folder name."""
    if not isinstance(run_name, str) or (run_name and not _RUN_NAME.fullmatch(run_name)):
        raise ParamError(f"param 'run_name': {run_name!r} must be 1-64 letters, digits, '.', '_' or '-' "
                         f"(not starting with '.', '_' or '-')")
    return run_name


def run_folder_name(run_name: str, run_id: str) -> str:
    """The run's folder: run_name, else the Airflow run id made path-safe."""
    return run_name or re.sub(r"[^A-Za-z0-9._-]", "_", run_id).lstrip("._-") or "run"
