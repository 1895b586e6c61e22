"""Shared builders for the AWS provider tests (imported by the test modules)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from cloudgd.plan import BundleRef, RenderContext
from cloudgd.spec import JobSpec

ROLE = "arn:aws:iam::123456789012:role/cloudgd-sagemaker"
OUTPUT = "s3://cloudgd-artifacts/jobs"
NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
# A stand-in bundle so golden plans do not depend on the trainer's current bytes.
FIXED_BUNDLE = BundleRef(
    path="/cloudgd/bundles/cloudgd-bundle-0123456789ab.tar.gz",
    sha256="0123456789ab" + "0" * 52,
    filename="cloudgd-bundle-0123456789ab.tar.gz",
    format="tar.gz",
)


def make_spec(**fields: Any) -> JobSpec:
    """A small valid spec with AWS settings; keyword arguments replace top-level blocks."""
    doc: dict[str, Any] = {
        "name": "digits",
        "trainer": {"epochs": 2},
        "providers": {"aws": {"role_arn": ROLE, "output_uri": OUTPUT}},
    }
    doc.update(fields)
    return JobSpec.model_validate(doc)


def make_ctx(**fields: Any) -> RenderContext:
    values: dict[str, Any] = {"now": NOW, "bundle": FIXED_BUNDLE}
    values.update(fields)
    return RenderContext(**values)
