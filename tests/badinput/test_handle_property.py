"""Property: any handle string => status/cancel/logs exit 0, 2 or 3; never 1, never a
signal, never a write outside $CLOUDGD_HOME.

Strings come from two sources: arbitrary text, and handles assembled from the
parts an attacker would try (every scheme, planted and real run directories,
``run=``, ``endpoint=``, ``backend=``, ``kind=tuning``, traversal, /proc). A
Python audit hook records every signal and every file opened for writing (or
created, renamed, removed) while the command runs.

Nothing may reach the network: cloud handles always carry ``run=`` (followed
locally first) or a refused endpoint, starting a rehearsal server is replaced by
a refusal, and a socket guard refuses any connection that is not loopback.
"""

from __future__ import annotations

import json
import os
import socket
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cloudgd.cli.main import cli
from cloudgd.errors import ProviderError

_WATCH: dict[str, Any] = {"on": False, "events": []}
_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND
_PATH_EVENTS = {"os.mkdir", "os.rename", "os.remove", "os.rmdir", "os.symlink", "os.chmod"}


def _audit(event: str, args: tuple[Any, ...]) -> None:
    if not _WATCH["on"]:
        return
    if event in ("os.kill", "os.killpg"):
        _WATCH["events"].append((event, args))
    elif event == "open" and isinstance(args[0], str | bytes | os.PathLike):
        mode, flags = args[1], args[2]
        writes = (mode and any(c in str(mode) for c in "wax+")) or (flags or 0) & _WRITE_FLAGS
        if writes:
            _WATCH["events"].append(("write", os.fsdecode(args[0])))
    elif event in _PATH_EVENTS and isinstance(args[0], str | bytes | os.PathLike):
        _WATCH["events"].append((event, os.fsdecode(args[0])))


sys.addaudithook(_audit)  # audit hooks cannot be removed; it only records while "on"


@pytest.fixture(scope="module")
def arena(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Path]]:
    """A home with one real-looking run, and a planted run outside it."""
    base = tmp_path_factory.mktemp("arena")
    home = base / "home"
    runs = home / "runs"
    (runs / "job-1").mkdir(parents=True)
    (runs / ".cloudgd-runs").write_text("{}")
    (runs / "job-1" / ".cloudgd-run").write_text("{}")
    state = {"state": "succeeded", "job_name": "job-1", "supervisor": None, "ranks": []}
    (runs / "job-1" / "state.json").write_text(json.dumps(state))
    (runs / "job-1" / "plan.json").write_text(json.dumps({"request": {"layout": {}}}))
    planted = base / "planted" / "job-2"
    planted.mkdir(parents=True)
    running = {"state": "running", "supervisor": {"pid": 1, "start_time": 1}, "ranks": []}
    (planted / "state.json").write_text(json.dumps({**running, "job_name": "job-2"}))
    (planted / "plan.json").write_text(json.dumps({"request": {"grace_period": 0}}))
    yield {"home": home, "runs": runs, "planted": planted, "base": base}


@pytest.fixture
def sandboxed(arena: dict[str, Path], monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    monkeypatch.setenv("CLOUDGD_HOME", str(arena["home"]))
    monkeypatch.delenv("CLOUDGD_RUNS_DIR", raising=False)
    for name in ("AWS_ENDPOINT_URL", "CLOUDGD_AWS_ENDPOINT", "CLOUDGD_GCP_ENDPOINT"):
        monkeypatch.delenv(name, raising=False)

    def no_server(name: str, *args: str) -> str:
        raise ProviderError(f"no {name} server in this test")

    monkeypatch.setattr("cloudgd.servers.ensure", no_server)
    real_connect = socket.socket.connect

    def loopback_only(self: socket.socket, address: Any) -> Any:
        host = address[0] if isinstance(address, tuple) else "local"
        if host not in ("127.0.0.1", "::1", "localhost", "local"):
            raise ConnectionRefusedError(f"no network in tests ({host})")
        return real_connect(self, address)

    monkeypatch.setattr(socket.socket, "connect", loopback_only)
    return arena


PATHS = st.sampled_from(
    ["job-1", "job-2", "/", "/proc/self", "/etc", "../../etc/passwd", "/dev/null", "x" * 300]
)
SCHEMES = st.sampled_from(["local", "aws", "gcp", "azure", "nosuch", "LOCAL", "file"])
ENDPOINTS = st.sampled_from(
    ["http://192.0.2.1:1", "http://127.0.0.1:99999", "", "ftp://x", "http://[::1", "1.2.3.4"]
)


@st.composite
def handles(draw: st.DrawFn, arena: dict[str, Path]) -> str:
    where = {"job-1": str(arena["runs"] / "job-1"), "job-2": str(arena["planted"])}
    path = draw(PATHS)
    path = where.get(path, path)
    scheme = draw(SCHEMES)
    if scheme in ("aws", "gcp", "azure"):
        params = {"run": draw(st.sampled_from([*where.values(), "/proc/self", "/etc", "nope"]))}
        if draw(st.booleans()):
            params["endpoint"] = draw(ENDPOINTS)
        params["backend"] = draw(st.sampled_from(["moto", "fake", "cloud", "zzz"]))
        location = {"aws": "us-east-1", "gcp": "p/us-central1", "azure": "s/rg/ws"}[scheme]
        return f"{scheme}://{location}/{draw(st.sampled_from(['job-1', '', 'a/b']))}?" + (
            urlencode(params)
        )
    if scheme == "local":
        query = draw(st.sampled_from(["", "?kind=tuning", "?run=/etc", "?endpoint=http://x"]))
        return f"local://{path}{query}"
    return draw(st.one_of(st.just(path), st.just(f"{scheme}://{path}")))


def run_cli(args: list[str]) -> tuple[int, list[tuple[str, Any]], str]:
    _WATCH["events"] = []
    _WATCH["on"] = True
    try:
        result = CliRunner().invoke(cli, args)
    finally:
        _WATCH["on"] = False
    return result.exit_code, list(_WATCH["events"]), result.output


def check(command: str, handle: str, home: Path) -> None:
    code, events, output = run_cli([command, handle])
    assert code in (0, 2, 3), (command, handle, code, output)
    signals = [e for e in events if e[0] in ("os.kill", "os.killpg")]
    assert not signals, (command, handle, signals)
    outside = [
        e for e in events if e[0] not in ("os.kill", "os.killpg") and not _inside(e[1], home)
    ]
    assert not outside, (command, handle, outside)


def _inside(path: str, home: Path) -> bool:
    real = os.path.realpath(path)
    return real == os.devnull or real.startswith(os.path.realpath(home) + os.sep)


@settings(
    max_examples=60,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_any_handle_answers_0_2_or_3_without_signals_or_outside_writes(
    sandboxed: dict[str, Path], data: st.DataObject
) -> None:
    handle = data.draw(st.one_of(handles(sandboxed), st.text(max_size=40)), label="handle")
    command = data.draw(st.sampled_from(["status", "cancel", "logs"]), label="command")
    check(command, handle, sandboxed["home"])
