"""Parse job documents (YAML or JSON) defensively: one clear error, never a hang or a traceback.

Job files come from people and from CI templating, so the parser refuses what
would surprise either: duplicate keys (YAML keeps the last one silently), keys
YAML reads as booleans or numbers (``on:``, ``no:``), alias expansion past a small
bound (the "billion laughs" bomb), recursive aliases, deep nesting, numbers too
large to mean anything, and NaN/infinity.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

MAX_BYTES = 1 << 20  # a job spec is a few KiB; anything past 1 MiB is a mistake or an attack
MAX_DEPTH = 64
MAX_ALIASES = 100
MAX_EXPANDED_NODES = 100_000
MAX_INT_DIGITS = 30
_MERGE_TAG = "tag:yaml.org,2002:merge"


class DocumentError(Exception):
    """The text is not an acceptable document; ``line`` is 1-based when known."""

    def __init__(self, message: str, line: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.line = line

    def located(self, source: str) -> str:
        """``job.yaml: line 3: <message>``."""
        where = f"{source}: line {self.line}" if self.line else source
        return f"{where}: {self.message}"


def _line(node: Node) -> int:
    return int(node.start_mark.line) + 1


def _children(node: Node) -> list[Node]:
    if isinstance(node, MappingNode):
        return [part for pair in node.value for part in pair]
    if isinstance(node, SequenceNode):
        return list(node.value)
    return []


def check_expansion(root: Node) -> None:
    """Refuse recursive aliases and documents whose alias-expanded size or depth is too big.

    Iterative, so a hostile document cannot exhaust the Python stack here.
    """
    measured: dict[int, tuple[int, int]] = {}  # id(node) -> (expanded size, expanded depth)
    entered: set[int] = set()
    stack: list[tuple[Node, bool]] = [(root, False)]
    while stack:
        node, children_done = stack.pop()
        key = id(node)
        if children_done:
            entered.discard(key)
            kids = [measured[id(kid)] for kid in _children(node)]
            size = 1 + sum(s for s, _ in kids)
            depth = 1 + max((d for _, d in kids), default=0)
            if size > MAX_EXPANDED_NODES:
                raise DocumentError(
                    f"aliases expand to more than {MAX_EXPANDED_NODES} values", _line(node)
                )
            if depth > MAX_DEPTH:
                raise DocumentError(f"nested deeper than {MAX_DEPTH} levels", _line(node))
            measured[key] = (size, depth)
            continue
        if key in measured:
            continue
        if key in entered:
            raise DocumentError("an alias refers to a value that contains it", _line(node))
        entered.add(key)
        stack.append((node, True))
        stack.extend((kid, False) for kid in _children(node) if id(kid) not in measured)


# YAML 1.1 reads `1:30` as the base-60 number 90 and `010` as octal 8; YAML 1.2 (and every
# editor's schema check) reads them as text and 10. They stay text here, so a number field
# refuses `1:30` with its name, and a text field (an env value, a time) keeps what was written.
_SEXAGESIMAL_OR_OCTAL = re.compile(
    r"^[-+]?(?:[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?|0[0-7_]+)$"
)


def _yaml11_only(text: str) -> bool:
    return bool(_SEXAGESIMAL_OR_OCTAL.match(text))


class SpecLoader(yaml.SafeLoader):
    """SafeLoader with the limits above. Timestamps stay text: no spec field is a date."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0
        self._aliases = 0

    def compose_node(self, parent: Node | None, index: Any) -> Node | None:
        if self.check_event(yaml.AliasEvent):
            self._aliases += 1
            if self._aliases > MAX_ALIASES:
                mark = self.peek_event().start_mark
                raise DocumentError(f"more than {MAX_ALIASES} aliases", int(mark.line) + 1)
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                mark = self.peek_event().start_mark
                raise DocumentError(f"nested deeper than {MAX_DEPTH} levels", int(mark.line) + 1)
            return super().compose_node(parent, index)  # type: ignore[no-any-return]
        finally:
            self._depth -= 1

    def get_single_node(self) -> Node | None:
        node = super().get_single_node()
        if node is not None:
            check_expansion(node)
        return node  # type: ignore[no-any-return]

    def construct_mapping(self, node: MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            if key_node.tag == _MERGE_TAG:
                continue  # merge keys may be overridden by explicit ones; that is their point
            key = self.construct_object(key_node, deep=True)
            if not isinstance(key_node, ScalarNode):
                raise DocumentError("a key must be text, not a list or mapping", _line(key_node))
            if not isinstance(key, str):
                kind = "nothing" if key is None else type(key).__name__
                raise DocumentError(
                    f"key {key_node.value!r} is read by YAML as {kind}, not text; "
                    f"quote it: '{key_node.value}'",
                    _line(key_node),
                )
            if key in seen:
                raise DocumentError(
                    f"duplicate key {key!r} (first at line {seen[key]})", _line(key_node)
                )
            seen[key] = _line(key_node)
        return super().construct_mapping(node, deep=deep)  # type: ignore[no-any-return]

    def construct_int_or_text(self, node: ScalarNode) -> int | str:
        if _yaml11_only(node.value):
            return str(node.value)
        if sum(ch.isdigit() for ch in node.value) > MAX_INT_DIGITS:
            raise DocumentError(f"number {node.value[:20]}... is too large", _line(node))
        return super().construct_yaml_int(node)

    def construct_float_or_text(self, node: ScalarNode) -> float | str:
        if _yaml11_only(node.value):
            return str(node.value)
        value = super().construct_yaml_float(node)
        if not math.isfinite(value):
            raise DocumentError(
                f"{node.value!r} is not a finite number (infinity and NaN are not allowed)",
                _line(node),
            )
        return value  # type: ignore[no-any-return]

    def construct_timestamp_as_text(self, node: ScalarNode) -> str:
        return str(node.value)


# YAML 1.2 (and every editor's schema check) reads 3e-3 as a number; PyYAML's 1.1 rules
# want a dot (3.0e-3) and would hand validation the text "3e-3".
SpecLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?[0-9][0-9_]*(?:\.[0-9_]*)?[eE][-+]?[0-9]+$"),
    list("-+0123456789"),
)
SpecLoader.add_constructor("tag:yaml.org,2002:int", SpecLoader.construct_int_or_text)
SpecLoader.add_constructor("tag:yaml.org,2002:float", SpecLoader.construct_float_or_text)
SpecLoader.add_constructor("tag:yaml.org,2002:timestamp", SpecLoader.construct_timestamp_as_text)


def _yaml_error(error: yaml.YAMLError, text: str) -> DocumentError:
    if isinstance(error, yaml.MarkedYAMLError):
        mark = error.problem_mark or error.context_mark
        problem = error.problem or error.context or "unreadable"
        if error.context and error.problem:
            problem = (
                f"{error.context}, {problem}"
                if problem.startswith("but ")
                else f"{error.context}: {problem}"
            )
        message = f"not valid YAML: {problem}"
        if "'\\t'" in problem:
            message += " (indent with spaces, not tabs)"
        return DocumentError(message, int(mark.line) + 1 if mark else None)
    if isinstance(error, yaml.reader.ReaderError):
        char = chr(error.character) if isinstance(error.character, int) else error.character
        line = text.count("\n", 0, max(int(error.position), 0)) + 1
        return DocumentError(f"contains the control character {char!r}, which YAML forbids", line)
    return DocumentError("not valid YAML: " + " ".join(str(error).split()))


def parse_yaml(text: str) -> Any:
    """One YAML document → Python data, or DocumentError."""
    try:
        return yaml.load(text, Loader=SpecLoader)
    except DocumentError:
        raise
    except yaml.YAMLError as error:
        raise _yaml_error(error, text) from None
    except RecursionError:
        raise DocumentError(f"nested deeper than {MAX_DEPTH} levels") from None


def _json_pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise DocumentError(f"duplicate key {key!r}")
        out[key] = value
    return out


def _json_int(text: str) -> int:
    if sum(ch.isdigit() for ch in text) > MAX_INT_DIGITS:
        raise DocumentError(f"number {text[:20]}... is too large")
    return int(text)


def _json_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise DocumentError(f"{text!r} is not a finite number")
    return value


def _json_constant(text: str) -> Any:
    raise DocumentError(f"{text} is not allowed (use a finite number)")


def _json_depth(value: Any) -> int:
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, depth = stack.pop()
        deepest = max(deepest, depth)
        if isinstance(item, dict):
            stack.extend((v, depth + 1) for v in item.values())
        elif isinstance(item, list):
            stack.extend((v, depth + 1) for v in item)
    return deepest


def parse_json(text: str) -> Any:
    """One JSON document → Python data, or DocumentError."""
    try:
        value = json.loads(
            text,
            object_pairs_hook=_json_pairs,
            parse_int=_json_int,
            parse_float=_json_float,
            parse_constant=_json_constant,
        )
    except json.JSONDecodeError as error:
        message = f"not valid JSON: {error.msg} (column {error.colno})"
        raise DocumentError(message, error.lineno) from None
    except RecursionError:
        raise DocumentError(f"nested deeper than {MAX_DEPTH} levels") from None
    if _json_depth(value) > MAX_DEPTH:
        raise DocumentError(f"nested deeper than {MAX_DEPTH} levels")
    return value
