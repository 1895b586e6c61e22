"""Provider options as a renderer sees them: user settings under the spec's own block."""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from cloudgd.errors import SpecError
from cloudgd.plan import RenderContext
from cloudgd.spec import JobSpec

OptionsT = TypeVar("OptionsT", bound=BaseModel)


def effective_options(
    spec: JobSpec, ctx: RenderContext, provider: str, model: type[OptionsT]
) -> OptionsT:
    """``ctx.settings[provider]`` (from ``cloudgd config from-terraform``) overlaid by the
    fields the spec's ``providers.<provider>`` block sets; the spec always wins.

    Settings may carry more Terraform outputs than the options model has
    (bucket_name, tenant_id, ...); those are ignored.
    """
    given: Any = ctx.settings.get(provider)
    base = {k: v for k, v in (given if isinstance(given, dict) else {}).items()}
    base = {k: v for k, v in base.items() if k in model.model_fields}
    explicit = getattr(spec.providers, provider).model_dump(exclude_unset=True)
    try:
        return model.model_validate({**base, **explicit})
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise SpecError(
            f"user settings {provider}.{where}: {first['msg']}",
            hint=f"fix $CLOUDGD_HOME/config.yaml or set providers.{provider} in the job spec",
        ) from None
