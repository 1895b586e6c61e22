"""From a local calibration to expected hours on a cloud machine (pure, torch-free).

``calibrate.py`` measures FLOPs per sample and samples per second here; this module
scales that work to the target accelerator's peak dense BF16 throughput at a
stated utilisation (model FLOPs utilisation, MFU).
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from cloudgd.cost.catalog import Catalog
from cloudgd.cost.select import InstanceChoice
from trainers.config import TrainConfig

DEFAULT_UTILISATION = 0.3
"""Assumed fraction of peak BF16 FLOP/s a training step achieves (MFU). A stated,
adjustable assumption (``--utilization``), not a catalog fact; small models
usually reach far less, so treat calibrated hours as optimistic for them."""

# sklearn.datasets.load_digits: 1797 images of 8x8 pixels, 10 classes.
_DIGITS = (1797, 64, 10)


class Calibration(BaseModel):
    """What a few real local training steps measured."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    flops_per_sample: float = Field(description="Forward + backward FLOPs per training sample.")
    samples_per_second: float = Field(description="Training samples per second measured here.")
    steps_measured: int = Field(description="Timed optimizer steps (after warm-up).")
    batch_size: int = Field(description="Samples per measured step.")
    device: str = Field(description="Where it was measured (cpu, cuda).")
    threads: int = Field(description="torch CPU threads during the measurement.")
    model_path: str = Field(description="Which code built the model (trainer or cloudgd's own).")


class WorkSize(BaseModel):
    """How many training samples the whole job processes."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    samples: int | None = Field(description="Samples through forward+backward; None = unknown.")
    train_rows: int | None = Field(description="Rows in the training split.")
    unknown_reason: str | None = Field(description="Why samples is unknown.")


def dataset_shape(trainer: TrainConfig) -> tuple[int, int, int] | None:
    """(rows, features, outputs) for built-in sources; None for file sources."""
    data = trainer.data
    if data.source == "digits":
        rows, features, outputs = _DIGITS
    elif data.source == "synthetic_regression":
        rows, features, outputs = data.n_samples, data.n_features, 1
    elif data.source == "synthetic_classification":
        rows, features, outputs = data.n_samples, data.n_features, data.n_classes
    else:
        return None
    if data.limit is not None:
        rows = min(rows, data.limit)
    return rows, features, outputs


def work_size(trainer: TrainConfig, world_size: int) -> WorkSize:
    """Samples the job trains on: epochs × training rows, cut by ``max_steps``.

    Validation passes are not counted (they are forward-only and usually small).
    """
    shape = dataset_shape(trainer)
    if shape is None:
        return WorkSize(
            samples=None,
            train_rows=None,
            unknown_reason=f"data.source={trainer.data.source}: row count is only known "
            "when the data is read; set limits.expected_runtime",
        )
    train_rows = max(1, round(shape[0] * (1 - trainer.data.val_fraction)))
    samples = trainer.epochs * train_rows
    if trainer.max_steps is not None:
        per_step = trainer.batch_size * trainer.grad_accum_steps * world_size
        samples = min(samples, trainer.max_steps * per_step)
    return WorkSize(samples=samples, train_rows=train_rows, unknown_reason=None)


class Projection(BaseModel):
    """Expected training seconds on the target, or why they are unknown."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    seconds: float | None = Field(description="Expected training seconds; None = unknown.")
    method: str = Field(description="How seconds was obtained.")
    peak_tflops_per_chip: float | None = Field(description="Peak dense BF16 TFLOPS per chip.")
    utilisation: float = Field(description="Assumed fraction of peak reached (MFU).")
    unknown_reason: str | None = Field(description="Why seconds is unknown.")
    sources: tuple[str, ...] = Field(description="Source of the peak figure.")
    local_seconds: float | None = Field(
        description="The same work at the rate measured on this machine, for comparison."
    )


def project_seconds(
    catalog: Catalog,
    calibration: Calibration,
    work: WorkSize,
    choice: InstanceChoice,
    nodes: int,
    utilisation: float = DEFAULT_UTILISATION,
) -> Projection:
    """Scale measured work to ``nodes`` × ``choice``.

    Accelerators: FLOPs / (peak BF16 × chips × nodes × utilisation). CPU machines
    have no peak figure in the catalog, so each node is assumed as fast as the
    machine that ran the calibration (stated in ``method``).
    """

    local = None if work.samples is None else work.samples / calibration.samples_per_second

    def unknown(reason: str, peak: float | None = None, src: tuple[str, ...] = ()) -> Projection:
        return Projection(
            local_seconds=local,
            seconds=None,
            method="unknown",
            peak_tflops_per_chip=peak,
            utilisation=utilisation,
            unknown_reason=reason,
            sources=src,
        )

    if work.samples is None:
        return unknown(work.unknown_reason or "work size unknown")
    if choice.accelerator is None:
        seconds = work.samples / (calibration.samples_per_second * nodes)
        return Projection(
            local_seconds=local,
            seconds=seconds,
            method=f"measured {calibration.samples_per_second:.4g} samples/s on this machine "
            f"({calibration.device}, {calibration.threads} threads), assumed equal per node",
            peak_tflops_per_chip=None,
            utilisation=utilisation,
            unknown_reason=None,
            sources=(),
        )
    hardware = catalog.hardware(choice.accelerator)
    peak = hardware.bf16_tflops_dense if hardware else None
    src = (hardware.source,) if hardware else ()
    if peak is None:
        return unknown(f"the catalog has no dense BF16 peak for {choice.accelerator}", None, src)
    chips = choice.accelerator_count * nodes
    flops = calibration.flops_per_sample * work.samples
    seconds = flops / (peak * 1e12 * chips * utilisation)
    return Projection(
        local_seconds=local,
        seconds=seconds,
        method=f"{calibration.flops_per_sample:.4g} FLOPs/sample × {work.samples} samples "
        f"/ ({peak:g} TFLOPS × {chips} chips × {utilisation:g} utilisation); compute only: "
        "start-up, data loading and per-step overheads, which dominate small models, "
        "are not included",
        peak_tflops_per_chip=peak,
        utilisation=utilisation,
        unknown_reason=None,
        sources=src,
    )
