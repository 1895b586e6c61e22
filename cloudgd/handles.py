"""Turn a handle (a URI, a local run directory or a run name) into (provider, JobHandle).

A handle is a URI (``aws://us-east-1/job?backend=moto&endpoint=...``); its query
carries what a fresh process needs to reconnect, so it is checked before it is used:
no NUL bytes, and an ``endpoint=`` must be a loopback http(s) URL unless remote
endpoints are explicitly allowed (a rehearsal sends its fake credentials there).
Shared by the CLI and the Python API through :mod:`cloudgd.runner`.
"""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl, urlsplit

from cloudgd.errors import UsageError
from cloudgd.home import runs_dir
from cloudgd.plan import JobHandle
from cloudgd.registry import LOCAL

if TYPE_CHECKING:
    from providers.base import Provider


def parse_handle(text: str) -> JobHandle:
    """A handle URI, a local run directory, or a run name under the runs directory."""
    if "\x00" in text:
        raise UsageError(f"not a job handle: {text!r} (it contains a NUL byte)")
    if "://" not in text:
        for candidate in (Path(text), runs_dir() / text):
            if text and _is_dir(candidate):
                return JobHandle(provider=LOCAL, parts=(str(candidate.absolute()),))
    return JobHandle.parse(text)


def _is_dir(path: Path) -> bool:
    try:
        return path.is_dir()
    except (OSError, ValueError):  # a name too long, an unreadable parent
        return False


def handle_query(text: str) -> str:
    """The raw query of a handle URI ('' for a path or an unparsable URI)."""
    try:
        return urlsplit(text).query if "://" in text else ""
    except ValueError:
        return ""


def _remote_allowed() -> bool:
    """The CLI's ``--allow-remote-endpoint``, read from the settings object it keeps on the
    click context (by attribute: the core imports no CLI module)."""
    import click

    ctx = click.get_current_context(silent=True)
    while ctx is not None:
        if getattr(ctx.obj, "allow_remote_endpoint", False) is True:
            return True
        ctx = ctx.parent
    return False


def is_loopback(host: str) -> bool:
    """True for ``localhost``, 127.0.0.0/8 and ::1: addresses that never leave this machine."""
    if host.lower().rstrip(".") == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_endpoint(endpoint: str, *, allow_remote: bool = False) -> None:
    """Refuse a handle's ``endpoint=`` that is no URL, has a bad port, or leaves this machine.

    A rehearsal sends its fake credentials and the fake's token to the endpoint,
    so a handle someone else wrote must not send them elsewhere unless asked.
    """
    hint = "rehearsal endpoints look like http://127.0.0.1:PORT"
    try:
        split = urlsplit(endpoint)
    except ValueError:  # e.g. an unclosed [IPv6 bracket
        raise UsageError(f"handle endpoint= is not a URL: {endpoint!r}", hint=hint) from None
    if split.scheme not in ("http", "https") or not split.hostname:
        raise UsageError(f"handle endpoint= is not an http(s) URL: {endpoint!r}", hint=hint)
    try:
        split.port  # noqa: B018 (parsing the port is the check)
    except ValueError:
        raise UsageError(f"handle endpoint= has a bad port: {endpoint!r}", hint=hint) from None
    if not allow_remote and not is_loopback(split.hostname):
        raise UsageError(
            f"handle endpoint= is not on this machine: {split.hostname}",
            hint="rehearsal endpoints must be loopback; pass --allow-remote-endpoint "
            "if you trust that server with the rehearsal's credentials",
        )


def open_handle(
    text: str | JobHandle, *, allow_remote: bool | None = None
) -> tuple[Provider, JobHandle]:
    """The provider that owns the job, configured from the handle's query.

    ``allow_remote``: let ``endpoint=`` name a non-loopback server (default: the CLI's
    ``--allow-remote-endpoint``, else no).
    """
    from cloudgd import registry

    if isinstance(text, JobHandle):
        handle, given = text, dict(text.params)
    else:
        handle = parse_handle(text)
        # parse_qsl drops blank values: an empty endpoint= would silently mean "start one"
        given = dict(parse_qsl(handle_query(text), keep_blank_values=True))
    endpoint = given.get("endpoint", handle.params.get("endpoint"))
    if endpoint is not None:
        remote = _remote_allowed() if allow_remote is None else allow_remote
        check_endpoint(endpoint, allow_remote=remote)
    provider = registry.create(
        handle.provider,
        backend=handle.params.get("backend", "cloud"),
        endpoint=handle.params.get("endpoint"),
    )
    from cloudgd.tuning.handle import is_tuning

    if is_tuning(handle):
        from cloudgd.tuning.follow import TuningFollower

        return TuningFollower(provider), handle
    return provider, handle
