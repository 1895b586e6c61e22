"""The name a cloud's tuner gives a tuned value, for the trainer and for script jobs.

A trainer field travels under its dotted path (``trainer.optimizer.lr``), which the
trainer reads as an override. A script argument (``script.args.lr``) travels under its
own name (``lr``): SageMaker passes hyperparameters as ``--lr VALUE`` and Vertex
appends ``--lr=VALUE``, which the launcher hands to the script after its own args.
"""

from __future__ import annotations

from cloudgd.script_spec import SCRIPT_ARGS


def cloud_name(path: str) -> str:
    """``script.args.lr`` -> ``lr``; a trainer path unchanged."""
    return path[len(SCRIPT_ARGS) :] if path.startswith(SCRIPT_ARGS) else path


def command_override(path: str, value: str) -> str:
    """What a trial's command line adds for one tuned value: ``--lr VALUE`` for a script
    argument, ``--set trainer.x=VALUE`` (the trainer's override) otherwise."""
    if path.startswith(SCRIPT_ARGS):
        return f"--{cloud_name(path)} {value}"
    return f"--set {path}={value}"
