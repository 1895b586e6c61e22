"""A provider without SupportsTuning: ``cloudgd tune``, the Python API and tuning handles
refuse it with one line that names it and the providers that do tune (exit 2)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

import pytest
import yaml
from click.testing import CliRunner
from pydantic import BaseModel

from cloudgd import registry
from cloudgd.errors import UsageError
from cloudgd.naming import job_name
from cloudgd.plan import JobHandle, JobState, JobStatus, Plan, RenderContext
from cloudgd.spec import JobSpec
from providers.base import Provider
from providers.features import SupportsTuning, require_tuner
from providers.local.options import LocalOptions

SEARCH = {
    "metric": {"name": "val_loss", "goal": "minimize"},
    "max_trials": 2,
    "parameters": {"trainer.optimizer.lr": {"type": "log_uniform", "min": 1e-4, "max": 1e-1}},
}
REFUSAL = "provider plain does not support tuning"
TUNERS = "providers that tune: aws, azure, gcp, local"


class PlainProvider(Provider):
    """The least a provider must do: plan, submit, follow, cancel and list single jobs."""

    name: ClassVar[str] = "plain"
    options_model: ClassVar[type[BaseModel]] = LocalOptions

    def plan(self, spec: JobSpec, ctx: RenderContext) -> Plan:
        name = job_name(spec, ctx.idempotency_key)
        return Plan(
            provider=self.name,
            operation="plain:Run",
            request={"name": name},
            handle=f"plain://here/{name}",
            job_name=name,
        )

    def submit(self, plan: Plan) -> JobStatus:
        return JobStatus(handle=plan.handle, name=plan.job_name, state=JobState.SUCCEEDED)

    def status(self, handle: JobHandle) -> JobStatus:
        return JobStatus(handle=str(handle), name=handle.job, state=JobState.SUCCEEDED)

    def logs(self, handle: JobHandle, *, follow: bool = False) -> Iterator[str]:
        yield "done"

    def cancel(self, handle: JobHandle) -> JobStatus:
        return self.status(handle)

    def list(self, prefix: str | None = None) -> list[JobStatus]:
        return []


@pytest.fixture(autouse=True)
def plain_provider(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("CLOUDGD_HOME", str(tmp_path / "home"))
    target = f"{__name__}:PlainProvider"
    info = registry.ProviderInfo("plain", target, None, (), "a provider that cannot tune")
    monkeypatch.setitem(registry.BUILTINS, "plain", info)


@pytest.fixture
def job(tmp_path: Path) -> Path:
    path = tmp_path / "job.yaml"
    path.write_text(
        yaml.safe_dump({"name": "plain-tune", "trainer": {"epochs": 1}, "tuning": SEARCH})
    )
    return path


def _cli(*args: str) -> tuple[int, str]:
    from cloudgd.cli.main import cli

    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.stderr


@pytest.mark.parametrize("flags", [(), ("--dry-run",), ("--wait",)])
def test_tune_refuses_a_provider_without_tuning_in_one_line(
    job: Path, flags: tuple[str, ...]
) -> None:
    code, stderr = _cli("tune", str(job), "-p", "plain", *flags)
    assert code == 2
    assert stderr.splitlines() == [f"cloudgd: error: {REFUSAL}", f"hint: {TUNERS}"]


def test_following_a_tuning_handle_of_such_a_provider_is_refused_too() -> None:
    code, stderr = _cli("status", "plain://here/plain-tune-1?kind=tuning")
    assert code == 2
    assert stderr.splitlines()[0] == f"cloudgd: error: {REFUSAL}"


def test_the_python_api_refuses_it_with_the_same_line(job: Path) -> None:
    from cloudgd import api

    with pytest.raises(UsageError) as refused:
        api.tune(job, "plain")
    assert str(refused.value) == REFUSAL
    assert refused.value.hint == TUNERS
    assert refused.value.exit_code == 2


def test_providers_that_tune_are_found_by_type_not_by_name() -> None:
    tuner = registry.create("local")
    assert isinstance(tuner, SupportsTuning)
    assert require_tuner(tuner) is tuner
    with pytest.raises(UsageError, match=REFUSAL):
        require_tuner(PlainProvider())
