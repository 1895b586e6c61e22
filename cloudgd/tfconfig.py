"""Terraform outputs → the ``providers.<cloud>`` block of a job spec, or the user config.

The modules under ``terraform/`` name their outputs after the fields of each
provider's options model (``providers/<cloud>/options.py``), so turning
``terraform output -json`` into settings is a copy plus validation. Which
providers have a module, and which fields it outputs, each provider says itself
(``terraform_outputs`` on its class); nothing here names a cloud. Everything
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
from cloudgd.provider_options import UserProviders, default_user_blocks, registered

if TYPE_CHECKING:
    from cloudgd.spec import JobSpec

PROVIDER_OUTPUT = "cloudgd_provider"
"""Output the examples set to name their cloud, so detection never has to guess."""


def terraform_providers() -> dict[str, type[BaseModel]]:
    """Providers whose Terraform module outputs fill a ``providers.<name>`` block, with
    their options models (those that declare ``terraform_outputs``)."""
    known = registered()
    return {name: known.options[name] for name in known.terraform_outputs}


def module_fields(provider: str) -> tuple[str, ...]:
    """Options fields the provider's terraform/ module outputs. Terraform omits null
    outputs, so when outputs come from that module (they carry ``cloudgd_provider``) a
    missing one means "not set" and is cleared from the user config."""
    return registered().terraform_outputs.get(provider, ())


USER_CONFIG_NAME = "config.yaml"

_SAVE_HINT = "save them with: terraform output -json > outputs.json"

_FROZEN = ConfigDict(frozen=True, extra="forbid")


class UserConfig(BaseModel):
    """The user config file, ``$CLOUDGD_HOME/config.yaml``."""

    model_config = _FROZEN

    providers: UserProviders = Field(
        default_factory=default_user_blocks,
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
    clouds = terraform_providers()
    declared = outputs.get(PROVIDER_OUTPUT)
    if declared is not None and declared not in clouds:
        raise UsageError(
            f"{source}: output {PROVIDER_OUTPUT}={declared!r} is not one of {', '.join(clouds)}"
        )
    if explicit is not None:
        if explicit not in clouds:
            raise UsageError(
                f"--provider {explicit!r}: Terraform outputs fill one of {', '.join(clouds)}"
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
        cloud: len(set(outputs) & set(model.model_fields)) for cloud, model in clouds.items()
    }
    best = max(overlap.values())
    winners = [cloud for cloud, count in overlap.items() if count == best]
    if best == 0 or len(winners) > 1:
        raise UsageError(
            f"{source}: cannot tell which provider these outputs are for",
            hint=f"pass --provider {'|'.join(clouds)} (or add an output cloudgd_provider)",
        )
    return winners[0]


def block_from_outputs(outputs: dict[str, Any], provider: str, *, source: str) -> ProviderBlock:
    """The ``providers.<provider>`` settings in ``outputs``, validated by the options model."""
    model = terraform_providers()[provider]
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
        cleared.extend(name for name in module_fields(provider) if name not in outputs)
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
    fields = list(terraform_providers()[block.provider].model_fields)
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
    :func:`apply_user_settings`: ``{<provider>: {<field>: ...}, ...}``, holding only
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
    for name in type(config.providers).model_fields:
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
