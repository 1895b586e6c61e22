"""Pydantic validation errors → one short line per problem, in words a job author uses.

``job.yaml: trainer.optimizer.lr: must be > 0 (got -1)`` instead of a Pydantic dump:
no "Input should be", no documentation URLs, a "did you mean" for unknown keys.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from cloudgd.fieldpaths import UnknownPathError, path_text, resolve, suggestion
from cloudgd.spec import JobSpec

MAX_PROBLEMS = 20
_QUOTED = re.compile(r"'([^']*)'")


def shown(value: Any) -> str:
    """A value as the user wrote it, kept short: ``-1``, ``'adm'``, ``a list``."""
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list | tuple):
        return "a list"
    if isinstance(value, str):
        text = value if len(value) <= 40 else value[:37] + "..."
        return repr(text)
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _number(value: Any) -> str:
    """``0.0`` → ``0``; other numbers as written."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _kind(value: Any) -> str:
    return shown(value) if isinstance(value, dict | list | tuple) or value is None else "text"


def _choices(error: ErrorDetails) -> list[str]:
    expected = str((error.get("ctx") or {}).get("expected", ""))
    return _QUOTED.findall(expected)


def _unknown_field(loc: Sequence[str | int], root: type[BaseModel]) -> str:
    name = str(loc[-1])
    try:
        fields = resolve(loc[:-1], root).fields
    except UnknownPathError:
        fields = []
    close = suggestion(name, fields)
    if close:
        return f"unknown field; did you mean {close!r}?"
    if fields and len(fields) <= 16:
        return f"unknown field (fields here: {', '.join(fields)})"
    return "unknown field"


def describe(error: ErrorDetails, root: type[BaseModel] = JobSpec) -> str:
    """The message part of one error (without file and path)."""
    kind, ctx, value = error["type"], error.get("ctx") or {}, error.get("input")
    got = f" (got {shown(value)})"
    bounds = {
        "greater_than": f"must be > {_number(ctx.get('gt'))}",
        "greater_than_equal": f"must be >= {_number(ctx.get('ge'))}",
        "less_than": f"must be < {_number(ctx.get('lt'))}",
        "less_than_equal": f"must be <= {_number(ctx.get('le'))}",
    }
    if kind in bounds:
        return bounds[kind] + got
    if kind == "missing":
        return "required field is missing"
    if kind == "extra_forbidden":
        return _unknown_field(error["loc"], root)
    if kind == "literal_error" or kind == "enum":
        options = _choices(error)
        close = suggestion(str(value), options) if isinstance(value, str) else None
        tip = f"; did you mean {close!r}?" if close else ""
        return f"must be one of {', '.join(options)}{got}{tip}"
    if kind in ("int_type", "int_parsing", "int_from_float"):
        return "must be a whole number" + got
    if kind in ("float_type", "float_parsing"):
        return "must be a number" + got
    if kind == "finite_number":
        return "must be a finite number" + got
    if kind in ("bool_type", "bool_parsing"):
        return "must be true or false" + got
    if kind == "string_type":
        quote = "; quote it" if isinstance(value, bool | int | float) else ""
        return f"must be text{got}{quote}"
    if kind == "dict_type":
        return f"must be a mapping (got {_kind(value)})"
    if kind in ("model_type", "model_attributes_type"):
        empty = "; remove the key to use the defaults" if value is None else ""
        return f"must be a mapping of fields (got {_kind(value)}){empty}"
    if kind in ("list_type", "tuple_type"):
        return f"must be a list{got}"
    if kind == "too_short":
        return f"must have at least {ctx.get('min_length')} item(s)"
    if kind == "too_long":
        return f"must have at most {ctx.get('max_length')} item(s)"
    if kind == "string_too_short":
        return "must not be empty" if ctx.get("min_length") == 1 else "is too short" + got
    if kind == "string_too_long":
        return f"must be at most {ctx.get('max_length')} characters"
    if kind == "string_pattern_mismatch":
        return f"has the wrong format{got}; expected to match {ctx.get('pattern')}"
    if kind == "invalid_key":
        return f"keys must be text (got {shown(value)})"
    if kind in ("value_error", "assertion_error"):
        message = str(error["msg"])
        prefixed = message.startswith(("Value error, ", "Assertion failed, "))
        return message.split(", ", 1)[1] if prefixed else message
    message = str(error["msg"]).replace("Input should be", "must be")
    return message + got


MAX_LINE = 300  # a value or key pasted whole into an error would drown the message


def clip(line: str, limit: int = MAX_LINE) -> str:
    """``line`` shortened in the middle to ``limit`` characters (echoed input can be huge)."""
    if len(line) <= limit:
        return line
    tail = limit // 4
    return f"{line[: limit - tail - 5]} ... {line[-tail:]}"


def _from_override(path: str, overridden: Iterable[str]) -> bool:
    return bool(path) and any(path == o or path.startswith((o + ".", o + "[")) for o in overridden)


def problems(
    error: ValidationError,
    source: str,
    *,
    overridden: Iterable[str] = (),
    root: type[BaseModel] = JobSpec,
) -> list[str]:
    """``<source>: <path>: <message>`` lines, at most MAX_PROBLEMS (plus a count of the rest)."""
    overridden = list(overridden)
    lines: list[str] = []
    for item in error.errors(include_url=False):
        path = path_text(item["loc"])
        line = f"{source}: {path}: " if path else f"{source}: "
        line += describe(item, root)
        if _from_override(path, overridden):
            line += " (from --set)"
        line = clip(line)
        if line not in lines:
            lines.append(line)
    if len(lines) > MAX_PROBLEMS:
        rest = len(lines) - MAX_PROBLEMS
        lines = [*lines[:MAX_PROBLEMS], f"{source}: ... and {rest} more problem(s)"]
    return lines
