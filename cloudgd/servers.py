"""Local backend servers (moto, the fake Vertex and Azure ML services) that outlive one CLI call.

A rehearsal submits in one process and follows the job from others, so the
server runs detached (its own session) and its address is kept in
``<home>/servers/<name>.json``. Every server module accepts
``--host 127.0.0.1 --port 0 --ready-file PATH`` and writes its bound port to the
ready file once it accepts connections. Servers bind to 127.0.0.1 only.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from cloudgd.errors import ProviderError
from cloudgd.home import servers_dir

_START_TIMEOUT = 30.0
_LOCK_TIMEOUT = 60.0  # longer than one start: a waiting submit reuses the server it made


def _state_file(name: str) -> Path:
    return servers_dir() / f"{name}.json"


def _start_time(pid: int) -> int | None:
    from cloudgd.procs import start_time

    return start_time(pid)


def _cmdline(pid: int) -> list[str]:
    from cloudgd.procs import cmdline

    return cmdline(pid)


def _reap(pid: int) -> None:
    # A server this process started and that has exited stays a zombie until reaped.
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(pid, os.WNOHANG)


def is_server(record: dict[str, Any]) -> bool:
    """True while the record's pid is still the server it describes.

    Checked before any signal: the pid must be alive, have the start time
    recorded when it was launched (a recycled pid has another) and run the
    recorded module.
    """
    pid, born, module = record.get("pid"), record.get("start_time"), record.get("module")
    if type(pid) is not int or pid <= 0 or type(module) is not str:
        return False
    _reap(pid)
    if sys.platform == "linux":
        from cloudgd.procs import alive

        return alive(pid, born) and module in _cmdline(pid)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return False  # not ours to signal
    return True


def read_record(name: str) -> dict[str, Any] | None:
    """The recorded server, or None when there is no readable record."""
    try:
        data = json.loads(_state_file(name).read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _write_record(name: str, record: dict[str, Any]) -> None:
    path = _state_file(name)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(record, sort_keys=True))
    tmp.replace(path)


@contextlib.contextmanager
def _locked(name: str) -> Iterator[None]:
    """One process at a time starts, checks or stops the named server."""
    sdir = servers_dir()
    sdir.mkdir(parents=True, exist_ok=True)
    with (sdir / f"{name}.lock").open("a") as handle:
        deadline = time.monotonic() + _LOCK_TIMEOUT
        while True:
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise ProviderError(
                        f"another cloudgd is still starting the local {name} server",
                        hint=f"try again, or `cloudgd servers stop {name}`",
                    ) from None
                time.sleep(0.1)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def _answers(url: str) -> bool:
    try:
        urllib.request.urlopen(url, timeout=2).close()
    except urllib.error.HTTPError:
        return True  # any HTTP answer means it is up
    except (OSError, ValueError):
        return False
    return True


def _running(name: str, patience: float) -> str | None:
    record = read_record(name)
    if record is None:
        return None
    url = record.get("url")
    if not isinstance(url, str) or not is_server(record):
        _state_file(name).unlink(missing_ok=True)  # stale: its pid is gone or someone else's
        return None
    deadline = time.monotonic() + patience
    while True:
        if _answers(url):
            return url
        if not is_server(record) or time.monotonic() >= deadline:
            break
        time.sleep(0.2)
    _stop(name)
    return None


def running(name: str, *, patience: float = 10.0) -> str | None:
    """URL of the named server if its recorded process is still it and answers.

    A live process that is slow to answer (a loaded machine) gets ``patience``
    seconds; one that never answers is stopped, so ``ensure`` never leaves a
    second server running beside it.
    """
    with _locked(name):
        return _running(name, patience)


def ensure(name: str, module: str, *extra_args: str) -> str:
    """Start ``python -m <module>`` detached unless it already runs; return its URL.

    Under the server's lock, so concurrent submits start one server and share it.
    """
    with _locked(name):
        url = _running(name, 10.0)
        return url or _start(name, module, extra_args)


def _start(name: str, module: str, extra_args: tuple[str, ...]) -> str:
    sdir = servers_dir()
    ready = sdir / f"{name}.ready"
    ready.unlink(missing_ok=True)
    repo_root = str(Path(__file__).resolve().parent.parent)
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (repo_root, env.get("PYTHONPATH")) if p)
    argv = [sys.executable, "-m", module, "--host", "127.0.0.1", "--port", "0"]
    with (sdir / f"{name}.log").open("ab") as log:
        proc = subprocess.Popen(
            [*argv, "--ready-file", str(ready), *extra_args],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            env=env,
        )
    deadline = time.monotonic() + _START_TIMEOUT
    while time.monotonic() < deadline:
        text = ready.read_text().strip() if ready.exists() else ""
        if text:
            url = f"http://127.0.0.1:{int(text)}"
            record = {
                "name": name,
                "module": module,
                "pid": proc.pid,
                "start_time": _start_time(proc.pid),
                "url": url,
            }
            _write_record(name, record)
            return url
        if proc.poll() is not None:
            break
        time.sleep(0.05)
    proc.kill()
    proc.wait(timeout=10)
    raise ProviderError(
        f"the local {name} server did not start",
        hint=f"see {sdir / (name + '.log')}",
    )


def _stop(name: str) -> bool:
    record = read_record(name)
    _state_file(name).unlink(missing_ok=True)
    if record is None or not is_server(record):
        return False
    pid = record["pid"]
    os.kill(pid, signal.SIGTERM)
    for _ in range(100):
        if not is_server(record):
            return True
        time.sleep(0.05)
    if is_server(record):
        os.kill(pid, signal.SIGKILL)
    return True


def stop(name: str) -> bool:
    """Stop the named server if it runs and is still the one recorded; True when stopped."""
    with _locked(name):
        return _stop(name)


def names() -> list[str]:
    """Names of the servers that have a record."""
    sdir = servers_dir()
    if not sdir.is_dir():
        return []
    return sorted(p.stem for p in sdir.glob("*.json") if not p.name.startswith("."))


def describe(name: str) -> dict[str, Any]:
    """One server's record with whether its process is still that server."""
    record = read_record(name) or {}
    return {
        "name": name,
        "module": record.get("module"),
        "pid": record.get("pid"),
        "url": record.get("url"),
        "running": bool(record) and is_server(record),
    }


def serve_ready(ready_file: str | None, port: int) -> None:
    """Called by a server module once it listens: publish its port."""
    if ready_file:
        tmp = Path(ready_file + ".tmp")
        tmp.write_text(str(port))
        tmp.replace(ready_file)
