"""Speed defaults: what each ``performance`` setting (and ``compile``) does on this run.

Every decision is returned as a short string recorded in summary.json under
``performance``: ``on``/``off``, with the reason when ``auto`` decided, or
``not applicable: <why>`` where the hardware has no such thing (TF32 on a CPU).

``compile: auto`` compiles built-in models on CUDA when the run plans at least
``COMPILE_MIN_STEPS`` optimizer steps: compiling takes tens of seconds, and a
typical 10-30 % faster step repays that within a few thousand steps, not a few
hundred.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

import torch

from trainers.config import TrainConfig

COMPILE_MIN_STEPS = 2000
CONV_KINDS = ("cnn", "resnet")
_COMPILE_KINDS = ("linear", "logistic", "softmax", "mlp", "cnn", "resnet", "huggingface")
_TF32_MIN_CAPABILITY = 8  # Ampere


def not_applicable(why: str) -> str:
    return f"not applicable: {why}"


@dataclass(frozen=True)
class SpeedPlan:
    """The decided settings: flags for the code, strings for the summary."""

    channels_last: bool
    compile: bool
    prefetch: bool
    background_checkpoints: bool
    record: dict[str, str]


def _auto(value: bool | str, decided: bool, why: str) -> tuple[bool, str]:
    if value == "auto":
        return decided, f"{'on' if decided else 'off'} (auto: {why})"
    return bool(value), "on" if value else "off"


def _tf32(cfg: TrainConfig, device: torch.device) -> str:
    if device.type != "cuda":
        return not_applicable(f"{device.type} device (TF32 is a CUDA tensor-core mode)")
    major, _ = torch.cuda.get_device_capability(device)
    if major < _TF32_MIN_CAPABILITY:
        return not_applicable(f"compute capability {major}.x (TF32 needs Ampere, 8.0+)")
    on = cfg.performance.tf32
    torch.backends.cuda.matmul.allow_tf32 = on
    torch.backends.cudnn.allow_tf32 = on
    note = "" if cfg.precision == "fp32" else f" (for fp32 ops outside {cfg.precision} autocast)"
    return ("on" if on else "off") + note


def _cudnn_benchmark(cfg: TrainConfig, device: torch.device) -> str:
    if device.type != "cuda":
        return not_applicable(f"{device.type} device (cuDNN is CUDA's)")
    on, text = _auto(
        cfg.performance.cudnn_benchmark,
        not cfg.deterministic,
        "fixed batch shapes" if not cfg.deterministic else "deterministic is on",
    )
    torch.backends.cudnn.benchmark = on
    return text


def compile_rule(kind: str, device_type: str, planned_steps: int) -> tuple[bool, str]:
    """What ``compile: auto`` decides, and why."""
    if kind not in _COMPILE_KINDS:
        return False, f"{kind} models are not compiled automatically"
    if device_type != "cuda":
        return False, f"{device_type} device; compiles on CUDA only"
    on = planned_steps >= COMPILE_MIN_STEPS
    return on, f"{planned_steps} planned steps {'>=' if on else '<'} {COMPILE_MIN_STEPS}"


def available_cores() -> int:
    """CPU cores this process may run on (its affinity mask, not the machine's count)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def cpu_threads(
    cfg: TrainConfig, device: torch.device, env: Mapping[str, str], cores: int
) -> tuple[int | None, str]:
    """Torch CPU threads for this rank, and the summary's line.

    Several ranks on one CPU machine each default to one thread per core, so two gloo
    ranks on two cores run four threads on two cores and lose to one process (measured
    1.15x in issue 24). torchrun avoids that by exporting OMP_NUM_THREADS=1; the
    launchers that do not (the local provider's own, the clouds' MPI/SMDDP paths) get the
    node's cores split evenly between its ranks instead. ``None``: leave torch's default.
    """
    if cfg.num_threads:
        return cfg.num_threads, f"{cfg.num_threads} (trainer.num_threads)"
    if device.type != "cpu":
        return None, not_applicable(f"{device.type} device (threads matter on CPU)")
    if env.get("OMP_NUM_THREADS"):
        return None, f"{torch.get_num_threads()} (OMP_NUM_THREADS={env['OMP_NUM_THREADS']})"
    try:
        ranks_here = max(1, int(env.get("LOCAL_WORLD_SIZE", "1")))
    except ValueError:
        ranks_here = 1
    if ranks_here == 1:
        return None, f"{torch.get_num_threads()} (auto: one process on this node)"
    threads = max(1, cores // ranks_here)
    return threads, f"{threads} (auto: {cores} cores / {ranks_here} processes on this node)"


def plan_speed(
    cfg: TrainConfig, device: torch.device, planned_steps: int, data_resident: bool
) -> SpeedPlan:
    """Apply the global backend flags for ``device`` and decide the per-run settings."""
    perf, kind = cfg.performance, cfg.model.kind
    record = {"tf32": _tf32(cfg, device), "cudnn_benchmark": _cudnn_benchmark(cfg, device)}
    threads, record["cpu_threads"] = cpu_threads(cfg, device, os.environ, available_cores())
    if threads is not None:
        torch.set_num_threads(threads)

    if kind not in CONV_KINDS:
        channels_last, record["channels_last"] = (
            False,
            not_applicable(f"{kind} is not convolutional"),
        )
    else:
        channels_last, record["channels_last"] = _auto(
            perf.channels_last, device.type == "cuda", f"{kind} on {device.type}"
        )

    compile_on, record["compile"] = _auto(
        cfg.compile, *compile_rule(kind, device.type, planned_steps)
    )

    resident_why = "data resident on the device" if data_resident else "data in pinned host memory"
    prefetch, record["prefetch"] = _auto(perf.prefetch, not data_resident, resident_why)

    background = perf.background_checkpoints
    record["background_checkpoints"] = "on" if background else "off"
    return SpeedPlan(channels_last, compile_on, prefetch, background, record)
