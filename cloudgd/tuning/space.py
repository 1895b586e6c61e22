"""Search-space helpers shared by the provider renderers: names, value text, strategy words.

Pure functions; no provider SDK, no optimiser library.
"""

from __future__ import annotations

import json
import re

from cloudgd.tuning.spec import ParameterRange, Scalar, TuningSpec

_UNSAFE = re.compile(r"[^A-Za-z0-9_]")


def value_text(value: Scalar) -> str:
    """How a trial value travels as text (a hyperparameter, a ``--set``, a CLI argument).

    Strings stay as written; everything else is JSON, which the trainer's override
    parser reads back (``32`` → int, ``true`` → bool, ``0.01`` → float).
    """
    return value if isinstance(value, str) else json.dumps(value)


def identifier(path: str) -> str:
    """``trainer.optimizer.lr`` → ``trainer_optimizer_lr`` (for services that want identifiers)."""
    return _UNSAFE.sub("_", path)


def ordered(tuning: TuningSpec) -> list[tuple[str, ParameterRange]]:
    """Parameters sorted by path, so renders are byte-stable whatever the file's order."""
    return sorted(tuning.parameters.items())


def by_type(tuning: TuningSpec, *types: str) -> list[tuple[str, ParameterRange]]:
    """The parameters of the given range types, sorted by path."""
    return [(p, r) for p, r in ordered(tuning) if r.type in types]


def number_text(value: float) -> str:
    """A bound as text: ``1e-4`` stays compact, ``64.0`` becomes ``64``."""
    if float(value).is_integer() and abs(value) < 1e15:
        return str(int(value))
    return repr(float(value))
