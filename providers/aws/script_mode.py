"""How the prebuilt AWS PyTorch image finds and runs cloudgd's trainer (script mode).

The SageMaker training toolkit in the image downloads ``sagemaker_submit_directory``
(the code bundle), unpacks it into ``/opt/ml/code`` and runs ``sagemaker_program``
there, through torchrun when ``sagemaker_torch_distributed_enabled`` is set. Values
are JSON-encoded strings, as the SageMaker Python SDK writes them and as the
toolkit decodes them. The trainer reads its config from ``cloudgd-job.json`` in the
bundle; any dotted TrainConfig path added to the hyperparameters (tuning trials)
overrides it.
"""

from __future__ import annotations

import json
from typing import Any

from cloudgd.bundle import ENTRY_NAME
from cloudgd.errors import SpecError
from trainers.config import REPORTED_METRICS

# Container path of the code channel (the SageMaker SDK uses the same directory
# when network isolation forbids the toolkit from reading S3 itself).
CODE_CHANNEL = "code"
CODE_CHANNEL_DIR = "/opt/ml/input/data/code"

MAX_KEYS = 100
MAX_KEY_CHARS = 256
MAX_VALUE_CHARS = 2500

_NUMBER = r"([-+]?[0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?|nan|inf)"
# Names match the trainer's metric names (metrics.jsonl, summary.json), so a cloud
# job's FinalMetricDataList and a local run's summary use the same keys.
METRICS = REPORTED_METRICS


def metric_definitions() -> list[dict[str, str]]:
    """Regexes over the trainer's stdout lines such as ``step=40 loss=0.31 lr=0.001``.

    The leading class keeps ``loss=`` from matching inside ``val_loss=``.
    """
    return [{"Name": name, "Regex": f"(?:^|[^A-Za-z_]){name}={_NUMBER}"} for name in METRICS]


def encode(values: dict[str, Any]) -> dict[str, str]:
    """JSON-encode every value and check SageMaker's hyperparameter limits."""
    encoded = {
        str(k): json.dumps(v, sort_keys=True, separators=(",", ":")) for k, v in values.items()
    }
    if len(encoded) > MAX_KEYS:
        raise SpecError(f"SageMaker allows at most {MAX_KEYS} hyperparameters ({len(encoded)})")
    for key, value in encoded.items():
        if len(key) > MAX_KEY_CHARS:
            raise SpecError(f"hyperparameter name longer than {MAX_KEY_CHARS}: {key[:40]}...")
        if len(value) > MAX_VALUE_CHARS:
            raise SpecError(
                f"hyperparameter {key}: value longer than {MAX_VALUE_CHARS} characters",
                hint="put large settings in the trainer config instead",
            )
    return encoded


def hyperparameters(
    *,
    program: str = ENTRY_NAME,
    job_name: str,
    region: str,
    submit_directory: str,
    log_level: int,
    instance_type: str,
    distributed: bool,
    processes_per_node: int | None,
    overrides: dict[str, Any] | None = None,
) -> dict[str, str]:
    """The script-mode hyperparameters, JSON-encoded; ``program`` is the bundle's entry file
    (the trainer's, or the launcher's for a ``script:`` job).

    ``processes_per_node`` is only sent when it differs from the toolkit's own
    default (one process per GPU, else one).
    """
    values: dict[str, Any] = dict(overrides or {})
    values.update(
        {
            "sagemaker_program": program,
            "sagemaker_submit_directory": submit_directory,
            "sagemaker_region": region,
            "sagemaker_job_name": job_name,
            "sagemaker_container_log_level": log_level,
        }
    )
    if distributed:
        values["sagemaker_torch_distributed_enabled"] = True
        values["sagemaker_instance_type"] = instance_type
        if processes_per_node is not None:
            values["sagemaker_mpi_num_of_processes_per_host"] = processes_per_node
    return encode(values)
