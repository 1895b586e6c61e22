"""Tuning a script job: parameters are script arguments, the objective a collected metric.

A parameter ``script.args.lr`` gives each trial ``--lr VALUE``, appended after the
script's own ``args`` (argparse keeps the last value, so a default given in ``args``
is overridden). SageMaker passes its hyperparameters the same way, so every cloud
and the local tuner hand a trial's values to the script identically.
"""

from __future__ import annotations

from typing import Any

from cloudgd.script_spec import ARG_NAME, SCRIPT_ARGS, ScriptSpec
from cloudgd.tuning.spec import TuningSpec


def arg_name(path: str) -> str:
    """``script.args.lr`` -> ``lr``."""
    return path[len(SCRIPT_ARGS) :]


def check_script_tuning(tuning: TuningSpec, script: ScriptSpec) -> None:
    """Raise ValueError naming the first parameter or objective a script job cannot tune."""
    for path in tuning.parameters:
        name = arg_name(path) if path.startswith(SCRIPT_ARGS) else ""
        if not ARG_NAME.match(name):
            raise ValueError(
                f"tuning.parameters[{path!r}]: a script job tunes its arguments: "
                "script.args.<name> passes --<name> VALUE to the script (e.g. script.args.lr)"
            )
    metric = tuning.metric.name
    if metric not in script.metrics.regex and script.metrics.file is None:
        known = ", ".join(script.metric_names) or "none"
        raise ValueError(
            f"tuning.metric.name: script.metrics collects no {metric!r} (it collects: {known}); "
            f"add a regex for it under script.metrics.regex"
        )


def format_value(value: Any) -> str:
    """A trial value as a command-line word (floats without needless digits)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    return str(value)


def trial_args(values: dict[str, Any]) -> list[str]:
    """The arguments a trial appends: ``--name value`` per parameter, sorted by name."""
    out: list[str] = []
    for path, value in sorted(values.items()):
        out += [f"--{arg_name(path)}", format_value(value)]
    return out


def trial_script(script: ScriptSpec, values: dict[str, Any]) -> ScriptSpec:
    """The script block a trial runs: the job's, with the trial's arguments appended."""
    return script.model_copy(update={"args": [*script.args, *trial_args(values)]})
