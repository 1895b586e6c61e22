"""`.ci/count_tests.py`: make test fails when too few tests ran, whatever pytest said."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.core.conftest import REPO

SCRIPT = REPO / ".ci" / "count_tests.py"
REPORT = """<?xml version="1.0" encoding="utf-8"?>
<testsuites><testsuite name="pytest" errors="0" failures="0" skipped="{skipped}" tests="{tests}">
</testsuite></testsuites>
"""


def count(
    tmp_path: Path, tests: int, skipped: int, minimum: int
) -> subprocess.CompletedProcess[str]:
    report = tmp_path / "junit.xml"
    report.write_text(REPORT.format(tests=tests, skipped=skipped))
    return subprocess.run(
        [sys.executable, str(SCRIPT), str(report), str(minimum)],
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_enough_tests_pass(tmp_path: Path) -> None:
    done = count(tmp_path, tests=60, skipped=5, minimum=50)
    assert (done.returncode, done.stdout) == (0, "count_tests: 55 tests ran, 5 skipped\n")


def test_skipped_tests_do_not_count(tmp_path: Path) -> None:
    done = count(tmp_path, tests=60, skipped=20, minimum=50)
    assert done.returncode == 1
    assert "only 40 tests ran (at least 50 expected)" in done.stderr


def test_an_empty_or_missing_report_fails(tmp_path: Path) -> None:
    assert count(tmp_path, tests=0, skipped=0, minimum=50).returncode == 1
    missing = subprocess.run(
        [sys.executable, str(SCRIPT), str(tmp_path / "none.xml"), "50"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert missing.returncode == 1 and "cannot read" in missing.stderr
