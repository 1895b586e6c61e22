"""``--set path.to.field=value``: change a job document from the command line (for CI).

Values are read as YAML scalars or flow collections (``--set resources.nodes=2``,
``--set trainer.model.hidden=[64,32]``), except where the field is text: there the
raw text is kept, so ``--set env.EPOCHS=5`` sets the string ``"5"``. Overrides are
applied to the raw document before validation, so the usual checks and messages
apply to the result. Everything here is pure.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from cloudgd.errors import SpecError
from cloudgd.fieldpaths import Node, UnknownPathError, resolve
from cloudgd.safe_yaml import DocumentError, parse_yaml
from cloudgd.spec import JobSpec

_EXAMPLE = "--set trainer.epochs=5"


@dataclass(frozen=True)
class Override:
    """One parsed ``--set``."""

    path: tuple[str, ...]
    value: Any
    text: str

    @property
    def dotted(self) -> str:
        return ".".join(self.path)


def _flag(text: str) -> str:
    """How an override is quoted in messages: as typed, or escaped if it has odd characters."""
    return text if text.isprintable() else repr(text)


def _value(raw: str, node: Node, text: str) -> Any:
    try:
        parsed = parse_yaml(raw)
    except DocumentError as error:
        if node.is_text:
            return raw
        raise SpecError(
            f"--set {_flag(text)}: bad value: {error.message}",
            hint="quote lists and mappings for the shell: --set 'trainer.model.hidden=[64,32]'",
        ) from None
    if node.is_text and not isinstance(parsed, str):
        explicit_null = node.optional and raw.strip() in ("null", "~")
        return None if explicit_null else raw
    return parsed


def parse_override(text: str, root: type[BaseModel] = JobSpec) -> Override:
    """Parse ``a.b.c=value``; SpecError (with "did you mean") for a path the schema lacks."""
    key, sep, raw = text.partition("=")
    path = tuple(key.strip().split("."))
    if not sep or not all(path):
        raise SpecError(
            f"--set {_flag(text)}: expected PATH=VALUE with a dotted field path",
            hint=f"for example {_EXAMPLE}",
        )
    try:
        node = resolve(path, root)
    except UnknownPathError as error:
        hint = None
        if "did you mean" not in error.reason:
            try:
                fields = resolve(path[: error.index], root).fields
            except UnknownPathError:
                fields = []
            if fields:
                hint = f"fields there: {', '.join(fields)}"
        raise SpecError(f"--set {_flag(text)}: {error.reason}", hint=hint) from None
    return Override(path=path, value=_value(raw, node, text), text=text)


def parse_overrides(texts: Iterable[str], root: type[BaseModel] = JobSpec) -> list[Override]:
    """Parse every ``--set``; all problems are reported together."""
    parsed: list[Override] = []
    problems: list[str] = []
    hint = None
    for text in texts:
        try:
            parsed.append(parse_override(text, root))
        except SpecError as error:
            problems.append(error.message)
            hint = hint or error.hint
    if problems:
        raise SpecError(problems[0], hint=hint, problems=problems)
    return parsed


def apply_overrides(document: dict[str, Any], overrides: Sequence[Override]) -> dict[str, Any]:
    """A copy of ``document`` with every override applied in order."""
    result = copy.deepcopy(document)
    for override in overrides:
        current = result
        for depth, part in enumerate(override.path[:-1]):
            child = current.get(part)
            if child is None:
                child = current[part] = {}
            elif not isinstance(child, dict):
                where = ".".join(override.path[: depth + 1])
                raise SpecError(
                    f"--set {_flag(override.text)}: {where} is {type(child).__name__} in the file, "
                    "not a mapping",
                    hint=f"set {where} as a whole instead",
                )
            current = child
        current[override.path[-1]] = override.value
    return result
