"""Specs and contexts shared by the tuning tests."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from cloudgd.plan import BundleRef, RenderContext
from cloudgd.spec import JobSpec

NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
TAR = BundleRef(
    path="/cloudgd/bundles/cloudgd-bundle-0123456789ab.tar.gz",
    sha256="0123456789ab" + "0" * 52,
    filename="cloudgd-bundle-0123456789ab.tar.gz",
    format="tar.gz",
)
SDIST = BundleRef(
    path="/cloudgd/bundles/cloudgd-bundle-0123456789ab.tar.gz",
    sha256="0123456789ab" + "0" * 52,
    filename="cloudgd-bundle-0123456789ab.tar.gz",
    format="sdist",
)
ISSUE_SEARCH: dict[str, Any] = {
    "metric": {"name": "val_loss", "goal": "minimize"},
    "parameters": {
        "trainer.optimizer.lr": {"type": "log_uniform", "min": 1e-4, "max": 1e-1},
        "trainer.batch_size": {"type": "choice", "values": [32, 64, 128]},
        "trainer.optimizer.name": {"type": "choice", "values": ["sgd", "adamw"]},
    },
    "max_trials": 20,
    "parallel_trials": 4,
    "strategy": "bayesian",
    "early_stopping": True,
}
PROVIDERS: dict[str, Any] = {
    "aws": {
        "role_arn": "arn:aws:iam::123456789012:role/cloudgd-sagemaker",
        "output_uri": "s3://cloudgd-artifacts/jobs",
    },
    "gcp": {"project": "ml-project", "staging_bucket": "gs://ml-staging"},
    "azure": {
        "subscription_id": "11111111-2222-3333-4444-555555555555",
        "resource_group": "ml-rg",
        "workspace": "ml-ws",
    },
}


def make_spec(tuning: dict[str, Any] | None = None, **fields: Any) -> JobSpec:
    doc: dict[str, Any] = {
        "name": "digits",
        "trainer": {"epochs": 2},
        "providers": PROVIDERS,
        "tuning": ISSUE_SEARCH if tuning is None else tuning,
    }
    doc.update(fields)
    return JobSpec.model_validate(doc)


def make_ctx(bundle: BundleRef = TAR) -> RenderContext:
    return RenderContext(now=NOW, bundle=bundle, idempotency_key="ci-42")
