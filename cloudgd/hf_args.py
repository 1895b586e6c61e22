"""Check a Hugging Face job's ``trainer.model.args`` before anything starts.

At run time the trainer refuses unknown ``model.args`` keys only after a machine has
started, and ``transformers`` silently drops ``model.args.config`` settings its config
class does not have (a typo such as ``hidden_dropout_prb`` just does nothing). Both are
known here. Nothing is downloaded: the config class comes from ``config.json`` in a
local model directory, from the Hugging Face cache already on this machine, or from
the model type that ``model.name`` starts with (``bert-base-uncased`` → ``bert``).
``transformers`` is imported only for huggingface specs, and only when installed.
"""

from __future__ import annotations

import difflib
import json
from dataclasses import dataclass, field, fields, is_dataclass
from pathlib import Path
from typing import Any

from trainers.config import HF_ARG_KEYS, ModelConfig

_FIELD = "trainer.model.args"
_TYPES: dict[str, tuple[type, str]] = {
    "pretrained": (bool, "true or false"),
    "tokenizer": (str, "a tokenizer name or directory"),
    "revision": (str, "a hub revision (branch, tag or commit)"),
    "config": (dict, "a mapping of model config settings"),
}
_MAX_CONFIG_BYTES = 1 << 20


@dataclass
class ArgsCheck:
    """Problems (``field: what is wrong``) and notes (what could not be checked)."""

    problems: list[str] = field(default_factory=list)
    hints: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def _did_you_mean(name: str, known: list[str]) -> str:
    close = difflib.get_close_matches(name, known, n=1)
    return f"; did you mean {close[0]!r}?" if close else ""


def check_hf_args(model: ModelConfig, base_dir: Path) -> ArgsCheck:
    """Every problem with ``model.args`` of a ``kind: huggingface`` model (none otherwise)."""
    result = ArgsCheck()
    if model.kind != "huggingface":
        return result
    accepted = sorted(HF_ARG_KEYS)
    for key in sorted(set(model.args) - HF_ARG_KEYS, key=str):
        result.problems.append(
            f"{_FIELD}.{key}: not an argument of a huggingface model (accepted: "
            f"{', '.join(accepted)}){_did_you_mean(str(key), accepted)}"
        )
    for key, (kind, meaning) in _TYPES.items():
        value = model.args.get(key)
        if value is not None and not isinstance(value, kind):
            result.problems.append(
                f"{_FIELD}.{key}: must be {meaning} (got {type(value).__name__} {value!r})"
            )
    settings = model.args.get("config")
    if isinstance(settings, dict) and "num_labels" in settings:
        # trainers/hf.py passes num_labels itself; a second one is a TypeError at run time.
        result.problems.append(
            f"{_FIELD}.config.num_labels: set by the trainer from the data's classes; remove it"
        )
    if isinstance(settings, dict) and settings:
        _check_config(model, settings, base_dir, result)
    return result


def _check_config(
    model: ModelConfig, settings: dict[str, Any], base_dir: Path, result: ArgsCheck
) -> None:
    try:
        import transformers
    except ImportError:
        result.notes.append(
            f"{_FIELD}.config not checked: transformers is not installed here "
            "(pip install 'cloudgd[hf]')"
        )
        return
    assert model.name is not None  # ModelConfig requires it for kind=huggingface
    # Building a default config can log warnings about its own defaults; they are noise
    # here. The caller's verbosity is put back (the Python API runs in their process).
    verbosity = transformers.logging.get_verbosity()
    transformers.logging.set_verbosity_error()
    try:
        found = _config_class(transformers, model, base_dir)
        known = _settings_of(found[0]) if found else None
    finally:
        transformers.logging.set_verbosity(verbosity)
    if found is None:
        result.notes.append(
            f"{_FIELD}.config not checked: no config for {model.name!r} here (no config.json "
            "with a model_type, not in the Hugging Face cache, no model type in the name); "
            "nothing is downloaded to validate"
        )
        return
    config_class, origin = found
    if known is None:
        result.notes.append(f"{_FIELD}.config not checked: {config_class.__name__} has no defaults")
        return
    names = sorted(known)
    for key in sorted(set(settings) - known, key=str):
        result.problems.append(
            f"{_FIELD}.config.{key}: not a setting of {config_class.__name__} "
            f"({origin}){_did_you_mean(str(key), names)}"
        )
    if set(settings) - known:
        result.hints.append(f"{config_class.__name__} settings: {', '.join(names)}")


def _config_class(tf: Any, model: ModelConfig, base_dir: Path) -> tuple[type, str] | None:
    """(config class, where it came from), without touching the network."""
    name = str(model.name)
    mapping = tf.CONFIG_MAPPING
    for folder in (base_dir / Path(name).expanduser(), Path(name).expanduser()):
        if folder.is_dir():
            model_type = _model_type(folder / "config.json")
            if model_type in mapping:
                return mapping[model_type], f"model_type {model_type!r} of {folder}/config.json"
            return None
    try:
        cached = tf.AutoConfig.from_pretrained(
            name, revision=model.args.get("revision"), local_files_only=True
        )
    except Exception:  # not in the cache (or unreadable): try the name
        cached = None
    if cached is not None:
        return type(cached), f"the cached config of {name!r}"
    stem = name.rstrip("/").rsplit("/", 1)[-1].lower()
    matches = [t for t in mapping if stem == t or stem.startswith(f"{t}-")]
    if not matches:
        return None
    model_type = max(matches, key=len)
    return mapping[model_type], f"model type {model_type!r} from model.name {name!r}"


def _model_type(config_json: Path) -> str | None:
    try:
        with config_json.open("rb") as stream:
            document = json.loads(stream.read(_MAX_CONFIG_BYTES))
    except (OSError, ValueError):
        return None
    value = document.get("model_type") if isinstance(document, dict) else None
    return value if isinstance(value, str) else None


def _settings_of(config_class: type) -> set[str] | None:
    """Names a config of this class keeps: its attributes, aliases and settable properties."""
    try:
        instance = config_class()
    except Exception:  # composite configs need sub-configs to build
        return None
    names = {n for n in vars(instance) if not n.startswith("_")}
    names |= set(getattr(config_class, "attribute_map", {}) or {})
    if is_dataclass(config_class):
        names |= {f.name for f in fields(config_class) if not f.name.startswith("_")}
    for klass in config_class.__mro__:
        for attr, value in vars(klass).items():
            if isinstance(value, property) and value.fset is not None and not attr.startswith("_"):
                names.add(attr)
    return names
