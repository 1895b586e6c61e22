"""Rehearsal server records: one server per backend, identity checked before any signal."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from cloudgd import servers
from providers.local import procs
from tests.badinput.conftest import Invoke

REPO = Path(__file__).resolve().parents[2]
TINY = "tests.support.tiny_server"


@pytest.fixture
def bystander() -> Iterator[subprocess.Popen[bytes]]:
    """An unrelated process that happens to hold a pid a stale record names."""
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        yield proc
    finally:
        proc.kill()
        proc.wait(timeout=10)


@pytest.fixture
def tiny() -> Iterator[str]:
    """The name of a tiny server, stopped after the test."""
    yield "tiny"
    servers.stop("tiny")


def write_record(home: Path, name: str, **record: object) -> None:
    (home / "servers").mkdir(parents=True, exist_ok=True)
    (home / "servers" / f"{name}.json").write_text(json.dumps(record))


def test_a_record_whose_pid_was_reused_is_not_signalled(
    home: Path, bystander: subprocess.Popen[bytes]
) -> None:
    # pid reuse: the pid is alive and even has its true start time, but it is not moto
    write_record(
        home,
        "moto",
        pid=bystander.pid,
        start_time=procs.start_time(bystander.pid),
        module="providers.aws.rehearsal.moto_server",
        url="http://127.0.0.1:9",
    )
    assert servers.running("moto", patience=0) is None
    write_record(home, "moto", pid=bystander.pid, url="http://127.0.0.1:9")  # the old format
    assert servers.stop("moto") is False
    assert bystander.poll() is None
    assert not (home / "servers" / "moto.json").exists()  # the stale record is gone


def test_concurrent_starts_share_one_server_and_its_record_pairs_pid_and_url(
    home: Path, tiny: str
) -> None:
    script = f"from cloudgd import servers; print(servers.ensure({tiny!r}, {TINY!r}))"
    starters = [
        subprocess.Popen(
            [sys.executable, "-c", script], stdout=subprocess.PIPE, cwd=REPO, text=True
        )
        for _ in range(4)
    ]
    urls = {proc.communicate(timeout=120)[0].strip() for proc in starters}
    assert len(urls) == 1
    record = servers.read_record(tiny)
    assert record is not None and urls == {record["url"]}
    assert TINY in procs.cmdline(record["pid"])
    log = (home / "servers" / f"{tiny}.log").read_text()
    assert "Address already in use" not in log
    assert servers.describe(tiny)["running"]


def test_servers_list_and_stop_from_the_command_line(invoke: Invoke, home: Path, tiny: str) -> None:
    url = servers.ensure(tiny, TINY)
    listed = invoke("servers", "list", "--output", "json")
    assert listed.exit_code == 0, listed.output
    rows = json.loads(listed.stdout)["servers"]
    assert [(r["name"], r["url"], r["running"]) for r in rows] == [(tiny, url, True)]
    pid = rows[0]["pid"]
    unknown = invoke("servers", "stop", "nope")
    assert unknown.exit_code == 2 and "no local server named 'nope'" in unknown.output
    stopped = invoke("servers", "stop", tiny)
    assert stopped.exit_code == 0 and f"{tiny}: stopped" in stopped.output
    assert not procs.alive(pid, procs.start_time(pid))
    assert invoke("servers", "list").stdout.strip() == "no local servers recorded"
