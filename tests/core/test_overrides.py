"""--set: parsing against the schema, YAML values, text fields, pure application."""

from __future__ import annotations

import pytest

from cloudgd.errors import SpecError
from cloudgd.overrides import apply_overrides, parse_override, parse_overrides


def test_values_are_read_as_yaml() -> None:
    assert parse_override("resources.nodes=2").value == 2
    assert parse_override("trainer.model.hidden=[64,32]").value == [64, 32]
    assert parse_override("scaling.spot=true").value is True
    assert parse_override("trainer.early_stopping={metric: val_loss}").value == {
        "metric": "val_loss"
    }
    assert parse_override("trainer.model.args.depth=3").value == 3  # free-form block


def test_text_fields_keep_the_raw_text() -> None:
    assert parse_override("env.EPOCHS=5").value == "5"
    assert parse_override("tags.enabled=yes").value == "yes"
    assert parse_override("name=my-job").value == "my-job"
    assert parse_override("description=a: b").value == "a: b"
    assert parse_override("resources.region=null").value is None  # optional: null clears it
    assert parse_override("env.EMPTY=").value == ""


def test_path_must_exist_in_the_schema() -> None:
    with pytest.raises(SpecError) as caught:
        parse_override("trainer.optimzer.lr=1")
    assert caught.value.message == (
        "--set trainer.optimzer.lr=1: unknown field 'optimzer' in trainer; "
        "did you mean 'optimizer'?"
    )
    with pytest.raises(SpecError) as far:
        parse_override("limits.zzz=1")
    assert far.value.message == "--set limits.zzz=1: unknown field 'zzz' in limits"
    assert far.value.hint == (
        "fields there: max_runtime, max_cost_usd, expected_runtime, on_budget, price_per_hour_usd"
    )


@pytest.mark.parametrize(
    "text, message",
    [
        ("epochs", "--set epochs: expected PATH=VALUE with a dotted field path"),
        ("trainer..epochs=1",
         "--set trainer..epochs=1: expected PATH=VALUE with a dotted field path"),
        ("a\nb=1", "--set 'a\\nb=1': unknown field 'a\\nb' in the top level"),
        ("trainer.model.hidden.0=3",
         "--set trainer.model.hidden.0=3: trainer.model.hidden is a list; set it whole"),
        ("name.first=x", "--set name.first=x: name is a single value, it has no fields"),
        ("trainer.epochs=[1",
         "--set trainer.epochs=[1: bad value: not valid YAML: while parsing a flow sequence: "
         "expected ',' or ']', but got '<stream end>'"),
    ],
)  # fmt: skip
def test_malformed_overrides(text: str, message: str) -> None:
    with pytest.raises(SpecError) as caught:
        parse_override(text)
    assert caught.value.message == message


def test_all_bad_overrides_are_reported_together() -> None:
    with pytest.raises(SpecError) as caught:
        parse_overrides(["x=1", "trainer.epochs=2", "y=2"])
    assert len(caught.value.lines()) == 2


def test_apply_is_pure_and_creates_missing_blocks() -> None:
    document = {"name": "a-job", "trainer": {"early_stopping": None}}
    result = apply_overrides(
        document,
        parse_overrides(["trainer.early_stopping.patience=3", "providers.aws.profile=dev"]),
    )
    assert result == {
        "name": "a-job",
        "trainer": {"early_stopping": {"patience": 3}},
        "providers": {"aws": {"profile": "dev"}},
    }
    assert document == {"name": "a-job", "trainer": {"early_stopping": None}}


def test_apply_refuses_to_descend_into_a_non_mapping() -> None:
    with pytest.raises(SpecError, match="trainer is str in the file, not a mapping"):
        apply_overrides({"trainer": "oops"}, parse_overrides(["trainer.epochs=2"]))


def test_later_overrides_win() -> None:
    result = apply_overrides({}, parse_overrides(["trainer.epochs=2", "trainer.epochs=3"]))
    assert result == {"trainer": {"epochs": 3}}
