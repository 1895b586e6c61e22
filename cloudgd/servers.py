"""Local backend servers (moto, the fake Vertex and Azure ML services) that outlive one CLI call.

A rehearsal submits in one process and follows the job from others, so the
server runs detached (its own session) and its address is kept in
``<home>/servers/<name>.json``. Every server module accepts
``--host 127.0.0.1 --port 0 --ready-file PATH`` and writes its bound port to the
ready file once it accepts connections. Servers bind to 127.0.0.1 only.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from cloudgd.errors import ProviderError
from cloudgd.home import servers_dir

_START_TIMEOUT = 30.0


def _state_file(name: str) -> Path:
    return servers_dir() / f"{name}.json"


def _alive(pid: int) -> bool:
    # A server this process started and that has exited stays a zombie (kill(0) still
    # succeeds) until it is reaped; reap it first so an exited child reads as dead.
    try:
        reaped, _ = os.waitpid(pid, os.WNOHANG)
        if reaped == pid:
            return False
    except ChildProcessError:
        pass  # not our child: its parent reaps it
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _answers(url: str) -> bool:
    try:
        urllib.request.urlopen(url, timeout=2).close()
    except urllib.error.HTTPError:
        return True  # any HTTP answer means it is up
    except OSError:
        return False
    return True


def running(name: str, *, patience: float = 10.0) -> str | None:
    """URL of the named server if its recorded process is alive and answering.

    A live process that is slow to answer (a loaded machine) gets ``patience``
    seconds; one that never answers is stopped, so ``ensure`` never leaves a
    second server running beside it.
    """
    path = _state_file(name)
    if not path.exists():
        return None
    try:
        state = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    url = state.get("url")
    pid = int(state.get("pid", 0))
    if not isinstance(url, str) or not pid or not _alive(pid):
        return None
    deadline = time.monotonic() + patience
    while True:
        if _answers(url):
            return url
        if not _alive(pid) or time.monotonic() >= deadline:
            break
        time.sleep(0.2)
    stop(name)
    return None


def ensure(name: str, module: str, *extra_args: str) -> str:
    """Start ``python -m <module>`` detached unless it already runs; return its URL."""
    url = running(name)
    if url:
        return url
    sdir = servers_dir()
    sdir.mkdir(parents=True, exist_ok=True)
    ready = sdir / f"{name}.ready"
    ready.unlink(missing_ok=True)
    log = (sdir / f"{name}.log").open("ab")
    repo_root = str(Path(__file__).resolve().parent.parent)
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (repo_root, env.get("PYTHONPATH")) if p)
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            module,
            "--host",
            "127.0.0.1",
            "--port",
            "0",
            "--ready-file",
            str(ready),
            *extra_args,
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
        env=env,
    )
    deadline = time.monotonic() + _START_TIMEOUT
    while time.monotonic() < deadline:
        if ready.exists() and ready.read_text().strip():
            port = int(ready.read_text().strip())
            url = f"http://127.0.0.1:{port}"
            _state_file(name).write_text(json.dumps({"pid": proc.pid, "url": url}))
            return url
        if proc.poll() is not None:
            break
        time.sleep(0.05)
    proc.kill()
    raise ProviderError(
        f"the local {name} server did not start",
        hint=f"see {sdir / (name + '.log')}",
    )


def stop(name: str) -> bool:
    """Stop the named server if it runs; True when one was stopped."""
    path = _state_file(name)
    if not path.exists():
        return False
    try:
        pid = int(json.loads(path.read_text()).get("pid", 0))
    except (OSError, ValueError):
        pid = 0
    path.unlink(missing_ok=True)
    if pid and _alive(pid):
        os.kill(pid, signal.SIGTERM)
        for _ in range(100):
            if not _alive(pid):
                break
            time.sleep(0.05)
        else:
            os.kill(pid, signal.SIGKILL)
        return True
    return False


def serve_ready(ready_file: str | None, port: int) -> None:
    """Called by a server module once it listens: publish its port."""
    if ready_file:
        tmp = Path(ready_file + ".tmp")
        tmp.write_text(str(port))
        tmp.replace(ready_file)
