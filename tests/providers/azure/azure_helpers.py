"""Shared builders for the Azure provider tests (imported by the test modules)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cloudgd.bundle import build_bundle
from cloudgd.plan import BundleRef, RenderContext
from cloudgd.spec import JobSpec

SUBSCRIPTION = "11111111-2222-3333-4444-555555555555"
WORKSPACE = {
    "subscription_id": SUBSCRIPTION,
    "resource_group": "ml-rg",
    "workspace": "ml-ws",
}
NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
# A stand-in bundle so golden plans do not depend on the trainer's current bytes.
FIXED_BUNDLE = BundleRef(
    path="/cloudgd/bundles/cloudgd-bundle-0123456789ab.tar.gz",
    sha256="0123456789ab" + "0" * 52,
    filename="cloudgd-bundle-0123456789ab.tar.gz",
    format="tar.gz",
)


def make_spec(**fields: Any) -> JobSpec:
    """A small valid spec in a test workspace; keyword arguments replace top-level blocks."""
    doc: dict[str, Any] = {
        "name": "digits",
        "trainer": {"epochs": 2},
        "providers": {"azure": dict(WORKSPACE)},
    }
    doc.update(fields)
    return JobSpec.model_validate(doc)


def make_ctx(**fields: Any) -> RenderContext:
    values: dict[str, Any] = {"now": NOW, "bundle": FIXED_BUNDLE}
    values.update(fields)
    return RenderContext(**values)


def real_bundle(spec: JobSpec, where: Path) -> BundleRef:
    """A real code bundle on disk, for tests that upload it."""
    config = json.dumps(spec.trainer.model_dump(mode="json"), sort_keys=True)
    return build_bundle(config, None, where)
