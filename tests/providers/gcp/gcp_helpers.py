"""Shared builders for the Vertex AI provider tests (specs, fixed contexts)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from cloudgd.plan import BundleRef, RenderContext
from cloudgd.spec import JobSpec
from providers.gcp.rehearsal.fake import FakeServer

PROJECT = "cloudgd-test-123"
BUCKET = "gs://cloudgd-test-staging"
FIXED_NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
FIXED_BUNDLE = BundleRef(
    path="/bundles/cloudgd-trainer-0123456789ab.tar.gz",
    sha256="0123456789ab" + "0" * 52,
    filename="cloudgd-trainer-0123456789ab.tar.gz",
    format="sdist",
)


def make_spec(**overrides: Any) -> JobSpec:
    """A small digits job for Vertex; ``overrides`` replace top-level spec blocks."""
    doc: dict[str, Any] = {
        "name": "digits",
        "trainer": {"epochs": 2},
        "providers": {"gcp": {"project": PROJECT, "staging_bucket": BUCKET}},
    }
    doc.update(overrides)
    return JobSpec.model_validate(doc)


def fixed_ctx(**overrides: Any) -> RenderContext:
    """A context whose output is byte-stable: fixed time and bundle."""
    return RenderContext(**{"now": FIXED_NOW, "bundle": FIXED_BUNDLE, **overrides})


@dataclass
class Fake:
    """A running in-process fake Vertex service."""

    server: FakeServer
    url: str
