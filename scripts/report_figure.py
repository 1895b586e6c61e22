"""Regenerate docs/img/digits-report.png, the README's figure, with cloudgd itself.

Runs the demo job (examples/digits.yaml) on this machine in a throw-away
CLOUDGD_HOME, then `cloudgd report` on it, and copies the PNG into docs/img.
Run from the repository root: ``python scripts/report_figure.py`` (``make report-figure``).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SPEC = REPO / "examples" / "digits.yaml"
TARGET = REPO / "docs" / "img" / "digits-report.png"


def cloudgd(*args: str, env: dict[str, str]) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "cloudgd", *args],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        text=True,
        check=True,
    )
    return done.stdout


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="cloudgd-figure-") as scratch:
        env = {
            **os.environ,
            "CLOUDGD_HOME": str(Path(scratch) / "home"),
            "PYTHONPATH": os.pathsep.join(
                p for p in (str(REPO), os.environ.get("PYTHONPATH")) if p
            ),
        }
        env.pop("CLOUDGD_OUTPUT", None)
        submitted = cloudgd(
            "-o", "json", "submit", str(SPEC), "--provider", "local", "--wait", env=env
        )
        handle = json.loads(submitted)["handle"]
        out = Path(scratch) / "report"
        cloudgd(
            "report", handle, "--spec", str(SPEC), "--out", str(out), "--name", "digits", env=env
        )
        TARGET.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(out / "digits.png", TARGET)
    print(TARGET.relative_to(REPO))


if __name__ == "__main__":
    main()
