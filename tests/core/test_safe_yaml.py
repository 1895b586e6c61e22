"""The parser's defences: bombs, recursion, depth, and what YAML would silently misread."""

from __future__ import annotations

import pytest

from cloudgd.safe_yaml import (
    MAX_ALIASES,
    MAX_DEPTH,
    DocumentError,
    parse_json,
    parse_yaml,
)

BILLION_LAUGHS = "\n".join(
    [
        "a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]",
        "b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]",
        "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]",
        "d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]",
        "e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]",
        "f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e]",
    ]
)


def error_of(text: str) -> str:
    with pytest.raises(DocumentError) as caught:
        parse_yaml(text)
    return caught.value.located("job.yaml")


def test_billion_laughs_is_refused() -> None:
    assert error_of(BILLION_LAUGHS) == "job.yaml: line 6: aliases expand to more than 100000 values"


def test_too_many_aliases_are_refused() -> None:
    text = "a: &a 1\nb: [" + ", ".join(["*a"] * (MAX_ALIASES + 1)) + "]\n"
    assert error_of(text) == f"job.yaml: line 2: more than {MAX_ALIASES} aliases"


def test_recursive_alias_is_refused() -> None:
    assert error_of("a: &a [1, *a]\n") == (
        "job.yaml: line 1: an alias refers to a value that contains it"
    )


def test_deep_nesting_is_refused_without_exhausting_the_stack() -> None:
    deep = "[" * 5000 + "]" * 5000
    assert error_of(deep) == f"job.yaml: line 1: nested deeper than {MAX_DEPTH} levels"
    with pytest.raises(DocumentError, match="nested deeper"):
        parse_json(deep)


def test_aliases_cannot_smuggle_depth_past_the_limit() -> None:
    level = "[" * 40 + "x" + "]" * 40
    text = f"a: &a {level}\nb: [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[*a]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]\n"
    assert "nested deeper than" in error_of(text)


def test_complex_keys_and_python_tags_are_refused() -> None:
    assert (
        error_of("? [a, b]\n: c\n") == "job.yaml: line 1: a key must be text, not a list or mapping"
    )
    assert "could not determine a constructor" in error_of("x: !!python/object:os.system ls\n")


def test_control_characters_are_refused_with_their_line() -> None:
    assert error_of("name: a\nb: \x07\n") == (
        "job.yaml: line 2: contains the control character '\\x07', which YAML forbids"
    )


def test_exponent_floats_are_numbers_as_in_yaml_1_2() -> None:
    assert parse_yaml("a: 3e-3\nb: 1E5\nc: -2e+2\nd: 1.5e3\ne: e5\n") == {
        "a": 0.003,
        "b": 100000.0,
        "c": -200.0,
        "d": 1500.0,
        "e": "e5",
    }


def test_plain_values_are_unchanged() -> None:
    assert parse_yaml("a: 1\nb: 2.5\nc: [x, y]\nd: null\ne: yes\n") == {
        "a": 1,
        "b": 2.5,
        "c": ["x", "y"],
        "d": None,
        "e": True,
    }


def test_json_limits() -> None:
    with pytest.raises(DocumentError, match="is too large"):
        parse_json('{"a": ' + "1" * 5000 + "}")
    with pytest.raises(DocumentError, match="not a finite number"):
        parse_json('{"a": 1e999}')
    with pytest.raises(DocumentError, match="Infinity is not allowed"):
        parse_json('{"a": Infinity}')
