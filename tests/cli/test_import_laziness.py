"""Importing cloudgd, `cloudgd --help` and `cloudgd plan` load no cloud SDK and no torch;
`cloudgd validate` and `cloudgd schema` load no provider class either.

Each check runs in a fresh interpreter, since this test process has imported plenty.
The ``google`` namespace itself is preloaded by .pth files of google packages, so the
specific SDK modules are checked instead.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
HEAVY = [
    "torch",
    "transformers",
    "boto3",
    "botocore",
    "sagemaker",
    "google.cloud.aiplatform",
    "google.cloud.aiplatform_v1",
    "google.cloud.storage",
    "azure.ai.ml",
    "azure.identity",
]
PROVIDER_CLASSES = [f"providers.{name}.provider" for name in ("local", "aws", "gcp", "azure")]
"""What a provider's class module imports (its render, status, client wrappers ...) is
dead weight for commands that only read the spec's ``providers:`` block."""
PROBE = """
import json, sys
from cloudgd.cli.main import cli
code = cli.main(args=sys.argv[1:], prog_name="cloudgd", standalone_mode=False)
watched = {watched!r}
print(json.dumps({{"code": code, "loaded": [m for m in watched if m in sys.modules]}}),
      file=sys.stderr)
"""


def loaded_after(*args: str, tmp_path: Path, watched: list[str] = HEAVY) -> list[str]:
    """Which of the ``watched`` modules ``cloudgd ARGS...`` leaves imported."""
    env = {**os.environ, "PYTHONPATH": str(REPO), "CLOUDGD_HOME": str(tmp_path / "home")}
    result = subprocess.run(
        [sys.executable, "-c", PROBE.format(watched=watched), *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    report = json.loads(result.stderr.strip().splitlines()[-1])
    assert report["code"] == 0, result.stderr
    loaded: list[str] = report["loaded"]
    return loaded


def test_import_cloudgd_loads_nothing_heavy(tmp_path: Path) -> None:
    code = (
        f"import json, sys, cloudgd; print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    assert json.loads(out) == []


def test_the_python_api_loads_nothing_heavy_until_a_job_is_planned(tmp_path: Path) -> None:
    code = (
        "import json, sys, cloudgd\n"
        "job = cloudgd.Job.from_yaml('examples/digits.yaml')\n"
        "run = cloudgd.Run\n"
        f"print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO), "CLOUDGD_HOME": str(tmp_path / "home")},
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    assert json.loads(out) == []


def test_help_loads_nothing_heavy(tmp_path: Path) -> None:
    assert loaded_after("--help", tmp_path=tmp_path) == []


def test_schema_and_validate_load_nothing_heavy(tmp_path: Path) -> None:
    assert loaded_after("validate", "examples/digits.yaml", tmp_path=tmp_path) == []
    assert loaded_after("schema", tmp_path=tmp_path) == []


@pytest.mark.parametrize(
    "args", [("validate", "examples/vertex-bert.yaml"), ("schema",)], ids=["validate", "schema"]
)
def test_schema_and_validate_read_options_modules_not_provider_classes(
    args: tuple[str, ...], tmp_path: Path
) -> None:
    # The providers: block needs each provider's options model, which the registry
    # names by module (providers/<name>/options.py).
    watched = PROVIDER_CLASSES + [f"providers.{name}.options" for name in ("aws", "gcp")]
    assert loaded_after(*args, tmp_path=tmp_path, watched=watched) == [
        "providers.aws.options",
        "providers.gcp.options",
    ]


PLANS = {
    "local": ("plan", "examples/digits.yaml", "--provider", "local"),
    "aws": ("plan", "examples/digits.yaml", "--provider", "aws", "--backend", "moto"),
    "gcp": ("plan", "examples/digits.yaml", "--provider", "gcp", "--backend", "fake"),
    "azure": ("plan", "examples/digits.yaml", "--provider", "azure", "--backend", "fake"),
}


@pytest.mark.parametrize("provider", list(PLANS))
def test_plan_loads_nothing_heavy(provider: str, tmp_path: Path) -> None:
    if not (REPO / "providers" / provider / "provider.py").exists():
        pytest.skip(f"the {provider} provider is not on this branch yet")
    assert loaded_after(*PLANS[provider], tmp_path=tmp_path) == []
