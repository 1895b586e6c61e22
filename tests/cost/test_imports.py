"""Importing the cost code and its commands loads no torch and no cloud SDK."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HEAVY = ("torch", "boto3", "sagemaker", "google.cloud.aiplatform", "azure.ai.ml", "numpy")


def test_cost_modules_import_light() -> None:
    code = (
        "import json, sys\n"
        "import cloudgd.cost.select, cloudgd.cost.estimate, cloudgd.cost.budget\n"
        "import cloudgd.cost.calibrate, cloudgd.cli.cost, cloudgd.cli.catalog\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=True,
    )
    loaded = json.loads(out.stdout)
    assert [m for m in loaded if m.split(".")[0] in HEAVY or m in HEAVY] == []
