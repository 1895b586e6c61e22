"""Find, read and override the TrainConfig a run uses. Torch-free.

Search order: ``--config FILE``, ``$CLOUDGD_CONFIG``, ``./cloudgd-job.json``, then
``cloudgd-job.json`` beside the ``trainers`` package (where the code bundle puts it).
A file may hold a TrainConfig or a whole job spec, whose ``trainer:`` block is used.

Overrides are ``path=value`` pairs with dotted TrainConfig paths (``optimizer.lr``),
optionally prefixed ``trainer.``; values are JSON when they parse as JSON, else strings.
SageMaker hyperparameters use the same form, which is how tuning trials reach the run.
"""

from __future__ import annotations

import json
import os
import re
import types
import typing
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from trainers.config import TrainConfig
from trainers.errors import ConfigError

# YAML 1.1 reads `1:30` as 90 and `010` as 8; YAML 1.2 (and cloudgd's own loader) reads
# them as text, so `epochs: 1:30` is refused instead of training 90 epochs.
_YAML11_ONLY = re.compile(r"^[-+]?(?:[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?|0[0-7_]+)$")
CONFIG_NAME = "cloudgd-job.json"
CONFIG_ENV = "CLOUDGD_CONFIG"


def find_config_file(explicit: str | None, env: Mapping[str, str]) -> Path:
    """The config file this run uses, by the documented search order."""
    if explicit:
        path = Path(explicit)
        if not path.is_file():
            raise ConfigError(f"--config: file not found: {path}")
        return path
    if env.get(CONFIG_ENV):
        path = Path(env[CONFIG_ENV])
        if not path.is_file():
            raise ConfigError(f"${CONFIG_ENV}: file not found: {path}")
        return path
    bundled = Path(__file__).resolve().parent.parent / CONFIG_NAME
    for candidate in (Path.cwd() / CONFIG_NAME, bundled):
        if candidate.is_file():
            return candidate
    raise ConfigError(
        "no trainer config found",
        hint=f"pass --config FILE, set ${CONFIG_ENV}, or put {CONFIG_NAME} in the working dir",
    )


def read_config_dict(path: Path) -> dict[str, Any]:
    """The TrainConfig mapping in ``path`` (JSON or YAML; a whole job spec is unwrapped)."""
    text = path.read_text(encoding="utf-8")
    try:
        raw = _load_yaml(text) if path.suffix.lower() in (".yaml", ".yml") else json.loads(text)
    except Exception as exc:  # yaml and json raise unrelated types
        raise ConfigError(f"{path}: cannot parse: {exc}".splitlines()[0]) from exc
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: expected a mapping at the top level")
    if "trainer" in raw:  # a whole job spec
        raw = raw["trainer"] or {}
        if not isinstance(raw, dict):
            raise ConfigError(f"{path}: trainer: expected a mapping")
    return dict(raw)


def _load_yaml(text: str) -> Any:
    import yaml

    class Loader(yaml.SafeLoader):
        """SafeLoader without YAML 1.1's base-60 and 0-octal numbers."""

    def number(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> Any:
        if _YAML11_ONLY.match(node.value):
            return str(node.value)
        if node.tag.endswith(":int"):
            return loader.construct_yaml_int(node)
        return loader.construct_yaml_float(node)

    Loader.add_constructor("tag:yaml.org,2002:int", number)
    Loader.add_constructor("tag:yaml.org,2002:float", number)
    return yaml.load(text, Loader=Loader)


def parse_value(text: str) -> Any:
    """JSON when it parses (numbers, booleans, lists, null), else the raw string."""
    try:
        return json.loads(text)
    except (ValueError, TypeError):
        return text


def _model_class(annotation: Any) -> type[BaseModel] | None:
    """The BaseModel inside ``X``, ``X | None`` or ``Optional[X]``, if any."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        for arg in typing.get_args(annotation):
            found = _model_class(arg)
            if found is not None:
                return found
    return None


def _is_free_mapping(annotation: Any) -> bool:
    return annotation is dict or typing.get_origin(annotation) is dict


def check_path(path: str) -> list[str]:
    """Split a dotted override path and check it names a TrainConfig field."""
    parts = path.split(".")
    if parts and parts[0] == "trainer":
        parts = parts[1:]
    if not parts or any(not p for p in parts):
        raise ConfigError(f"override {path!r}: empty path")
    model: type[BaseModel] | None = TrainConfig
    for i, part in enumerate(parts):
        if model is None:
            raise ConfigError(f"override {path!r}: {'.'.join(parts[:i])} has no sub-fields")
        field = model.model_fields.get(part)
        if field is None:
            known = ", ".join(sorted(model.model_fields))
            where = ".".join(parts[:i]) or "trainer"
            raise ConfigError(
                f"override {path!r}: unknown field {part!r} in {where}", hint=f"known: {known}"
            )
        if _is_free_mapping(field.annotation):
            return parts  # e.g. model.args.depth: free-form keys below
        model = _model_class(field.annotation)
    return parts


def apply_overrides(raw: dict[str, Any], overrides: Iterable[tuple[str, Any]]) -> dict[str, Any]:
    """A copy of ``raw`` with each (dotted path, value) set; paths are checked first."""
    out: dict[str, Any] = json.loads(json.dumps(raw))
    for path, value in overrides:
        parts = check_path(path)
        node = out
        for part in parts[:-1]:
            child = node.get(part)
            if not isinstance(child, dict):
                child = {}
                node[part] = child
            node = child
        node[parts[-1]] = value
    return out


def parse_set_args(items: Iterable[str]) -> list[tuple[str, Any]]:
    """``--set a.b=value`` strings as (path, value) pairs."""
    pairs: list[tuple[str, Any]] = []
    for item in items:
        if "=" not in item:
            raise ConfigError(f"--set {item!r}: expected path=value, e.g. optimizer.lr=0.01")
        path, _, value = item.partition("=")
        pairs.append((path.strip(), parse_value(value)))
    return pairs


def hyperparameter_overrides(hps: Mapping[str, Any]) -> list[tuple[str, Any]]:
    """SageMaker hyperparameters that name TrainConfig paths, as override pairs.

    Keys the platform reserves (``sagemaker_*``, ``_tuning_objective_metric``) and keys
    whose first segment is not a TrainConfig field are not ours and are skipped; a key
    whose first segment *is* ours but whose rest is wrong is an error (exit 2).
    Values arrive as JSON-encoded strings.
    """
    top = set(TrainConfig.model_fields) | {"trainer"}
    pairs: list[tuple[str, Any]] = []
    for key in sorted(hps):
        if key.startswith(("sagemaker_", "_")) or key.split(".")[0] not in top:
            continue
        value = hps[key]
        pairs.append((key, parse_value(value) if isinstance(value, str) else value))
    return pairs


def build_config(raw: Mapping[str, Any], source: str) -> TrainConfig:
    """Validate ``raw`` as a TrainConfig; errors name the field path and the source."""
    try:
        return TrainConfig.model_validate(dict(raw))
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            loc = ".".join(str(p) for p in err["loc"]) or "trainer"
            problems.append(f"{loc}: {err['msg']}")
        raise ConfigError(f"{source}: " + "; ".join(problems)) from exc


def load_train_config(
    explicit: str | None,
    env: Mapping[str, str] | None = None,
    sets: Iterable[str] = (),
    hyperparameters: Mapping[str, Any] | None = None,
) -> tuple[TrainConfig, Path]:
    """The run's TrainConfig: file, then hyperparameters, then ``--set`` (last wins)."""
    env = os.environ if env is None else env
    path = find_config_file(explicit, env)
    raw = read_config_dict(path)
    overrides = hyperparameter_overrides(hyperparameters or {}) + parse_set_args(sets)
    raw = apply_overrides(raw, overrides)
    return build_config(raw, str(path)), path
