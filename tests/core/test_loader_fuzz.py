"""Throw random and mutated documents at the loader: only clean SpecErrors may come out.

Bounded (a few hundred examples per property) so it runs in seconds; a longer
campaign is a separate job.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from cloudgd.errors import SpecError
from cloudgd.loader import load_spec, parse_document, validate_document
from cloudgd.overrides import parse_override
from tests.core.conftest import REPO

FUZZ = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
VALID: dict[str, Any] = yaml.safe_load((REPO / "examples" / "digits.yaml").read_text())
FIELD_WORDS = ["name", "trainer", "model", "optimizer", "lr", "epochs", "resources",
               "nodes", "scaling", "spot", "limits", "max_runtime", "env", "tags", "hidden",
               "kind"]  # fmt: skip
YAML_TOKENS = [":", ": ", "- ", "\n", "  ", "\t", "[", "]", "{", "}", ",", "&a ", "*a", "<<: ",
               "#", '"', "'", "!!str ", "!!python/object ", "? ", "---\n", "...", "|", ">",
               "1e999", "-1", "0x1f", "yes", "null", "~", "2024-01-01", "\x00", "\ufeff",
               *FIELD_WORDS]  # fmt: skip

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**40), max_value=10**40),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=20),
    st.sampled_from(["6h", "A100:8", "tpu-v5e:8", "none", "adamw", "digits", "1h30m"]),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(
            st.one_of(st.sampled_from(FIELD_WORDS), st.text(max_size=8)), inner, max_size=4
        ),
    ),
    max_leaves=12,
)  # fmt: skip


NOISE = ("Input should be", "https://", "pydantic")


def assert_clean(error: SpecError) -> None:
    """One non-empty line per problem, none of Pydantic's phrasing or links."""
    lines = error.lines()
    assert lines
    for line in lines:
        assert line and "\n" not in line
        assert not any(noise in line for noise in NOISE)


def check(text: str, source: str = "job.yaml") -> None:
    assume(not any(noise in text for noise in NOISE))  # echoed input may say anything
    try:
        validate_document(parse_document(text, source), source)
    except SpecError as error:
        assert_clean(error)


@FUZZ
@given(st.text(max_size=300))
def test_random_text(text: str) -> None:
    check(text)
    check(text, "job.json")


@FUZZ
@given(st.lists(st.sampled_from(YAML_TOKENS), max_size=40))
def test_yaml_shaped_noise(tokens: list[str]) -> None:
    check("".join(tokens))


@FUZZ
@given(values)
def test_random_documents(document: Any) -> None:
    check(json.dumps(document, default=str), "job.json")
    check(yaml.safe_dump(document))


def _mutate(document: Any, path: list[int], action: str, value: Any, key: str) -> Any:
    """Walk ``path`` (indexes into the keys met) and apply one mutation there."""
    node = document
    for step in path:
        if not isinstance(node, dict) or not node:
            break
        child_key = sorted(node)[step % len(node)]
        if not isinstance(node[child_key], dict):
            break
        node = node[child_key]
    if not isinstance(node, dict) or not node:
        return document
    target = sorted(node)[path[-1] % len(node)] if path else sorted(node)[0]
    if action == "delete":
        del node[target]
    elif action == "replace":
        node[target] = value
    elif action == "insert":
        node[key] = value
    elif action == "typo":
        node[target[:-1] + key[:1]] = node.pop(target)
    return document


@FUZZ
@given(
    st.lists(st.integers(min_value=0, max_value=50), min_size=1, max_size=4),
    st.sampled_from(["delete", "replace", "insert", "typo"]),
    values,
    st.text(min_size=1, max_size=8),
)
def test_mutated_valid_documents(path: list[int], action: str, value: Any, key: str) -> None:
    document = _mutate(json.loads(json.dumps(VALID)), path, action, value, key)
    check(yaml.safe_dump(document))


@FUZZ
@given(st.text(max_size=60))
def test_random_overrides(text: str) -> None:
    assume(not any(noise in text for noise in NOISE))
    try:
        parse_override(text)
    except SpecError as error:
        assert_clean(error)


@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


@FUZZ
@given(st.binary(max_size=200))
def test_random_bytes_from_a_file(scratch: Path, data: bytes) -> None:
    path = scratch / "job.yaml"
    path.write_bytes(data)
    try:
        load_spec(path)
    except SpecError as error:
        assert_clean(error)
