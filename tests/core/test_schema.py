"""`cloudgd schema` is a valid JSON Schema that accepts the examples and catches typos."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jsonschema
import pytest

from cloudgd.cli.schema import job_schema
from cloudgd.safe_yaml import parse_yaml
from tests.core.conftest import EXAMPLES, REPO


@pytest.fixture(scope="module")
def validator() -> jsonschema.protocols.Validator:
    schema = job_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def _doc(path: Path) -> Any:
    return parse_yaml(path.read_text())


@pytest.mark.parametrize(
    "path", [*EXAMPLES, REPO / "cloudgd" / "templates" / "job.yaml"], ids=lambda p: p.name
)
def test_examples_validate_against_the_schema(validator: Any, path: Path) -> None:
    assert list(validator.iter_errors(_doc(path))) == []


def test_schema_rejects_unknown_keys_and_bad_types(validator: Any) -> None:
    assert not validator.is_valid({"name": "a-job", "trainer": {"epoch": 3}})
    assert not validator.is_valid({"name": "a-job", "resources": {"nodes": "two"}})
    assert not validator.is_valid({"trainer": {}})  # name is required


def test_schema_describes_every_field() -> None:
    schema = job_schema()
    models = [schema, *schema["$defs"].values()]
    missing = [
        (model.get("title"), name)
        for model in models
        for name, prop in model.get("properties", {}).items()
        if "description" not in prop
    ]
    assert missing == []
