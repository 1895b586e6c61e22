"""Terraform outputs → the ``providers.<cloud>`` block of a job spec, or the user config.

The modules under ``terraform/`` name their outputs after the fields of each
provider's options model (``providers/<cloud>/options.py``), so turning
``terraform output -json`` into settings is a copy plus validation. Everything
here is pure except :func:`load_user_settings`, which reads the user config file;
running ``terraform`` itself is the CLI's job (``cloudgd/cli/config.py``).

The user config (``$CLOUDGD_HOME/config.yaml``) holds per-provider defaults that
``submit`` applies under the job spec: a field the spec sets always wins.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from cloudgd.errors import SpecError, UsageError
from cloudgd.home import home
from providers.aws.options import AwsOptions
from providers.azure.options import AzureOptions
from providers.gcp.options import GcpOptions
from providers.local.options import LocalOptions

if TYPE_CHECKING:
    from cloudgd.spec import JobSpec

CLOUD_OPTIONS: dict[str, type[BaseModel]] = {
    "aws": AwsOptions,
    "gcp": GcpOptions,
    "azure": AzureOptions,
}
"""Clouds whose Terraform module outputs fill a ``providers.<cloud>`` block."""

PROVIDER_OUTPUT = "cloudgd_provider"
"""Output the examples set to name their cloud, so detection never has to guess."""

MODULE_FIELDS: dict[str, tuple[str, ...]] = {
    "aws": (
        "role_arn",
        "output_uri",
        "checkpoint_uri",
        "kms_key_id",
        "subnets",
        "security_group_ids",
    ),
    "gcp": ("project", "location", "staging_bucket", "service_account", "network"),
    "azure": ("subscription_id", "resource_group", "workspace", "compute"),
}
"""Options fields the terraform/ modules output. Terraform omits null outputs, so
when outputs come from those modules (they carry ``cloudgd_provider``) a missing
one means "not set" and is cleared from the user config."""

USER_CONFIG_NAME = "config.yaml"

_SAVE_HINT = "save them with: terraform output -json > outputs.json"

_FROZEN = ConfigDict(frozen=True, extra="forbid")


class UserProviders(BaseModel):
    """Per-provider defaults; each block holds only the fields the user set."""

    model_config = _FROZEN

    aws: AwsOptions | None = Field(default=None, description="Defaults for providers.aws.")
    gcp: GcpOptions | None = Field(default=None, description="Defaults for providers.gcp.")
    azure: AzureOptions | None = Field(default=None, description="Defaults for providers.azure.")
    local: LocalOptions | None = Field(default=None, description="Defaults for providers.local.")


class UserConfig(BaseModel):
    """The user config file, ``$CLOUDGD_HOME/config.yaml``."""

    model_config = _FROZEN

    providers: UserProviders = Field(
        default_factory=UserProviders,
        description="Provider settings applied to every job unless its spec sets the field.",
    )


@dataclass(frozen=True)
class ProviderBlock:
    """What a set of Terraform outputs says about one provider's options."""

    provider: str
    values: dict[str, Any]
    """Options fields with a value, in the options model's field order."""
    cleared: tuple[str, ...]
    """Options fields the outputs report as null or empty, or (from the terraform/
    modules) leave out because Terraform drops null outputs: nothing to set."""
    ignored: tuple[str, ...]
    """Outputs that are not options fields (CI identities, bucket names, ...)."""


def user_config_path() -> Path:
    """Where the user config lives: ``$CLOUDGD_HOME/config.yaml``."""
    return home() / USER_CONFIG_NAME


def parse_outputs(text: str, *, source: str) -> dict[str, Any]:
    """Values from ``terraform output -json`` text, by output name.

    ``source`` names the file or directory in error messages.
    """
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise UsageError(
            f"{source}: not the JSON of `terraform output -json` (line {exc.lineno}: {exc.msg})",
            hint=_SAVE_HINT,
        ) from None
    if not isinstance(document, dict):
        raise UsageError(
            f"{source}: expected a JSON object of outputs, got {type(document).__name__}",
            hint=_SAVE_HINT,
        )
    if not document:
        raise UsageError(
            f"{source}: no Terraform outputs",
            hint="run `terraform apply` in the module directory first",
        )
    values: dict[str, Any] = {}
    for name, entry in document.items():
        if not isinstance(entry, dict) or "value" not in entry:
            raise UsageError(
                f"{source}: output {name!r} has no 'value' (is this `terraform output -json`?)",
                hint=_SAVE_HINT,
            )
        values[name] = entry["value"]
    return values


def detect_provider(outputs: dict[str, Any], explicit: str | None, *, source: str) -> str:
    """The cloud the outputs belong to: ``explicit``, else ``cloudgd_provider``, else by names."""
    declared = outputs.get(PROVIDER_OUTPUT)
    if declared is not None and declared not in CLOUD_OPTIONS:
        raise UsageError(
            f"{source}: output {PROVIDER_OUTPUT}={declared!r} is not one of "
            f"{', '.join(CLOUD_OPTIONS)}"
        )
    if explicit is not None:
        if explicit not in CLOUD_OPTIONS:
            raise UsageError(
                f"--provider {explicit!r}: Terraform outputs fill one of {', '.join(CLOUD_OPTIONS)}"
            )
        if declared is not None and declared != explicit:
            raise UsageError(
                f"--provider {explicit} contradicts output {PROVIDER_OUTPUT}={declared!r} "
                f"in {source}",
                hint=f"drop --provider or pass --provider {declared}",
            )
        return explicit
    if declared is not None:
        return str(declared)
    overlap = {
        cloud: len(set(outputs) & set(model.model_fields)) for cloud, model in CLOUD_OPTIONS.items()
    }
    best = max(overlap.values())
    winners = [cloud for cloud, count in overlap.items() if count == best]
    if best == 0 or len(winners) > 1:
        raise UsageError(
            f"{source}: cannot tell which provider these outputs are for",
            hint="pass --provider aws|gcp|azure (or add an output cloudgd_provider)",
        )
    return winners[0]


def block_from_outputs(outputs: dict[str, Any], provider: str, *, source: str) -> ProviderBlock:
    """The ``providers.<provider>`` settings in ``outputs``, validated by the options model."""
    model = CLOUD_OPTIONS[provider]
    fields = list(model.model_fields)
    values: dict[str, Any] = {}
    cleared: list[str] = []
    ignored: list[str] = []
    for name, value in outputs.items():
        if name == PROVIDER_OUTPUT:
            continue
        if name not in model.model_fields:
            ignored.append(name)
        elif value is None or value == [] or value == "":
            cleared.append(name)
        else:
            values[name] = value
    if PROVIDER_OUTPUT in outputs:
        cleared.extend(name for name in MODULE_FIELDS[provider] if name not in outputs)
    if not values:
        raise UsageError(
            f"{source}: no output is a providers.{provider} field",
            hint=f"expected outputs named like: {', '.join(fields)}",
        )
    try:
        model.model_validate(values)
    except ValidationError as exc:
        problems = [
            f"{source}: output {'.'.join(str(part) for part in err['loc'])}: {err['msg']} "
            f"(got {err['input']!r})"
            for err in exc.errors()
        ]
        raise SpecError(
            problems[0],
            problems=problems,
            hint=f"fix the module's outputs: they must be valid providers.{provider} values",
        ) from None
    ordered = {name: values[name] for name in fields if name in values}
    return ProviderBlock(provider, ordered, tuple(sorted(cleared)), tuple(sorted(ignored)))


def render_spec_block(block: ProviderBlock) -> str:
    """YAML of ``providers: {<cloud>: {...}}`` to paste into (or merge with) a job spec."""
    header = (
        f"# providers.{block.provider} from Terraform outputs "
        "(cloudgd config from-terraform); paste into your job spec.\n"
    )
    return header + _dump({"providers": {block.provider: block.values}})


def merge_user_config(
    existing: dict[str, Any] | None, block: ProviderBlock, *, source: str = USER_CONFIG_NAME
) -> dict[str, Any]:
    """The user config document with ``block`` merged in.

    Fields the outputs set replace the old values, fields they report empty are
    removed, and fields Terraform does not manage (``profile``, ``manage_compute``)
    are kept, so re-running after ``terraform apply`` never loses hand-set values.
    """
    document = copy.deepcopy(existing) if existing else {}
    providers = document.setdefault("providers", {})
    if not isinstance(providers, dict):
        raise SpecError(f"{source}: providers: must be a mapping of provider names to settings")
    current = dict(providers.get(block.provider) or {})
    for name in block.cleared:
        current.pop(name, None)
    current.update(block.values)
    fields = list(CLOUD_OPTIONS[block.provider].model_fields)
    providers[block.provider] = {name: current[name] for name in fields if name in current} | {
        name: value for name, value in current.items() if name not in fields
    }
    _validate_user_config(document, source=source)
    return document


def render_user_config(document: dict[str, Any]) -> str:
    """YAML text of a user config document, with a header saying what reads it."""
    header = (
        "# cloudgd user config: provider settings applied to every job unless its spec\n"
        "# sets the field. Written by `cloudgd config from-terraform --format user`.\n"
    )
    return header + _dump(document)


def parse_user_config(text: str, *, source: str) -> dict[str, Any]:
    """The user config document in ``text``, validated (an empty file is an empty config)."""
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark is not None else ""
        raise SpecError(f"{source}: not valid YAML{where}") from None
    if document is None:
        return {}
    if not isinstance(document, dict):
        raise SpecError(f"{source}: expected a mapping with a 'providers' key")
    _validate_user_config(document, source=source)
    return document


def load_user_settings(path: Path | None = None) -> dict[str, dict[str, Any]]:
    """Per-provider settings from the user config (``{}`` when there is no file).

    The result is what the CLI puts in ``RenderContext.settings`` and passes to
    :func:`apply_user_settings`: ``{"aws": {"role_arn": ...}, ...}``, holding only
    the fields the file sets.
    """
    config_path = path or user_config_path()
    if not config_path.is_file():
        return {}
    source = str(config_path)
    try:
        text = config_path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise SpecError(f"{source}: cannot read ({exc})") from None
    config = UserConfig.model_validate(parse_user_config(text, source=source))
    settings: dict[str, dict[str, Any]] = {}
    for name in UserProviders.model_fields:
        options = getattr(config.providers, name)
        if options is not None:
            settings[name] = options.model_dump(mode="json", exclude_unset=True)
    return settings


def apply_user_settings(spec: JobSpec, settings: dict[str, dict[str, Any]]) -> JobSpec:
    """``spec`` with user settings filling the provider fields the spec leaves unset."""
    blocks = spec.providers
    updates: dict[str, BaseModel] = {}
    for name, defaults in settings.items():
        current = getattr(blocks, name, None)
        if current is None or not defaults:
            continue
        merged = {**defaults, **current.model_dump(exclude_unset=True)}
        updates[name] = type(current).model_validate(merged)
    if not updates:
        return spec
    return spec.model_copy(update={"providers": blocks.model_copy(update=updates)})


def _validate_user_config(document: dict[str, Any], *, source: str) -> None:
    try:
        UserConfig.model_validate(document)
    except ValidationError as exc:
        problems = [
            f"{source}: {'.'.join(str(part) for part in err['loc'])}: {err['msg']}"
            for err in exc.errors()
        ]
        raise SpecError(problems[0], problems=problems) from None


def _dump(document: dict[str, Any]) -> str:
    return yaml.safe_dump(document, sort_keys=False, default_flow_style=False, allow_unicode=True)
