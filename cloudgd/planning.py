"""The planning flow every planning command shares: spec → provider → bundle → context → plan.

``plan`` and ``submit`` (the CLI and the Python API, through :mod:`cloudgd.runner`) both
go through :func:`plan_loaded`, so a dry run shows exactly what a submit sends. Nothing
here prints.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

from cloudgd import __version__, registry
from cloudgd.bundle import build_bundle
from cloudgd.ci.environment import default_idempotency_key
from cloudgd.home import bundles_dir, runs_dir
from cloudgd.loader import LoadedSpec
from cloudgd.plan import BundleRef, Plan, RenderContext
from cloudgd.rehearsal import check_rehearsal
from cloudgd.tfconfig import apply_user_settings, load_user_settings
from providers.base import Provider


@dataclass(frozen=True)
class Planned:
    """A plan with what produced it, for commands that go on to submit."""

    loaded: LoadedSpec
    provider: Provider
    ctx: RenderContext
    plan: Plan

    @property
    def shown(self) -> Plan:
        """The plan as printed or saved: credential-looking ``env`` values hidden.

        ``plan`` itself (what submit sends) keeps them; see :mod:`cloudgd.redact`.
        """
        from cloudgd.redact import redact_plan

        return redact_plan(self.plan, self.loaded.spec.env)


def local_runs_dir(loaded: LoadedSpec) -> str:
    """``providers.local.runs_dir`` (relative to the spec file), else the default."""
    chosen = loaded.spec.providers.local.runs_dir
    if chosen:
        return str((loaded.base_dir / Path(chosen).expanduser()).resolve())
    return str(runs_dir())


def build_job_bundle(loaded: LoadedSpec, fmt: str) -> BundleRef:
    """The deterministic code bundle: trainer package, the job's code dir, its config."""
    if loaded.spec.script is not None:
        from cloudgd.script_bundle import build_script_bundle

        return build_script_bundle(loaded.spec, loaded.code_dir, bundles_dir(), fmt)
    config = json.dumps(loaded.spec.trainer.model_dump(mode="json"), sort_keys=True, indent=2)
    return build_bundle(config + "\n", loaded.code_dir, bundles_dir(), fmt)


def plan_loaded(
    loaded: LoadedSpec,
    provider_name: str,
    *,
    idempotency_key: str | None = None,
    backend: str = "cloud",
    endpoint: str | None = None,
    run_local: bool = False,
    now: datetime | None = None,
    env: Mapping[str, str] | None = None,
) -> Planned:
    """Render the plan of an already loaded spec (the Python API's ``Job(spec)``)."""
    # `cloudgd config from-terraform --format user` defaults fill what the spec leaves
    # unset; the spec always wins. The filled spec is what gets hashed into the job name.
    settings = load_user_settings()
    if settings:
        loaded = replace(loaded, spec=apply_user_settings(loaded.spec, settings))
    runs = local_runs_dir(loaded)
    provider = registry.create(
        provider_name, backend=backend, endpoint=endpoint, run_local=run_local, runs_dir=runs
    )
    if run_local:
        check_rehearsal(provider)
    fmt = provider.bundle_format
    # Custom images run the same bundle (SageMaker script mode, the sdist on Vertex).
    bundle = build_job_bundle(loaded, fmt) if fmt else None
    ctx = RenderContext(
        now=now or datetime.now(UTC),
        idempotency_key=default_idempotency_key(
            idempotency_key, os.environ if env is None else env
        ),
        bundle=bundle,
        cloudgd_version=__version__,
        settings=settings,
        runs_dir=runs,
        spec_dir=str(loaded.base_dir),
    )
    return Planned(loaded=loaded, provider=provider, ctx=ctx, plan=provider.plan(loaded.spec, ctx))


def budget_gate(planned: Planned) -> None:
    """Refuse a cloud submit whose worst case exceeds ``limits.max_cost_usd``.

    Runs before anything is uploaded or created; see ``limits.on_budget``. Only a
    provider priced from the catalog (``Provider.is_cloud``) has a worst case to check.
    """
    spec = planned.loaded.spec
    if spec.limits.max_cost_usd is None or not planned.provider.is_cloud:
        return
    from cloudgd.cost.budget import enforce_budget
    from cloudgd.cost.select import choice_for_spec

    enforce_budget(spec, choice_for_spec(spec, planned.provider.name))
