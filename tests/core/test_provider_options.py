"""The ``providers:`` block is typed by the registered providers' ``options_model``."""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

import pytest
from pydantic import Field

from cloudgd import registry
from cloudgd.errors import ProviderError, SpecError
from cloudgd.loader import validate_document
from cloudgd.naming import spec_hash
from cloudgd.plan import JobHandle, JobStatus, Plan, RenderContext
from cloudgd.provider_options import registered
from cloudgd.spec import JobSpec
from providers.aws.options import AwsOptions
from providers.base import Provider
from trainers.config import ConfigModel


class _Minimal(Provider):
    """A provider with only the abstract methods; plan/submit are never called here."""

    name: ClassVar[str] = "minimal"

    def plan(self, spec: JobSpec, ctx: RenderContext) -> Plan:
        raise NotImplementedError

    def submit(self, plan: Plan) -> JobStatus:
        raise NotImplementedError

    def status(self, handle: JobHandle) -> JobStatus:
        raise NotImplementedError

    def logs(self, handle: JobHandle, *, follow: bool = False) -> Iterator[str]:
        raise NotImplementedError

    def cancel(self, handle: JobHandle) -> JobStatus:
        raise NotImplementedError

    def list(self, prefix: str | None = None) -> list[JobStatus]:
        raise NotImplementedError


class RackOptions(ConfigModel):
    """Settings for the rack."""

    rack: str = Field(default="r1", description="Which rack.")


class WithOptions(_Minimal):
    options_model = RackOptions


class WithoutOptions(_Minimal):
    """Declares no options_model: its block takes no fields."""


class NotAModel(_Minimal):
    options_model = dict  # type: ignore[assignment]


DESCRIPTION = "The rack's settings."
"""The block's line when a registration names ``RackOptions`` by this module."""


def _register(
    monkeypatch: pytest.MonkeyPatch, name: str, cls: str, options: str | None = None
) -> None:
    info = registry.ProviderInfo(name, f"{__name__}:{cls}", None, (), "test provider", options)
    monkeypatch.setitem(registry.BUILTINS, name, info)


def _spec(providers: dict[str, object]) -> JobSpec:
    return validate_document({"name": "a-job", "providers": providers}, "job.yaml")


def test_each_registered_provider_gets_a_block_of_its_options_model(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _register(monkeypatch, "rack", "WithOptions")
    spec = _spec({"rack": {"rack": "r7"}, "aws": {"kms_key_id": "k"}})
    assert spec.providers.rack == RackOptions(rack="r7")
    assert spec.providers.aws.kms_key_id == "k"
    assert JobSpec(name="a-job").providers.rack.rack == "r1"  # defaults without a block
    assert registered().options["rack"] is RackOptions


def test_a_typo_in_a_block_names_the_field_path(monkeypatch: pytest.MonkeyPatch) -> None:
    _register(monkeypatch, "rack", "WithOptions")
    with pytest.raises(SpecError) as raised:
        _spec({"rack": {"rak": "r2"}, "raks": {}})
    assert raised.value.problems == [
        "job.yaml: providers.rack.rak: unknown field; did you mean 'rack'?",
        "job.yaml: providers.raks: unknown field; did you mean 'rack'?",
    ]


def test_a_provider_without_options_model_takes_an_empty_block(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _register(monkeypatch, "bare", "WithoutOptions")
    assert _spec({"bare": {}}).providers.bare.model_dump() == {}
    with pytest.raises(SpecError, match=r"job.yaml: providers.bare.x: unknown field"):
        _spec({"bare": {"x": 1}})


def test_a_plugin_that_does_not_load_breaks_only_the_specs_that_configure_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _register(monkeypatch, "gone", "NoSuchClass")
    _register(monkeypatch, "odd", "NotAModel")
    assert _spec({"aws": {}}).providers.aws == AwsOptions()
    with pytest.raises(ProviderError, match=r"provider 'gone' could not be loaded"):
        _spec({"gone": {"a": 1}})
    with pytest.raises(ProviderError, match=r"provider 'odd' .*options_model must be a pydantic"):
        _spec({"odd": {}})
    assert set(registered().broken) == {"gone", "odd"}


def test_a_registration_may_name_the_options_model_so_the_class_is_not_imported(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The class target does not exist: only the options module is read.
    _register(monkeypatch, "rack", "NoSuchClass", options=f"{__name__}:RackOptions")
    assert _spec({"rack": {"rack": "r3"}}).providers.rack == RackOptions(rack="r3")
    assert registered().descriptions["rack"] == DESCRIPTION
    assert "rack" not in registered().broken


def test_an_options_model_that_does_not_load_is_named_with_its_provider(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _register(monkeypatch, "rack", "WithOptions", options=f"{__name__}:NoSuchOptions")
    with pytest.raises(ProviderError, match=r"provider 'rack': options could not be loaded"):
        _spec({"rack": {}})
    assert _spec({"aws": {}}).providers.aws == AwsOptions()


@pytest.mark.parametrize("name", list(registry.BUILTINS))
def test_a_builtins_registered_options_are_its_classes(name: str) -> None:
    # The registry names each built-in's options module so validation skips the class;
    # the class must say the same, or plan and validate would read different blocks.
    cls = registry.provider_class(name)
    declared = registry.options_info(name)
    assert registry.BUILTINS[name].options is not None
    assert declared == registry.OptionsInfo(
        cls.options_model, cls.options_description, cls.terraform_outputs
    )


def test_defaults_stay_out_of_the_spec_hash(monkeypatch: pytest.MonkeyPatch) -> None:
    before = spec_hash(JobSpec(name="a-job"))
    _register(monkeypatch, "rack", "WithOptions")  # one more block, all defaults
    assert spec_hash(JobSpec(name="a-job")) == before
    assert spec_hash(_spec({"rack": {"rack": "r2"}})) != before
