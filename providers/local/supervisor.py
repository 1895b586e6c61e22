"""The detached process that runs one local job: ``python -m providers.local.supervisor RUN``.

It outlives the CLI that submitted it (own session), launches one process per
rank exactly as the plan's request says (own process group each, so a cancel can
signal a rank and its children), merges their logs, enforces
``limits.max_runtime``, retries up to ``scaling.restarts`` times, and records
every step in ``state.json``. A cancel is a flag in ``state.json`` (set by
``LocalProvider.cancel``); the supervisor answers it with SIGTERM to the ranks'
groups, then SIGKILL after the grace period. A rank's environment: ``rank_env.py``.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
import traceback
from pathlib import Path
from typing import Any

from providers.local import procs
from providers.local import states as st
from providers.local.contracts import CPU_COUNT, MASTER_PORT, PYTHON
from providers.local.contracts_vertex_azure import SDIST
from providers.local.isolated_env import EnvError, EnvRequest, env_python, explain_missing_module
from providers.local.isolated_env import build as build_env
from providers.local.logstream import LogPump, tail_lines
from providers.local.rank_env import rank_env
from providers.local.rundir import RunDir, now_iso, write_json_atomic
from providers.local.staging import resolve_python, secret_values

POLL = 0.1


def _say(line: str) -> None:
    """A line for supervisor.log, which may be on the full disk or deleted: best effort."""
    with contextlib.suppress(OSError, ValueError):
        print(line, file=sys.stderr, flush=True)


def _identity(path: Path) -> tuple[int, int] | None:
    try:
        info = os.stat(path)
    except OSError:
        return None
    return info.st_dev, info.st_ino


class LaunchError(Exception):
    """A rank's process could not be started (bad interpreter, missing directory)."""


class Supervisor:
    """Runs the ranks of one run directory to a terminal state."""

    def __init__(self, run: RunDir) -> None:
        self.run = run
        self.request: dict[str, Any] = run.request()
        self.world = int(self.request["world_size"])
        self.ranks: list[dict[str, Any]] = self.request["ranks"]
        self.pump = LogPump(
            run.job_log, {r["rank"]: run.rank_log(r["rank"]) for r in self.ranks}, self.world > 1
        )
        self.procs: dict[int, subprocess.Popen[bytes]] = {}
        self.codes: dict[int, int] = {}
        self.killed = False
        self.term_received = False
        self.started = time.monotonic()
        self.python = sys.executable
        self.secrets: dict[str, str] = {}
        self.python_env: dict[str, Any] | None = self.request["layout"].get("python_env")
        self.sdist = ""  # the contract's sdist, for the {sdist} placeholder
        self.identity = _identity(run.path)

    # -- the run directory may be deleted or its disk fill up under us -----------
    def _vanished(self) -> bool:
        """True once the run dir is gone or replaced (deleted, perhaps resubmitted)."""
        return _identity(self.run.path) != self.identity

    def _update(self, change: Any) -> bool:
        """Record a change in state.json unless the run dir is gone or the disk refuses."""
        if self._vanished():
            return False
        try:
            self.run.update_state(change)
        except OSError as exc:
            _say(f"cannot update state.json: {exc}")
            return False
        return True

    # -- bookkeeping ---------------------------------------------------------
    def _on_term(self, signum: int, _frame: object) -> None:
        self.term_received = True

    def _cancel_requested(self) -> bool:
        state = self.run.read_state() or {}
        return self.term_received or bool(state.get("cancel_requested_at"))

    def _resolve(self, text: str, port: int | None) -> str:
        text = text.replace(PYTHON, self.python).replace(CPU_COUNT, str(os.cpu_count() or 1))
        text = text.replace(SDIST, self.sdist) if self.sdist else text
        return text.replace(MASTER_PORT, str(port)) if port is not None else text

    def _rank_env(self, spec: dict[str, Any], port: int | None) -> dict[str, str]:
        return rank_env(
            os.environ,
            python_path=self.request["layout"].get("python_path"),
            declared={k: self._resolve(v, port) for k, v in spec["env"].items()},
            isolated_python=self.python if self.python_env else None,
            secrets=self.secrets,
        )

    def _isolated_python(self) -> str:
        """Build (or reuse) the contract's isolated environment; its interpreter."""
        assert self.python_env is not None
        sdist = self.python_env.get("sdist")  # a package file the plan names (Vertex's)
        if self.python_env.get("sdist_dir"):
            found = sorted(Path(self.python_env["sdist_dir"]).glob("*.tar.gz"))
            if not found:
                raise EnvError(f"no sdist in {self.python_env['sdist_dir']}")
            sdist = self.sdist = str(found[0])
        request = EnvRequest.from_json({**self.python_env, "sdist": sdist})
        self.pump.note(f"building the isolated environment {request.label} runs in")
        env, notes = build_env(request)
        for note in notes:
            self.pump.note(note)
        return str(env_python(env))

    # -- one attempt -----------------------------------------------------------
    def _launch(self, attempt: int) -> bool:
        """Start every rank (unless a cancel came first); False when cancelled."""
        port = procs.free_port() if self.world > 1 else None
        failure_file = self.request["layout"]["artifacts"].get("failure_file")
        if failure_file:  # each SageMaker attempt starts with a fresh /opt/ml/output
            Path(failure_file).unlink(missing_ok=True)
        bindings: dict[str, str] = self.request["layout"].get("bindings") or {}
        with self.run.locked():
            state = self.run.read_state() or {}
            if self.term_received or state.get("cancel_requested_at"):
                return False
            records = []
            for spec in self.ranks:
                argv = [self._resolve(arg, port) for arg in spec["argv"]]
                for token, path in bindings.items():
                    argv = [arg.replace(token, path) for arg in argv]
                log = self.run.rank_log(spec["rank"]).open("ab")
                try:
                    proc = subprocess.Popen(
                        argv,
                        cwd=spec["cwd"],
                        env=self._rank_env(spec, port),
                        stdin=subprocess.DEVNULL,
                        stdout=log,
                        stderr=subprocess.STDOUT,
                        process_group=0,
                        preexec_fn=procs.parent_death_signal(),
                    )
                except OSError as exc:
                    self._signal_all(signal.SIGKILL)
                    raise LaunchError(f"could not start rank {spec['rank']}: {exc}") from exc
                finally:
                    log.close()
                self.procs[spec["rank"]] = proc
                records.append(
                    {
                        "rank": spec["rank"],
                        "node": spec["node"],
                        "local_rank": spec["local_rank"],
                        "pid": proc.pid,
                        "start_time": procs.start_time(proc.pid),
                        "exit_code": None,
                    }
                )
            state.update(state=st.RUNNING, ranks=records, attempt=attempt, master_port=port)
            state["updated_at"] = now_iso()
            try:
                write_json_atomic(self.run.state_file, state)
            except OSError as exc:  # the ranks run on; the next successful write catches up
                _say(f"cannot update state.json: {exc}")
        self.pump.note(
            f"attempt {attempt + 1}: started {self.world} rank(s)"
            + (f", MASTER_PORT={port}" if port else "")
        )
        return True

    def _signal_all(self, sig: int) -> None:
        for proc in self.procs.values():
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, sig)

    def _record_exit(self, rank: int, code: int) -> None:
        def change(state: dict[str, Any]) -> None:
            for record in state.get("ranks", []):
                if record["rank"] == rank:
                    record["exit_code"] = code

        self._update(change)

    def _watch(self) -> tuple[str, int]:
        """Wait for every rank to exit; returns (outcome, the rank whose code decides)."""
        deadline = self.started + float(self.request["max_runtime"])
        grace = float(self.request["grace_period"])
        codes: dict[int, int] = {}
        failed: int | None = None
        outcome: str | None = None
        stop_at: float | None = None
        killed = False
        while True:
            self.pump.pump()
            for rank, proc in self.procs.items():
                if rank not in codes and proc.poll() is not None:
                    codes[rank] = procs.exit_code(proc.returncode)
                    self._record_exit(rank, codes[rank])
                    if codes[rank] != 0 and failed is None and outcome is None:
                        failed = rank
            if len(codes) == len(self.procs):
                break
            if outcome is None:
                if self._vanished():
                    outcome = "vanished"
                elif self._cancel_requested():
                    outcome = "cancelled"
                elif time.monotonic() >= deadline:
                    outcome = "timeout"
                elif failed is not None:
                    outcome = "failed"
            if outcome is not None and stop_at is None:
                reason = {
                    "cancelled": "cancel requested",
                    "timeout": "limits.max_runtime reached",
                    "failed": f"rank {failed} failed",
                    "vanished": "the run directory was deleted",
                }[outcome]
                self.pump.note(f"{reason}: sending SIGTERM to every rank")
                _say(f"{reason}: sending SIGTERM to every rank")
                self._update(lambda s: s.update(state=st.STOPPING))
                self._signal_all(signal.SIGTERM)
                stop_at = time.monotonic() + grace
            if stop_at is not None and not killed and time.monotonic() >= stop_at:
                self.pump.note(f"ranks still running after {grace:g}s: sending SIGKILL")
                self._signal_all(signal.SIGKILL)
                killed = True
            time.sleep(POLL)
        self.pump.pump(final=True)
        if outcome is None:
            outcome = "failed" if failed is not None else "succeeded"
        self.codes, self.killed = codes, killed
        return outcome, failed if failed is not None else min(codes)

    # -- the whole run ---------------------------------------------------------
    def _failure_message(self, rank: int) -> str:
        code = self.codes[rank]
        failure_file = self.request["layout"]["artifacts"].get("failure_file")
        tail = tail_lines(self.run.rank_log(rank), 10)
        missing = self.python_env and explain_missing_module(tail, self.python_env["label"])
        if failure_file and Path(failure_file).is_file():
            reason = Path(failure_file).read_text(errors="replace")[:1024].strip()
            if reason:
                return (
                    f"{missing}\nAlgorithmError: {reason}"
                    if missing
                    else f"AlgorithmError: {reason}"
                )
        head = f"rank {rank} failed ({procs.describe_exit(code)})"
        if missing:
            head = f"{head}: {missing}"
        return head + (":\n" + "\n".join(tail) if tail else "")

    def _finish(self, state_name: str, exit_code: int | None, message: str | None) -> None:
        def change(state: dict[str, Any]) -> None:
            if state.get("state") in st.TERMINAL:
                return
            state.update(state=state_name, exit_code=exit_code, message=message, ended_at=now_iso())

        for delay in (0.0, 0.5, 2.0):  # a full disk may free up; then record what we can
            time.sleep(delay)
            if self._update(change):
                break
        else:
            if not self._vanished():
                self._record_in_place(state_name, exit_code, message)
        self.pump.note(f"job {state_name}" + (f": {message.splitlines()[0]}" if message else ""))

    def _record_in_place(self, state_name: str, exit_code: int | None, message: str | None) -> None:
        """Last resort on a full disk: overwrite state.json in place (no new file, so
        no new blocks are needed for a state no bigger than the old one)."""
        with contextlib.suppress(OSError), self.run.locked():
            state = self.run.read_state() or {}
            if state.get("state") in st.TERMINAL:
                return
            state.update(state=state_name, exit_code=exit_code, ended_at=now_iso())
            state.update(message=(message or "")[:200] or None, ranks=[])
            data = (json.dumps(state, sort_keys=True) + "\n").encode()
            with self.run.state_file.open("r+b") as handle:
                handle.write(data)
                handle.truncate()
                _say("state.json overwritten in place (disk full)")

    def main(self) -> int:
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            signal.signal(sig, self._on_term)
        me, born = os.getpid(), procs.start_time(os.getpid())

        def starting(state: dict[str, Any]) -> None:
            if state.get("state") in st.TERMINAL:  # e.g. cancelled while we were starting
                return
            state.update(
                state=st.STARTING,
                started_at=now_iso(),
                supervisor={"pid": me, "start_time": born},
            )

        if self.run.update_state(starting).get("state") in st.TERMINAL:
            return 0
        for line in self.request.get("notes") or []:  # e.g. which code runs a rehearsal
            self.pump.note(line)
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a size limit is an error, not a death
        try:
            self.python = resolve_python(self.request["python"])
            self.secrets = secret_values(self.request.get("secrets") or {}, os.environ)
        except Exception as exc:
            self._finish(st.FAILED, None, getattr(exc, "message", str(exc)))
            return 1
        if self.python_env:
            try:
                self.python = self._isolated_python()
            except EnvError as exc:
                self._finish(st.FAILED, None, f"{self.python_env['label']}: {exc}")
                return 1
        attempts = int(self.request["restarts"]) + 1
        for attempt in range(attempts):
            try:
                launched = self._launch(attempt)
            except LaunchError as exc:
                self._finish(st.FAILED, None, str(exc))
                return 1
            if not launched:
                self._finish(st.CANCELLED, None, "cancelled before the ranks started")
                return 0
            outcome, rank = self._watch()
            code = self.codes[rank]
            if outcome == "vanished":
                return 0  # nothing left to record into
            if outcome == "succeeded":
                self._finish(st.SUCCEEDED, 0, None)
                return 0
            if outcome == "cancelled":
                what = "cancelled"
                if self.term_received and not (self.run.read_state() or {}).get(
                    "cancel_requested_at"
                ):
                    what = "stopped: the supervisor received a termination signal"
                note = " (SIGKILL after the grace period)" if self.killed else ""
                self._finish(st.CANCELLED, code, f"{what}{note}")
                return 0
            if outcome == "timeout":
                limit = self.request["max_runtime"]
                self._finish(st.FAILED, code, f"limits.max_runtime ({limit}s) reached; stopped")
                return 0
            message = self._failure_message(rank)
            if attempt + 1 < attempts:
                first = f"rank {rank} failed ({procs.describe_exit(code)})"
                self.pump.note(f"{first}; restart {attempt + 1} of {attempts - 1}")
                self.procs = {}
                continue
            self._finish(st.FAILED, code, message)
        return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point: supervise the run directory given as the only argument."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m providers.local.supervisor RUN_DIR", file=sys.stderr)
        return 2
    run = RunDir(args[0])
    supervisor = Supervisor(run)
    try:
        return supervisor.main()
    except Exception as exc:  # record it: a silent death would read as "supervisor died"
        with contextlib.suppress(OSError, ValueError):
            traceback.print_exc()
        supervisor._signal_all(signal.SIGKILL)
        with contextlib.suppress(Exception):
            supervisor._finish(st.FAILED, None, f"supervisor error: {type(exc).__name__}: {exc}")
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
