"""Check a ``tuning:`` block against the job it tunes: every path is a trainer field,
every range fits that field's type, and every extreme value makes a valid trainer.

Called from ``JobSpec``'s own validation, so ``cloudgd validate``, ``plan`` and
``submit`` all refuse a bad search space with a line naming the path.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, Literal, get_args

from pydantic import ValidationError

from cloudgd.tuning.spec import ParameterRange, Scalar, TuningSpec

if TYPE_CHECKING:
    from trainers.config import TrainConfig

TRAINER = "trainer"


def trainer_parts(path: str) -> tuple[str, ...]:
    """``trainer.optimizer.lr`` → ``('optimizer', 'lr')`` (the part below ``trainer``)."""
    return tuple(path.split("."))[1:]


def _where(path: str) -> str:
    return f"tuning.parameters[{path!r}]"


def _field_kind(path: str) -> tuple[str, tuple[Any, ...]]:
    """('int' | 'float' | 'bool' | 'str' | 'literal' | 'any', literal choices)."""
    from cloudgd.fieldpaths import UnknownPathError, resolve

    parts = tuple(path.split("."))
    if parts[0] != TRAINER or len(parts) < 2 or not all(parts):
        raise ValueError(
            f"{_where(path)}: only trainer fields can be tuned (e.g. trainer.optimizer.lr): "
            "cloud tuners hand each trial's values to the trainer"
        )
    try:
        node = resolve(parts)
    except UnknownPathError as error:
        raise ValueError(f"{_where(path)}: {error.reason}") from None
    if node.kind == "any":
        return "any", ()
    if node.kind != "scalar":
        raise ValueError(
            f"{_where(path)}: {path} is a {node.kind}, not a single value; tune one of its fields"
        )
    annotation = node.annotation
    if annotation is bool:
        return "bool", ()
    if annotation is int:
        return "int", ()
    if annotation is float:
        return "float", ()
    if annotation is str:
        return "str", ()
    choices = get_args(annotation) if getattr(annotation, "__origin__", None) is Literal else ()
    if choices:
        return "literal", choices
    return "any", ()


def _check_type(path: str, rng: ParameterRange, kind: str, choices: tuple[Any, ...]) -> None:
    if rng.type in ("uniform", "log_uniform") and kind not in ("float", "any"):
        better = "int_uniform" if kind == "int" else "choice"
        raise ValueError(
            f"{_where(path)}: {path} is {_article(kind)} field; {rng.type} draws floats "
            f"(use {better})"
        )
    if rng.type == "int_uniform" and kind not in ("int", "float", "any"):
        raise ValueError(f"{_where(path)}: {path} is {_article(kind)} field; use type choice")
    if rng.type == "choice" and kind == "literal":
        unknown = [v for v in rng.candidates if v not in choices]
        if unknown:
            allowed = ", ".join(str(c) for c in choices)
            raise ValueError(
                f"{_where(path)}: {unknown[0]!r} is not one of {path}'s values ({allowed})"
            )


def _article(kind: str) -> str:
    return {"int": "an integer", "bool": "a true/false", "str": "a text"}.get(kind, f"a {kind}")


def probe_values(rng: ParameterRange) -> list[Scalar]:
    """Values that exercise a range's limits: both ends, or every choice."""
    if rng.type == "choice":
        return rng.candidates
    if rng.type == "int_uniform":
        return [int(rng.low), int(rng.high)]
    return [rng.low, rng.high]


def with_values(trainer: dict[str, Any], values: dict[str, Any]) -> dict[str, Any]:
    """A copy of a trainer mapping with each dotted ``trainer.*`` path set to its value."""
    import copy

    out = copy.deepcopy(trainer)
    for path, value in values.items():
        node = out
        parts = trainer_parts(path)
        for part in parts[:-1]:
            child = node.get(part)
            if not isinstance(child, dict):
                child = node[part] = {}
            node = child
        node[parts[-1]] = value
    return out


def trial_trainer(trainer: TrainConfig, values: dict[str, Any]) -> TrainConfig:
    """The trainer config a trial runs: the job's, with the trial's values set."""
    from trainers.config import TrainConfig

    return TrainConfig.model_validate(with_values(trainer.model_dump(mode="json"), values))


def _probes(tuning: TuningSpec) -> Iterator[tuple[str, Scalar]]:
    for path, rng in tuning.parameters.items():
        for value in probe_values(rng):
            yield path, value


def check_tuning(tuning: TuningSpec, trainer: TrainConfig) -> None:
    """Raise ValueError naming the first path whose range does not fit the trainer."""
    from cloudgd.tuning.spec import TUNABLE_METRICS

    if tuning.metric.name not in TUNABLE_METRICS:
        raise ValueError(
            f"tuning.metric.name: the trainer reports no metric {tuning.metric.name!r} "
            f"(it reports {', '.join(TUNABLE_METRICS)})"
        )
    for path, rng in tuning.parameters.items():
        kind, choices = _field_kind(path)
        _check_type(path, rng, kind, choices)
    for path, value in _probes(tuning):
        try:
            trial_trainer(trainer, {path: value})
        except ValidationError as error:
            from cloudgd.spec_messages import describe
            from trainers.config import TrainConfig

            first = error.errors()[0]
            loc = ".".join(str(p) for p in first["loc"])
            message = describe(first, TrainConfig)
            at = f" ({TRAINER}.{loc})" if loc and f"{TRAINER}.{loc}" != path else ""
            raise ValueError(f"{_where(path)}: value {value!r} is invalid{at}: {message}") from None
