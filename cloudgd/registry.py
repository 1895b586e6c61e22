"""Provider name → class, imported lazily; entry points (group ``cloudgd.providers``) merged.

Nothing here imports a provider until it is asked for, so ``cloudgd --help`` and
``cloudgd plan`` stay free of cloud SDKs. A provider may also name its options model
(``ProviderInfo.options``; for a plug-in, an entry point of the same name in group
``cloudgd.provider_options``), so building the spec's ``providers:`` block imports only
that module, not the provider class and what it imports.
"""

from __future__ import annotations

import difflib
import functools
import importlib
import sys
from collections.abc import Callable
from dataclasses import dataclass
from importlib.metadata import entry_points
from typing import TYPE_CHECKING, Any

from cloudgd.errors import MissingExtraError, ProviderError, UsageError

if TYPE_CHECKING:
    from cloudgd.cost.rules import PricingRules
    from providers.base import Provider

ENTRY_POINT_GROUP = "cloudgd.providers"
OPTIONS_ENTRY_POINT_GROUP = "cloudgd.provider_options"

LOCAL = "local"
"""The built-in provider that runs jobs on this machine: a run directory is its handle,
and rehearsals run their jobs through it."""


@dataclass(frozen=True)
class ProviderInfo:
    """Where a provider lives and what it needs installed."""

    name: str
    target: str  # "module:Class"
    extra: str | None  # pip extra that installs its SDK
    sdk_modules: tuple[str, ...]  # importable modules the SDK path needs
    description: str
    options: str | None = None
    """``"module:Model"``: the provider's options model, in a module that imports neither
    the provider class nor an SDK; the module's ``DESCRIPTION`` and ``TERRAFORM_OUTPUTS``
    stand in for the class's ``options_description`` and ``terraform_outputs``. None: read
    all three from the class (importing it)."""

    @property
    def pip_command(self) -> str:
        return f"pip install 'cloudgd[{self.extra}]'" if self.extra else ""

    def missing_modules(self) -> list[str]:
        """SDK modules that are not importable (checked without importing them)."""
        import importlib.util

        missing = []
        for module in self.sdk_modules:
            try:
                if importlib.util.find_spec(module) is None:
                    missing.append(module)
            except (ImportError, ValueError):
                missing.append(module)
        return missing


BUILTINS: dict[str, ProviderInfo] = {
    LOCAL: ProviderInfo(
        LOCAL,
        "providers.local.provider:LocalProvider",
        "train",
        ("torch",),
        "this machine; emulates SageMaker, Vertex AI or Azure ML containers",
        "providers.local.options:LocalOptions",
    ),
    "aws": ProviderInfo(
        "aws",
        "providers.aws.provider:AwsProvider",
        "aws",
        ("boto3",),
        "AWS SageMaker training jobs (rehearse offline with --backend moto)",
        "providers.aws.options:AwsOptions",
    ),
    "gcp": ProviderInfo(
        "gcp",
        "providers.gcp.provider:GcpProvider",
        "gcp",
        ("google.cloud.aiplatform_v1",),
        "Google Vertex AI custom jobs (rehearse offline with --backend fake)",
        "providers.gcp.options:GcpOptions",
    ),
    "azure": ProviderInfo(
        "azure",
        "providers.azure.provider:AzureProvider",
        "azure",
        ("azure.ai.ml",),
        "Azure ML command jobs (rehearse offline with --backend fake)",
        "providers.azure.options:AzureOptions",
    ),
}


def available() -> dict[str, ProviderInfo]:
    """Built-ins plus third-party providers from entry points (built-ins win)."""
    found = dict(BUILTINS)
    for name, target, options in _plugins(entry_points, tuple(sys.path)):
        if name not in found:
            found[name] = ProviderInfo(name, target, None, (), "plug-in provider", options)
    return found


@functools.lru_cache(maxsize=4)
def _plugins(
    finder: Callable[..., Any], path: tuple[str, ...]
) -> tuple[tuple[str, str, str | None], ...]:
    # Reading every installed distribution's metadata costs milliseconds, and every spec
    # validation asks (the providers: block is typed by the registered providers): scan
    # once per sys.path (a test that adds a plug-in's dist-info changes it), both groups
    # in one pass.
    every = finder()
    options = {ep.name: ep.value for ep in every.select(group=OPTIONS_ENTRY_POINT_GROUP)}
    return tuple(
        (ep.name, ep.value, options.get(ep.name)) for ep in every.select(group=ENTRY_POINT_GROUP)
    )


def info(name: str) -> ProviderInfo:
    """The ProviderInfo for ``name``, or a UsageError with a "did you mean"."""
    providers = available()
    if name in providers:
        return providers[name]
    close = difflib.get_close_matches(name, list(providers), n=1)
    hint = f"did you mean {close[0]!r}? " if close else ""
    raise UsageError(
        f"unknown provider {name!r}",
        hint=f"{hint}known providers: {', '.join(sorted(providers))}",
    )


def provider_class(name: str) -> type[Provider]:
    """Import and return the provider class (SDKs are still imported lazily inside it)."""
    entry = info(name)
    module_name, _, attr = entry.target.partition(":")
    try:
        module = importlib.import_module(module_name)
        cls: type[Provider] = getattr(module, attr)
    except (ImportError, AttributeError) as error:
        # A provider that does not import is a broken install (often a plug-in), not a
        # cloudgd bug: name it, and leave the traceback to --debug.
        raise ProviderError(
            f"provider {name!r} could not be loaded from {entry.target}: {error}",
            hint="reinstall it, or run with --debug for the traceback",
        ) from error
    return cls


@dataclass(frozen=True)
class OptionsInfo:
    """What a provider contributes to the spec's ``providers:`` block."""

    model: object  # its options model; cloudgd.provider_options checks it is one
    description: str  # one line for `cloudgd schema`; "" for the model's docstring
    terraform_outputs: tuple[str, ...]  # options fields its Terraform module outputs


def options_info(name: str) -> OptionsInfo:
    """The options of provider ``name``: from the module ``ProviderInfo.options`` names
    when it names one (the provider class stays unimported), else from the class."""
    entry = info(name)
    if entry.options is None:
        cls = provider_class(name)
        return OptionsInfo(
            getattr(cls, "options_model", None),
            getattr(cls, "options_description", ""),
            tuple(getattr(cls, "terraform_outputs", ()) or ()),
        )
    module_name, _, attr = entry.options.partition(":")
    try:
        module = importlib.import_module(module_name)
        model = getattr(module, attr)
    except (ImportError, AttributeError) as error:
        raise ProviderError(
            f"provider {name!r}: options could not be loaded from {entry.options}: {error}",
            hint="reinstall it, or run with --debug for the traceback",
        ) from error
    return OptionsInfo(
        model,
        getattr(module, "DESCRIPTION", ""),
        tuple(getattr(module, "TERRAFORM_OUTPUTS", ()) or ()),
    )


def create(name: str, *, needs_sdk: bool = True, **kwargs: Any) -> Provider:
    """Build a provider; with ``needs_sdk`` refuse early, with the pip command, if its SDK
    is missing."""
    entry = info(name)
    if needs_sdk:
        missing = entry.missing_modules()
        if missing:
            raise MissingExtraError(
                f"provider {name!r} needs {', '.join(missing)}, which is not installed",
                hint=entry.pip_command,
            )
    return provider_class(name)(**kwargs)


def pricing_rules(name: str) -> PricingRules:
    """The cost rules of provider ``name`` (``RULES`` in the ``pricing`` module beside its
    class); UsageError when it has none, as for ``local`` and plug-ins without one."""
    entry = info(name)
    package = entry.target.partition(":")[0].rpartition(".")[0]
    try:
        module = importlib.import_module(f"{package}.pricing")
    except ModuleNotFoundError:
        module = None
    rules = getattr(module, "RULES", None)
    if rules is None:
        raise UsageError(
            f"no price catalog for provider {name!r}",
            hint="cost and instance selection cover the clouds: aws, gcp, azure",
        )
    return rules  # type: ignore[no-any-return]


# -- what the core asks of a provider instead of its name ---------------------------
def provider_class_or_none(name: str) -> type[Provider] | None:
    """The class of provider ``name``; None when it is unknown or does not load (a handle
    written by a plug-in that is gone, a broken install)."""
    try:
        return provider_class(name)
    except (UsageError, ProviderError):
        return None


def is_cloud(name: str) -> bool:
    """True when provider ``name`` says it is a cloud priced from the catalog
    (``Provider.is_cloud``); False for ``local`` and for unknown names."""
    cls = provider_class_or_none(name)
    return cls is not None and cls.is_cloud


def runs_here(name: str) -> bool:
    """True when provider ``name`` runs its jobs on this machine (``Provider.runs_here``)."""
    cls = provider_class_or_none(name)
    return cls is not None and cls.runs_here


def cloud_names() -> tuple[str, ...]:
    """The providers whose class says ``is_cloud``: built-ins first, then plug-ins.

    Imports each provider's class module (no SDK); a plug-in that fails to load is left
    out here and reported when it is named.
    """
    return tuple(name for name in available() if is_cloud(name))


def provider_for_scheme(scheme: str) -> str | None:
    """The provider whose storage URIs use ``scheme`` (``Provider.uri_schemes``), if any."""
    for name in available():
        cls = provider_class_or_none(name)
        if cls is not None and scheme in cls.uri_schemes:
            return name
    return None


def uri_schemes() -> tuple[str, ...]:
    """Every storage URI scheme a provider declares, in registry order."""
    found: list[str] = []
    for name in available():
        cls = provider_class_or_none(name)
        found += cls.uri_schemes if cls is not None else ()
    return tuple(dict.fromkeys(found))
