"""The ``providers:`` block of a job spec and of the user config, typed by each provider.

Every registered provider (the built-ins and the ``cloudgd.providers`` entry points)
gets one field, typed by its options model (:func:`cloudgd.registry.options_info`: from
the options module its registration names, else from its class's ``options_model``), so
a plug-in provider brings its own settings and this module names no cloud. The typed
model is generated when a
spec or user config is validated or its schema is printed, never at import:
``providers.base`` imports ``cloudgd.spec``, so a provider class cannot be imported
while ``cloudgd.spec`` is. It is built once per set of registered providers.

``spec.providers.aws.role_arn`` works as before: the value is an instance of the
generated model, a subclass of :class:`ProviderBlocks`.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import BaseModel, Field, GetCoreSchemaHandler, GetJsonSchemaHandler, create_model
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema, core_schema

from cloudgd import registry
from cloudgd.errors import CloudgdError, ProviderError
from trainers.config import ConfigModel


class ProviderBlocks(ConfigModel):
    """Per-cloud settings; usually filled from `terraform output`."""

    # The generated subclass declares one field per registered provider; to a type
    # checker each is whatever that provider's options model is.
    if TYPE_CHECKING:

        def __getattr__(self, name: str) -> Any: ...


class UserProviderBlocks(ConfigModel):
    """Per-provider defaults; each block holds only the fields the user set."""

    if TYPE_CHECKING:

        def __getattr__(self, name: str) -> Any: ...


class NoOptions(ConfigModel):
    """This provider has no settings."""


@dataclass(frozen=True)
class Registered:
    """What the registered providers contribute to the ``providers:`` block."""

    options: Mapping[str, type[BaseModel]]
    """Provider name → its options model, in registry order."""
    descriptions: Mapping[str, str]
    """Provider name → one line about its block."""
    terraform_outputs: Mapping[str, tuple[str, ...]]
    """Provider name → the options fields its terraform/ module outputs (non-empty only)."""
    broken: Mapping[str, CloudgdError]
    """Providers whose class could not be loaded, with the error that says why."""
    spec_model: type[ProviderBlocks]
    user_model: type[UserProviderBlocks]


def registered() -> Registered:
    """The options of every provider registered now (built once per set of providers)."""
    key = tuple((name, entry.target, entry.options) for name, entry in registry.available().items())
    return _build(key)


@functools.lru_cache(maxsize=8)
def _build(key: tuple[tuple[str, str, str | None], ...]) -> Registered:
    options: dict[str, type[BaseModel]] = {}
    descriptions: dict[str, str] = {}
    terraform: dict[str, tuple[str, ...]] = {}
    broken: dict[str, CloudgdError] = {}
    for name, target, _ in key:
        try:
            found = registry.options_info(name)
        except CloudgdError as error:
            # A plug-in that does not import must not break every spec: it is left out,
            # and a spec that configures it hears why.
            broken[name] = error
            continue
        model = found.model or NoOptions
        if not (isinstance(model, type) and issubclass(model, BaseModel)):
            broken[name] = ProviderError(
                f"provider {name!r} ({target}): options_model must be a pydantic model, "
                f"not {model!r}",
                hint="fix the plug-in, or run with --debug",
            )
            continue
        options[name] = model
        descriptions[name] = found.description or _first_line(model)
        if found.terraform_outputs:
            terraform[name] = found.terraform_outputs
    spec_fields: dict[str, Any] = {
        name: (model, Field(default_factory=model, description=descriptions[name]))
        for name, model in options.items()
    }
    user_fields: dict[str, Any] = {
        name: (model | None, Field(default=None, description=f"Defaults for providers.{name}."))
        for name, model in options.items()
    }
    spec_model = create_model(  # type: ignore[call-overload]
        "ProviderBlocks",
        __base__=ProviderBlocks,
        __doc__=ProviderBlocks.__doc__,
        __module__=__name__,
        **spec_fields,
    )
    user_model = create_model(  # type: ignore[call-overload]
        "UserProviders",
        __base__=UserProviderBlocks,
        __doc__=UserProviderBlocks.__doc__,
        __module__=__name__,
        **user_fields,
    )
    return Registered(options, descriptions, terraform, broken, spec_model, user_model)


def _first_line(model: type[BaseModel]) -> str:
    doc = (model.__doc__ or "").strip()
    return doc.splitlines()[0] if doc else "Provider settings."


def _validated(value: Any, base: type[BaseModel]) -> BaseModel:
    model = concrete(base)
    if isinstance(value, model):
        return value
    if isinstance(value, base):  # built while other providers were registered
        value = value.model_dump(exclude_unset=True)
    if isinstance(value, Mapping):
        broken = registered().broken
        for name in value:
            if name in broken:
                raise broken[name]
    return model.model_validate(value)


def default_blocks() -> ProviderBlocks:
    """A spec's ``providers:`` block when the spec has none: every provider's defaults."""
    return registered().spec_model()


def default_user_blocks() -> UserProviderBlocks:
    """The user config's ``providers:`` block when it has none: nothing set."""
    return registered().user_model()


def concrete(model: type[BaseModel]) -> type[BaseModel]:
    """The generated model behind :class:`ProviderBlocks` / :class:`UserProviderBlocks`
    (``model`` itself for any other model): what a schema walker should look inside."""
    if model is ProviderBlocks:
        return registered().spec_model
    if model is UserProviderBlocks:
        return registered().user_model
    return model


class _Generated:
    """Pydantic schema hooks that defer to the model generated from the registry."""

    def __init__(self, base: type[BaseModel]) -> None:
        self.base = base

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> CoreSchema:
        return core_schema.no_info_plain_validator_function(
            lambda value: _validated(value, self.base)
        )

    def __get_pydantic_json_schema__(
        self, schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        schema = concrete(self.base).__pydantic_core_schema__
        if schema["type"] == "model" and "ref" in schema:
            # Through a definition, so the block lands in $defs like any model (the
            # handler would inline a bare model schema).
            reference = core_schema.definition_reference_schema(schema["ref"])
            schema = core_schema.definitions_schema(reference, [schema])
        return handler(schema)


SpecProviders = Annotated[ProviderBlocks, _Generated(ProviderBlocks)]
"""The type of ``JobSpec.providers``."""

UserProviders = Annotated[UserProviderBlocks, _Generated(UserProviderBlocks)]
"""The type of ``UserConfig.providers``."""
