"""The ``script:`` block of a job spec: your own training script instead of the trainer.

A job gives exactly one of ``trainer:`` (the built-in trainer) and ``script:``. The
script runs through each cloud's own way to run a user script and locally in an
isolated environment; ``trainers/script_launch.py`` maps the platform's variables to
the uniform ``CLOUDGD_*`` contract, substitutes the placeholders below in ``args``,
and collects the metrics. docs/scripts.md is the user's page for all of it.

Everything here is pure (no file system): whether ``entry_point`` and
``requirements`` exist is checked by the loader against ``code:``.
"""

from __future__ import annotations

import posixpath
import re

from pydantic import Field, ValidationInfo, field_validator, model_validator

from trainers.config import ConfigModel, has_control_characters

# ${name} or ${data_dir.<channel>}; anything else between ${ and } is refused.
PLACEHOLDER = re.compile(r"\$\{([^}]*)\}")
DIRECTORY_PLACEHOLDERS = ("model_dir", "checkpoint_dir", "output_dir")
CHANNEL = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
METRIC_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,63}$")
MODULE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")
# A script argument a tuning parameter sets: script.args.<name> passes --<name> VALUE.
ARG_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,63}$")
SCRIPT_ARGS = "script.args."
MAX_ARGS = 1000
# What the launcher writes in CLOUDGD_OUTPUT_DIR (trainers/script_metrics.py).
RESERVED_OUTPUTS = ("metrics.jsonl", "summary.json")
CONFIG_NAME = "cloudgd-script.json"  # trainers/script_launch.py reads it
CONFIG_VERSION = 1


def _relative_inside(value: str, what: str) -> str:
    """A relative POSIX path that stays inside ``what`` (no absolute, no ``..``)."""
    if not value or has_control_characters(value):
        raise ValueError("must be a non-empty path without control characters")
    if posixpath.isabs(value) or "\\" in value or value.startswith("~"):
        raise ValueError(f"must be a path relative to {what} (got {value!r})")
    normal = posixpath.normpath(value)
    if normal == ".." or normal.startswith("../"):
        raise ValueError(f"must stay inside {what} (got {value!r})")
    return normal


class ScriptMetrics(ConfigModel):
    """What cloudgd collects from the script: regexes on its log lines and/or a file."""

    regex: dict[str, str] = Field(
        default_factory=dict,
        description="Metric name -> a regex with exactly one group, matched on each line the "
        "script prints (e.g. val_loss: 'val_loss=([-+0-9.eE]+)'). Also becomes SageMaker's "
        "MetricDefinitions.",
    )
    file: str | None = Field(
        default=None,
        description="A JSON-lines file the script writes under CLOUDGD_OUTPUT_DIR, one object "
        "of metric name -> number per line (relative to CLOUDGD_OUTPUT_DIR).",
    )

    @field_validator("regex")
    @classmethod
    def _regexes(cls, value: dict[str, str]) -> dict[str, str]:
        for name, pattern in value.items():
            if not METRIC_NAME.match(name):
                raise ValueError(
                    f"metric name {name!r}: letters, digits and '_', starting with a letter"
                )
            try:
                compiled = re.compile(pattern)
            except re.error as exc:
                raise ValueError(f"{name}: regex {pattern!r} does not compile: {exc}") from None
            if compiled.groups != 1:
                raise ValueError(
                    f"{name}: regex {pattern!r} needs exactly one group around the number "
                    f"(it has {compiled.groups}), e.g. '{name}=([-+0-9.eE]+)'"
                )
        return value

    @field_validator("file")
    @classmethod
    def _file(cls, value: str | None) -> str | None:
        if value is None:
            return None
        value = _relative_inside(value, "CLOUDGD_OUTPUT_DIR")
        if value in RESERVED_OUTPUTS:
            raise ValueError(
                f"{value} is where cloudgd writes the collected metrics; name your file "
                "differently (e.g. script-metrics.jsonl)"
            )
        return value


class ScriptSpec(ConfigModel):
    """Your own training script: what to run, with which arguments and packages."""

    entry_point: str | None = Field(
        default=None,
        description="A .py file inside code: (relative to it) run as `python FILE ARGS`.",
    )
    module: str | None = Field(
        default=None,
        description="A module inside code: run as `python -m MODULE ARGS` (instead of "
        "entry_point).",
    )
    inputs: dict[str, str] = Field(
        default_factory=dict,
        description="Data channels: name -> URI (a local path, s3://, gs://, azureml://). "
        "The script reads each from CLOUDGD_DATA_DIR_<NAME> (the first also CLOUDGD_DATA_DIR).",
    )
    args: list[str] = Field(
        default_factory=list,
        max_length=MAX_ARGS,
        description="Arguments for the script. Placeholders: ${data_dir} (the first input "
        "channel), ${data_dir.<channel>}, ${model_dir}, ${checkpoint_dir}, ${output_dir}.",
    )
    requirements: str | None = Field(
        default=None,
        description="A pip requirements file inside code: (e.g. requirements.txt), installed "
        "before the script runs.",
    )
    metrics: ScriptMetrics = Field(
        default_factory=ScriptMetrics,
        description="Metrics to collect for report, CI gates and the tuning objective.",
    )

    @field_validator("entry_point")
    @classmethod
    def _entry_point(cls, value: str | None) -> str | None:
        if value is None:
            return None
        value = _relative_inside(value, "code:")
        if not value.endswith(".py"):
            raise ValueError(f"must be a .py file inside code: (got {value!r})")
        return value

    @field_validator("module")
    @classmethod
    def _module(cls, value: str | None) -> str | None:
        if value is not None and not MODULE.match(value):
            raise ValueError(f"must be a dotted module name like pkg.train (got {value!r})")
        return value

    @field_validator("requirements")
    @classmethod
    def _requirements(cls, value: str | None) -> str | None:
        return None if value is None else _relative_inside(value, "code:")

    @field_validator("args")
    @classmethod
    def _args(cls, value: list[str], info: ValidationInfo) -> list[str]:
        inputs = info.data.get("inputs") or {}  # validated before args (field order)
        for arg in value:
            if has_control_characters(arg):
                raise ValueError(f"argument {arg!r} contains a control character")
            check_placeholders(arg, inputs)
        return value

    @field_validator("inputs")
    @classmethod
    def _inputs(cls, value: dict[str, str]) -> dict[str, str]:
        for name, uri in value.items():
            if not CHANNEL.match(name):
                raise ValueError(
                    f"channel {name!r}: lower-case letters, digits and '_', starting with a "
                    "letter (it names CLOUDGD_DATA_DIR_<NAME>)"
                )
            if not uri or has_control_characters(uri):
                raise ValueError(f"channel {name!r}: a non-empty URI without control characters")
        return value

    @model_validator(mode="after")
    def _checks(self) -> ScriptSpec:
        if (self.entry_point is None) == (self.module is None):
            raise ValueError(
                "give exactly one of entry_point (a .py file) and module (pkg.train)"
                + (", not both" if self.entry_point else "")
            )
        return self

    @property
    def channels(self) -> list[str]:
        """Input channel names in the order given (the first is CLOUDGD_DATA_DIR)."""
        return list(self.inputs)

    @property
    def metric_names(self) -> list[str]:
        """Names the regexes collect (a metrics file may add more at run time)."""
        return sorted(self.metrics.regex)

    @property
    def command(self) -> list[str]:
        """How the script starts after ``python``: ``FILE`` or ``-m MODULE``, then args."""
        head = [self.entry_point] if self.entry_point else ["-m", str(self.module)]
        return [*head, *self.args]


def known_placeholders(inputs: dict[str, str]) -> list[str]:
    """The placeholders ``args`` may use with these input channels."""
    names = [f"${{{name}}}" for name in DIRECTORY_PLACEHOLDERS]
    if inputs:
        names.insert(0, "${data_dir}")
        names += [f"${{data_dir.{channel}}}" for channel in inputs]
    return names


def check_placeholders(arg: str, inputs: dict[str, str]) -> None:
    """Raise ValueError naming the first placeholder in ``arg`` that is not known."""
    for match in PLACEHOLDER.finditer(arg):
        name = match.group(1)
        if name in DIRECTORY_PLACEHOLDERS:
            continue
        if name == "data_dir" or name.startswith("data_dir."):
            channel = name.partition(".")[2]
            if inputs and (not channel or channel in inputs):
                continue
            if not inputs:
                raise ValueError(
                    f"{match.group(0)} needs an input channel; add script.inputs (name: URI)"
                )
        known = ", ".join(known_placeholders(inputs))
        raise ValueError(f"unknown placeholder {match.group(0)} (known: {known})")


def launch_config(
    script: ScriptSpec, *, nodes: int, processes_per_node: int, code_dir: str = "code"
) -> dict[str, object]:
    """The launcher's config file (``cloudgd-script.json``), as JSON-able data.

    ``code_dir`` is where the script's files are, relative to the config file (the
    bundle puts them under ``code/``). The launcher is ``trainers/script_launch.py``.
    """
    return {
        "version": CONFIG_VERSION,
        "entry_point": script.entry_point,
        "module": script.module,
        "args": list(script.args),
        "channels": script.channels,
        "metrics": script.metrics.model_dump(mode="json"),
        "nodes": nodes,
        "processes_per_node": processes_per_node,
        "code_dir": code_dir,
    }
