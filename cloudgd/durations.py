"""Durations in job specs: ``90s``, ``10m``, ``6h``, ``1d``, ``1h30m`` or plain seconds."""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import BeforeValidator, PlainSerializer, WithJsonSchema

_PART = re.compile(r"(\d+(?:\.\d+)?)([smhd])")
_UNIT = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(value: Any) -> int:
    """Seconds in ``value``; raises ValueError with the accepted forms."""
    if isinstance(value, bool):
        raise ValueError("expected a duration like 90s, 10m, 6h or 1h30m")
    if isinstance(value, int | float):
        seconds = float(value)
    elif isinstance(value, str):
        text = value.strip().lower().replace(" ", "")
        if text.isdigit():
            seconds = float(text)
        else:
            parts = _PART.findall(text)
            if not parts or "".join(n + u for n, u in parts) != text:
                raise ValueError(f"expected a duration like 90s, 10m, 6h or 1h30m (got {value!r})")
            seconds = sum(float(n) * _UNIT[u] for n, u in parts)
    else:
        raise ValueError(f"expected a duration like 90s, 10m, 6h or 1h30m (got {value!r})")
    if seconds < 0 or seconds > 365 * 86400:
        raise ValueError(f"duration must be between 0s and 365d (got {value!r})")
    return int(seconds)


def format_duration(seconds: int) -> str:
    """Shortest exact text form: 5400 → '1h30m'."""
    if seconds == 0:
        return "0s"
    out = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        count, seconds = divmod(seconds, size)
        if count:
            out.append(f"{count}{unit}")
    return "".join(out)


Duration = Annotated[
    int,
    BeforeValidator(parse_duration),
    PlainSerializer(format_duration, return_type=str, when_used="json"),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "string", "pattern": r"^(\d+(\.\d+)?[smhd])+$|^\d+$"},
                {"type": "integer", "minimum": 0},
            ],
            "description": "Duration: 90s, 10m, 6h, 1d, 1h30m or seconds.",
        }
    ),
]
