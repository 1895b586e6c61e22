"""examples/byo-script/job.yaml itself, planned on each cloud: byte-stable golden requests
(tests/golden/<cloud>/byo_script_example.json) that each vendor's own model accepts:
botocore's CreateTrainingJob validation, aiplatform_v1's strict CustomJob parser, and
azure-ai-ml's load_job. Only the input URI (a local ./data in the example) and the
cloud settings are set here; regenerate with ``CLOUDGD_UPDATE_GOLDEN=1`` after changing
the example.
"""

from __future__ import annotations

import io
import json
import warnings
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from cloudgd.loader import load_spec
from cloudgd.plan import BundleRef, Plan, RenderContext
from tests.support.golden import assert_golden

REPO = Path(__file__).resolve().parents[2]
GOLDEN = REPO / "tests" / "golden"
EXAMPLE = REPO / "examples" / "byo-script" / "job.yaml"
NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
SETTINGS = {
    "aws": [
        "script.inputs.train=s3://cloudgd-data/byo-script/",
        "providers.aws.role_arn=arn:aws:iam::123456789012:role/cloudgd-sagemaker",
        "providers.aws.output_uri=s3://cloudgd-artifacts/jobs",
    ],
    "gcp": [
        "script.inputs.train=gs://cloudgd-data/byo-script/",
        "providers.gcp.project=ml-project",
        "providers.gcp.staging_bucket=gs://ml-staging",
    ],
    "azure": [
        "script.inputs.train=azureml://datastores/workspaceblobstore/paths/byo-script/",
        "providers.azure.subscription_id=11111111-2222-3333-4444-555555555555",
        "providers.azure.resource_group=ml-rg",
        "providers.azure.workspace=ml-ws",
    ],
}


def plan(cloud: str) -> Plan:
    """The example's plan on ``cloud``, with a stand-in bundle declaring its requirements."""
    spec = load_spec(EXAMPLE, SETTINGS[cloud]).spec
    requires = (EXAMPLE.parent / "requirements.txt").read_text()
    bundle = BundleRef(
        path="/cloudgd/bundles/cloudgd-bundle-0123456789ab.tar.gz",
        sha256="0123456789ab" + "0" * 52,
        filename="cloudgd-bundle-0123456789ab.tar.gz",
        format="sdist" if cloud == "gcp" else "tar.gz",
        requires=[line for line in requires.splitlines() if line and not line.startswith("#")],
    )
    ctx = RenderContext(now=NOW, bundle=bundle)
    if cloud == "aws":
        from providers.aws.render import render_plan as render_aws

        return render_aws(spec, ctx)
    if cloud == "gcp":
        from providers.gcp.render import render as render_gcp

        return render_gcp(spec, ctx)
    from providers.azure.render import render_plan as render_azure

    return render_azure(spec, ctx)


def golden(cloud: str) -> dict[str, Any]:
    document: dict[str, Any] = json.loads((GOLDEN / cloud / "byo_script_example.json").read_text())
    return document


@pytest.mark.parametrize("cloud", sorted(SETTINGS))
def test_the_example_plan_matches_its_golden_file(cloud: str) -> None:
    path = GOLDEN / cloud / "byo_script_example.json"
    text = plan(cloud).to_json()
    assert_golden(path, text)


def test_the_sagemaker_request_passes_botocore() -> None:
    from providers.aws.client import request_problems

    request = golden("aws")["request"]
    assert request_problems(request) == []
    names = [m["Name"] for m in request["AlgorithmSpecification"]["MetricDefinitions"]]
    assert names == ["epoch", "loss", "val_loss"]  # the example's script.metrics.regex


def test_the_vertex_body_is_a_strict_custom_job() -> None:
    from google.cloud import aiplatform_v1

    body = golden("gcp")["request"]["customJob"]
    job = aiplatform_v1.CustomJob.from_json(json.dumps(body), ignore_unknown_fields=False)
    canonical = aiplatform_v1.CustomJob.to_json(
        job, use_integers_for_enums=False, always_print_fields_with_no_presence=False
    )
    assert json.loads(canonical) == body


def test_the_azure_job_loads_through_load_job() -> None:
    from azure.ai.ml import load_job

    document = golden("azure")["request"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        job = load_job(io.StringIO(yaml.safe_dump(document)))._to_job()
    assert type(job).__name__ == "CommandJob"
    assert job.command == document["command"]
    assert "numpy>=1.26" in json.dumps(job._to_dict()["environment"])
