"""The parts of a SageMaker request that differ for a ``script:`` job (pure).

SageMaker script mode runs a user's file from ``/opt/ml/code``: ``sagemaker_program``
names cloudgd's launcher entry file in the bundle, which maps SageMaker's variables to
the ``CLOUDGD_*`` contract and starts the script (docs/scripts.md). The training
toolkit installs the bundle's ``requirements.txt`` (the script's own) before that,
passes every hyperparameter that is not ``sagemaker_*`` as ``--name value`` (a tuning
trial's values become script arguments), and with ``sagemaker_torch_distributed_enabled``
starts the launcher under torchrun once per process. Each ``script.inputs`` channel is
an S3 channel of the same name (``SM_CHANNEL_<NAME>``), and the metric regexes become
``MetricDefinitions`` within the limits of botocore's service model.
"""

from __future__ import annotations

from typing import Any

from cloudgd.errors import SpecError
from cloudgd.script_spec import ScriptSpec
from providers.aws.script_mode import CODE_CHANNEL

# botocore sagemaker CreateTrainingJob: AlgorithmSpecification.MetricDefinitions max 40,
# MetricDefinition.Name 1-255 chars, .Regex 1-500 chars; InputDataConfig max 20 channels,
# Channel.ChannelName 1-64 chars of [A-Za-z0-9.\-_].
MAX_METRICS = 40
MAX_METRIC_NAME = 255
MAX_REGEX = 500
MAX_CHANNELS = 20


def metric_definitions(script: ScriptSpec) -> list[dict[str, str]]:
    """``MetricDefinitions`` from ``script.metrics.regex`` (sorted by name), as SageMaker
    matches them on the job's log lines; SpecError past SageMaker's limits."""
    regexes = script.metrics.regex
    if len(regexes) > MAX_METRICS:
        raise SpecError(
            f"script.metrics.regex: SageMaker collects at most {MAX_METRICS} metrics "
            f"(got {len(regexes)})",
            hint="keep the ones report, tuning and CI gates read; the script may write the "
            "rest to script.metrics.file",
        )
    definitions = []
    for name in sorted(regexes):
        regex = regexes[name]
        if len(name) > MAX_METRIC_NAME:
            raise SpecError(f"script.metrics.regex.{name}: longer than {MAX_METRIC_NAME}")
        if len(regex) > MAX_REGEX:
            raise SpecError(
                f"script.metrics.regex.{name}: SageMaker allows regexes of at most "
                f"{MAX_REGEX} characters (got {len(regex)})"
            )
        definitions.append({"Name": name, "Regex": regex})
    return definitions


def input_channels(script: ScriptSpec) -> list[dict[str, Any]]:
    """One S3 channel per ``script.inputs`` entry, in the order given."""
    if len(script.inputs) >= MAX_CHANNELS:  # one is left for the code channel
        raise SpecError(
            f"script.inputs: SageMaker takes at most {MAX_CHANNELS} channels, one of them "
            f"cloudgd's code channel (got {len(script.inputs)})"
        )
    channels = []
    for name, uri in script.inputs.items():
        if name == CODE_CHANNEL:
            raise SpecError(
                f"script.inputs.{name}: the channel name {CODE_CHANNEL!r} is cloudgd's own "
                "(the code bundle) on SageMaker",
                hint="give the channel another name",
            )
        if not uri.startswith("s3://"):
            raise SpecError(
                f"script.inputs.{name}: SageMaker reads input channels from s3:// (got {uri!r})",
                hint=f"copy it to S3 first: cloudgd data upload PATH s3://bucket/{name}/",
            )
        channel = {
            "ChannelName": name,
            "DataSource": {
                "S3DataSource": {
                    "S3DataType": "S3Prefix",
                    "S3Uri": uri,
                    "S3DataDistributionType": "FullyReplicated",
                }
            },
        }
        channels.append(channel)
    return channels


def summary(script: ScriptSpec) -> dict[str, Any]:
    """What the plan's summary shows of a script job: its command and its inputs."""
    shown: dict[str, Any] = {"script": " ".join(["python", *script.command])}
    if script.inputs:
        shown["inputs"] = dict(script.inputs)
    return shown


def check_objective(script: ScriptSpec, metric: str) -> None:
    """A SageMaker tuning job reads its objective from the log with one of the job's
    ``MetricDefinitions``: the metric must be one of ``script.metrics.regex``."""
    if metric not in script.metrics.regex:
        raise SpecError(
            f"tuning.metric.name: SageMaker reads the tuning objective {metric!r} from the "
            "job's log lines, and script.metrics.regex has no regex for it",
            hint=f"add script.metrics.regex.{metric} (a regex with one group around the value)",
        )
