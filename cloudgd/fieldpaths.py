"""Walk the JobSpec schema by dotted path: which fields exist at a level, what type a leaf has.

The loader uses it to suggest "did you mean" for unknown keys; ``--set`` uses it to
reject paths the schema does not have before anything is validated.
"""

from __future__ import annotations

import difflib
import re
import types
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel

from cloudgd.provider_options import concrete
from cloudgd.spec import JobSpec

PathPart = str | int


@dataclass(frozen=True)
class Node:
    """What the schema holds at a path.

    ``kind`` is ``model`` (fixed fields), ``mapping`` (free keys, e.g. ``env``),
    ``list``, ``any`` (free-form, e.g. ``trainer.model.args``) or ``scalar``.
    """

    kind: Literal["model", "mapping", "list", "any", "scalar"]
    annotation: Any
    optional: bool = False

    @property
    def model(self) -> type[BaseModel]:
        assert isinstance(self.annotation, type) and issubclass(self.annotation, BaseModel)
        return self.annotation

    @property
    def fields(self) -> list[str]:
        """Field names at this level (models only)."""
        return list(self.model.model_fields) if self.kind == "model" else []

    @property
    def is_text(self) -> bool:
        """A leaf whose values are plain strings (``--set`` keeps the raw text for these)."""
        return self.kind == "scalar" and self.annotation is str


class UnknownPathError(Exception):
    """``path[: index + 1]`` names no field of the schema."""

    def __init__(self, path: Sequence[PathPart], index: int, reason: str) -> None:
        super().__init__(reason)
        self.path = tuple(path)
        self.index = index
        self.reason = reason


def _unwrap(annotation: Any) -> tuple[Any, bool]:
    """Strip ``Annotated`` and ``| None``; returns (inner annotation, was optional)."""
    optional = False
    while True:
        origin = get_origin(annotation)
        if origin is Annotated:
            annotation = get_args(annotation)[0]
        elif origin in (Union, types.UnionType):
            args = [a for a in get_args(annotation) if a is not type(None)]
            optional = optional or len(args) < len(get_args(annotation))
            if len(args) != 1:
                return Any, optional
            annotation = args[0]
        else:
            return annotation, optional


def node_for(annotation: Any) -> Node:
    """Classify one annotation."""
    inner, optional = _unwrap(annotation)
    origin = get_origin(inner)
    if isinstance(inner, type) and issubclass(inner, BaseModel):
        # ``providers`` is typed by the registered providers, known only at run time.
        return Node("model", concrete(inner), optional)
    if inner is dict or origin is dict:
        return Node("mapping", inner, optional)
    if inner in (list, tuple) or origin in (list, tuple):
        return Node("list", inner, optional)
    if inner is Any:
        return Node("any", inner, optional)
    return Node("scalar", inner, optional)


def _mapping_value(node: Node) -> Node:
    args = get_args(node.annotation)
    return node_for(args[1] if len(args) == 2 else Any)


_PLAIN_KEY = re.compile(r"[A-Za-z0-9_-]+")


def path_text(path: Sequence[PathPart]) -> str:
    """``('trainer', 'model', 'hidden', 0)`` → ``trainer.model.hidden[0]``.

    Keys that are not plain words are quoted (``env['A B']``) so a line stays one line.
    """
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        elif _PLAIN_KEY.fullmatch(part):
            out += f".{part}" if out else part
        else:
            out += f"[{part!r}]"
    return out


def suggestion(name: str, choices: Sequence[str]) -> str | None:
    """The closest of ``choices`` to ``name``, if any is close."""
    close = difflib.get_close_matches(name, list(choices), n=1, cutoff=0.6)
    return close[0] if close else None


def resolve(path: Sequence[PathPart], root: type[BaseModel] = JobSpec) -> Node:
    """The schema node at ``path`` (from ``root``), or UnknownPathError naming the bad part."""
    node = Node("model", root)
    for index, part in enumerate(path):
        if node.kind == "model":
            if not isinstance(part, str) or part not in node.model.model_fields:
                close = suggestion(str(part), node.fields)
                where = path_text(path[:index]) or "the top level"
                reason = f"unknown field {part!r} in {where}"
                reason += f"; did you mean {close!r}?" if close else ""
                raise UnknownPathError(path, index, reason)
            node = node_for(node.model.model_fields[part].annotation)
        elif node.kind == "mapping":
            node = _mapping_value(node)
        elif node.kind == "list":
            if not isinstance(part, int):
                raise UnknownPathError(
                    path, index, f"{path_text(path[:index])} is a list; set it whole"
                )
            args = get_args(node.annotation)
            node = node_for(args[0] if args else Any)
        elif node.kind == "any":
            continue
        else:
            raise UnknownPathError(
                path, index, f"{path_text(path[:index])} is a single value, it has no fields"
            )
    return node
