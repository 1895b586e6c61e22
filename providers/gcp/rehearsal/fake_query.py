"""What the fake Vertex AI service's calls share: its API error, RFC 3339 times, and the
AIP-160 filters and paging of List calls (jobs and log entries alike). Stdlib only.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

_TERM = re.compile(r"^\s*([\w.\-]+)\s*(>=|<=|!=|=|>|<|:)\s*(.+?)\s*$")


class FakeError(Exception):
    """An API error: HTTP status, google.rpc status name and message."""

    def __init__(self, http: int, status: str, message: str) -> None:
        super().__init__(message)
        self.http, self.status, self.message = http, status, message

    def body(self) -> dict[str, Any]:
        return {"error": {"code": self.http, "message": self.message, "status": self.status}}


def rfc3339(seconds: float) -> str:
    """``2026-01-01T00:00:00.000000Z`` for a POSIX timestamp."""
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_time(text: str) -> float:
    """The POSIX timestamp of an RFC 3339 time (``Z`` or an offset)."""
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def terms(text: str) -> list[tuple[str, str, str]]:
    """AIP-160 conjunctions (``a="x" AND b>=y``); the fake supports only AND."""
    if not text.strip():
        return []
    out = []
    for part in re.split(r"\s+AND\s+", text.strip()):
        match = _TERM.match(part)
        if not match or re.search(r"\s(OR|NOT)\s", f" {part} "):
            raise FakeError(400, "INVALID_ARGUMENT", f"unsupported filter term: {part!r}")
        key, op, value = match.groups()
        out.append((key, op, value.strip('"')))
    return out


def lookup(record: dict[str, Any], dotted: str) -> Any:
    """``record["a"]["b"]`` for ``a.b``; None where a part is missing."""
    value: Any = record
    for part in dotted.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


def list_page(
    views: list[dict[str, Any]], key: str, filter_text: str, page_size: int, page_token: str
) -> dict[str, Any]:
    """One page of a List call: filtered, newest first, ``nextPageToken`` while more remain."""
    aliases = {"display_name": "displayName", "create_time": "createTime"}
    views = [v for v in views if matches(v, filter_text, aliases)]
    views.sort(key=lambda v: (v["createTime"], v["name"]), reverse=True)
    start = int(page_token or 0)
    size = max(1, min(page_size or 100, 1000))
    page: dict[str, Any] = {key: views[start : start + size]}
    if start + size < len(views):
        page["nextPageToken"] = str(start + size)
    return page


def matches(record: dict[str, Any], filter_text: str, aliases: dict[str, str]) -> bool:
    """True when ``record`` satisfies every term of ``filter_text``."""
    for key, op, want in terms(filter_text):
        have = lookup(record, aliases.get(key, key))
        if op == ":" and want == "*":
            ok = have is not None
        elif have is None:
            ok = op == "!="
        elif op in ("=", ":"):
            ok = str(have) == want
        elif op == "!=":
            ok = str(have) != want
        elif key == "timestamp" or key.endswith("_time") or key.endswith("Time"):
            left, right = parse_time(str(have)), parse_time(want)
            ok = {"<": left < right, "<=": left <= right, ">": left > right, ">=": left >= right}[
                op
            ]
        else:
            ok = {"<": have < want, "<=": have <= want, ">": have > want, ">=": have >= want}[op]
        if not ok:
            return False
    return True
