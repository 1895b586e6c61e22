"""Run a user's own training script under cloudgd's uniform contract. Stdlib only.

Invoked on every platform (once per node, or once per process where the platform
starts the processes itself) as::

    python -m trainers.script_launch [--cloudgd-OPTION VALUE ...] [EXTRA SCRIPT ARGS ...]

Options (each may be given as ``--cloudgd-x=VALUE`` too; everything else is appended
to the script's own ``args``, so SageMaker hyperparameters and tuning trials reach the
script as ``--name value`` and argparse keeps the last value):

``--cloudgd-config FILE``    the script config (default ``$CLOUDGD_SCRIPT_CONFIG``, else
                             ``cloudgd-script.json`` beside the ``trainers`` package, i.e.
                             at the bundle root, else in the working directory)
``--cloudgd-data NAME=PATH`` an input channel's local path (repeatable)
``--cloudgd-model-dir``, ``--cloudgd-checkpoint-dir``, ``--cloudgd-output-dir`` PATH

The config file (``cloudgd-script.json``, written by cloudgd from ``script:``) holds
``entry_point`` or ``module``, ``args``, ``channels`` (names, in order), ``metrics``
(``regex``, ``file``), ``nodes``, ``processes_per_node`` and ``code_dir`` (relative to
the config file; the script runs there).

What the script sees: the platform's own variables, plus ``CLOUDGD_DATA_DIR`` (first
channel), ``CLOUDGD_DATA_DIR_<NAME>`` per channel, ``CLOUDGD_MODEL_DIR``,
``CLOUDGD_CHECKPOINT_DIR`` (save there and resume from it: spot restarts and
preemptions rely on it), ``CLOUDGD_OUTPUT_DIR`` and, under DDP, torchrun's ``RANK``,
``LOCAL_RANK``, ``WORLD_SIZE``, ``MASTER_ADDR``, ``MASTER_PORT``. Where precedence
matters: option, then an existing ``CLOUDGD_*`` variable, then the platform's own
contract (``trainers/context.py``). docs/scripts.md is the user's page.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from trainers.context import Flags, RunContext, detect_context, gcs_to_local
from trainers.script_metrics import Collector

CONFIG_NAME = "cloudgd-script.json"
CONFIG_ENV = "CLOUDGD_SCRIPT_CONFIG"
_OPTIONS = ("config", "data", "model-dir", "checkpoint-dir", "output-dir")
_PER_PROCESS = ("RANK", "WORLD_SIZE")  # set when the platform started each process


class LaunchError(Exception):
    """A problem with the launcher's own inputs: one line, exit code 2."""


@dataclass
class Options:
    """The launcher's own options, and the arguments it passes on to the script."""

    config: str | None = None
    data: dict[str, str] = field(default_factory=dict)
    dirs: dict[str, str] = field(default_factory=dict)
    extra: list[str] = field(default_factory=list)


def parse_options(argv: Sequence[str]) -> Options:
    """Split ``--cloudgd-*`` options from the arguments meant for the script."""
    opts = Options()
    args = list(argv)
    i = 0
    while i < len(args):
        arg = args[i]
        name, eq, inline = arg.partition("=")
        key = name[len("--cloudgd-") :] if name.startswith("--cloudgd-") else None
        if key not in _OPTIONS:
            opts.extra.append(arg)
            i += 1
            continue
        if eq:
            value = inline
        elif i + 1 < len(args):
            value = args[i + 1]
            i += 1
        else:
            raise LaunchError(f"{name} needs a value")
        i += 1
        if key == "config":
            opts.config = value
        elif key == "data":
            channel, sep, path = value.partition("=")
            if not sep or not channel:
                raise LaunchError(f"--cloudgd-data takes NAME=PATH (got {value!r})")
            opts.data[channel] = path
        else:
            opts.dirs[key.removesuffix("-dir")] = value
    return opts


def find_config(opts: Options, env: Mapping[str, str], cwd: Path) -> Path:
    """The script config file: option, variable, bundle root, working directory."""
    given = opts.config or env.get(CONFIG_ENV)
    candidates = (
        [Path(given)]
        if given
        else [Path(__file__).resolve().parent.parent / CONFIG_NAME, cwd / CONFIG_NAME]
    )
    for path in candidates:
        if path.is_file():
            return path
    raise LaunchError(f"script config not found: {candidates[0]}")


def load_config(path: Path) -> dict[str, Any]:
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise LaunchError(f"cannot read the script config {path}: {exc}") from exc
    if not isinstance(config, dict) or not (config.get("entry_point") or config.get("module")):
        raise LaunchError(f"{path}: needs entry_point or module")
    return config


def channel_dirs(
    channels: Sequence[str], opts: Options, env: Mapping[str, str], ctx: RunContext
) -> dict[str, str]:
    """Each channel's local path: option, CLOUDGD_DATA_DIR_<NAME>, the platform's channel
    (SageMaker's SM_CHANNEL_<NAME>), then the first channel falls back to the platform's
    data dir (CLOUDGD_DATA_DIR, Vertex's AIP_TRAINING_DATA_URI)."""
    found: dict[str, str] = {}
    for index, name in enumerate(channels):
        path = opts.data.get(name) or env.get(f"CLOUDGD_DATA_DIR_{name.upper()}")
        if not path and name in ctx.data_dirs:
            path = str(ctx.data_dirs[name])
        if not path and index == 0 and ctx.data_dir is not None:
            path = str(ctx.data_dir)
        if path:
            found[name] = gcs_to_local(path)
    for name, path in opts.data.items():  # channels the config does not name still pass
        found.setdefault(name, gcs_to_local(path))
    return found


def contract_env(ctx: RunContext, data: dict[str, str]) -> dict[str, str]:
    """The CLOUDGD_* variables the script reads."""
    env = {
        "CLOUDGD_MODEL_DIR": str(ctx.model_dir),
        "CLOUDGD_CHECKPOINT_DIR": str(ctx.checkpoint_dir),
        "CLOUDGD_OUTPUT_DIR": str(ctx.output_dir),
    }
    for name, path in data.items():
        env[f"CLOUDGD_DATA_DIR_{name.upper()}"] = path
    if data:
        env["CLOUDGD_DATA_DIR"] = next(iter(data.values()))
    return env


def substitute(args: Sequence[str], env: Mapping[str, str], data: Mapping[str, str]) -> list[str]:
    """Replace ``${data_dir}``, ``${data_dir.<name>}``, ``${model_dir}``,
    ``${checkpoint_dir}`` and ``${output_dir}`` in each argument."""
    values = {
        "${model_dir}": env["CLOUDGD_MODEL_DIR"],
        "${checkpoint_dir}": env["CLOUDGD_CHECKPOINT_DIR"],
        "${output_dir}": env["CLOUDGD_OUTPUT_DIR"],
    }
    if "CLOUDGD_DATA_DIR" in env:
        values["${data_dir}"] = env["CLOUDGD_DATA_DIR"]
    values.update({f"${{data_dir.{name}}}": path for name, path in data.items()})
    out = []
    for arg in args:
        for token, value in values.items():
            arg = arg.replace(token, value)
        out.append(arg)
    return out


def every_process_started(env: Mapping[str, str], config: Mapping[str, Any]) -> bool:
    """True when the platform started each of the job's processes itself (Azure ML's
    PyTorch distribution): torchrun's RANK and WORLD_SIZE are set, for the whole world.

    A platform that sets them per node instead (WORLD_SIZE = the node count, as Vertex
    may) still gets torchrun for its processes per node.
    """
    if not all(name in env for name in _PER_PROCESS):
        return False
    world = int(config.get("nodes") or 1) * int(config.get("processes_per_node") or 1)
    try:
        return int(env["WORLD_SIZE"]) == world
    except ValueError:
        return False


def node_rank_of(env: Mapping[str, str], ctx: RunContext) -> int:
    """This node's index: NODE_RANK, else a per-node RANK, else the platform's host order."""
    for name in ("NODE_RANK", "RANK"):
        value = env.get(name, "")
        if value.isdigit():
            return int(value)
    return ctx.node_rank


def script_argv(
    config: dict[str, Any], args: list[str], env: Mapping[str, str], ctx: RunContext
) -> list[str]:
    """The command: the script directly, or under torchrun for several processes when the
    platform starts one launcher per node (SageMaker, Vertex, the local runner)."""
    head = [config["entry_point"]] if config.get("entry_point") else ["-m", str(config["module"])]
    nodes = int(config.get("nodes") or 1)
    per_node = int(config.get("processes_per_node") or 1)
    if every_process_started(env, config) or nodes * per_node == 1:
        return [sys.executable, *head, *args]
    node_rank = node_rank_of(env, ctx)
    master_addr = env.get("MASTER_ADDR") or ctx.master_addr
    master_port = env.get("MASTER_PORT") or str(ctx.master_port)
    run = [sys.executable, "-m", "torch.distributed.run", f"--nnodes={nodes}"]
    run += [f"--nproc-per-node={per_node}", f"--node-rank={node_rank}"]
    run += [f"--master-addr={master_addr}", f"--master-port={master_port}"]
    return [*run, *head, *args]  # torchrun takes `-m MODULE` as python does


def _hp_sinks(ctx: RunContext, env: Mapping[str, str], names: Sequence[str]) -> list[Any]:
    """Vertex's hypertune file, when this run is a Vertex tuning trial."""
    if ctx.hp_metric_file is None:
        return []
    from trainers.sinks import HypertuneSink

    tags = tuple(t.strip() for t in env.get("CLOUDGD_HP_METRIC", "").split(",") if t.strip())
    default = tuple(n for n in names if n not in ("epoch", "step"))  # counters, not metrics
    return [HypertuneSink(ctx.hp_metric_file, ctx.trial_id, tags or default)]


def _is_main(env: Mapping[str, str], ctx: RunContext, config: Mapping[str, Any]) -> bool:
    """Only one launcher writes the run's metrics: rank 0, or node 0 under torchrun."""
    if every_process_started(env, config):
        return env.get("RANK") == "0"
    return node_rank_of(env, ctx) == 0


def run(argv: Sequence[str], env: Mapping[str, str] | None = None) -> int:
    """Launch the script, stream its output, collect its metrics; its exit code."""
    env = dict(os.environ if env is None else env)
    opts = parse_options(argv)
    config_path = find_config(opts, env, Path.cwd())
    config = load_config(config_path)
    flags = Flags(
        model_dir=opts.dirs.get("model"),
        checkpoint_dir=opts.dirs.get("checkpoint"),
        output_dir=opts.dirs.get("output"),
    )
    ctx = detect_context(flags, env)
    data = channel_dirs(list(config.get("channels") or []), opts, env, ctx)
    cloudgd_env = contract_env(ctx, data)
    for key in ("CLOUDGD_MODEL_DIR", "CLOUDGD_CHECKPOINT_DIR", "CLOUDGD_OUTPUT_DIR"):
        Path(cloudgd_env[key]).mkdir(parents=True, exist_ok=True)
    args = substitute([*(config.get("args") or []), *opts.extra], cloudgd_env, data)
    code_dir = (config_path.parent / str(config.get("code_dir") or ".")).resolve()
    child_env = {**env, **cloudgd_env, "PYTHONUNBUFFERED": "1"}
    child_env["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(code_dir), env.get("PYTHONPATH")) if p
    )
    metrics = config.get("metrics") or {}
    main = _is_main(env, ctx, config)
    collector = Collector(
        ctx.output_dir,
        dict(metrics.get("regex") or {}),
        metrics.get("file"),
        enabled=main,
        sinks=_hp_sinks(ctx, env, sorted(metrics.get("regex") or {})) if main else [],
    )
    command = script_argv(config, args, env, ctx)
    print(f"cloudgd script: {' '.join(command[1:])} (in {code_dir})", flush=True)
    code = _stream(command, code_dir, child_env, collector)
    collector.read_metrics_file()
    collector.finish(code, platform=ctx.platform, world_size=ctx.world_size)
    return code


def _stream(command: list[str], cwd: Path, env: dict[str, str], collector: Collector) -> int:
    """Run ``command``, echo its output line by line into the collector; forward SIGTERM
    (a stop or a spot reclaim) so the script can save a checkpoint before it exits."""
    proc = subprocess.Popen(
        command,
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )

    # The script stays in the launcher's process group, so a runner that signals the group
    # (and SIGKILLs it after the grace period) reaches both; a platform that signals only
    # the launcher has it passed on.
    def forward(signum: int, _frame: object) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(proc.pid, signum)

    previous = {sig: signal.signal(sig, forward) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        assert proc.stdout is not None
        for raw in iter(proc.stdout.readline, b""):
            text = raw.decode("utf-8", errors="replace")
            sys.stdout.write(text)
            sys.stdout.flush()
            collector.line(text.rstrip("\n"))
        code = proc.wait()
        return 128 - code if code < 0 else code  # killed by a signal: as a shell reports it
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; a launcher error is one line on stderr and exit code 2."""
    try:
        return run(sys.argv[1:] if argv is None else argv)
    except LaunchError as exc:
        print(f"cloudgd script launcher: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
