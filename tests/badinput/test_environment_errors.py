"""The machine says no (full disk, read-only or forbidden path): one line, exit 2.

Any command may hit it while writing a bundle, a run directory or a report; the
error boundary names the path instead of printing an internal error.
"""

from __future__ import annotations

import errno

import pytest

from cloudgd.cli.main import report
from cloudgd.errors import UsageError
from cloudgd.plan import JobHandle
from providers.base import fetched_dir


@pytest.mark.parametrize("code", [errno.ENOSPC, errno.EROFS, errno.EACCES, errno.EDQUOT])
def test_a_full_or_forbidden_disk_is_one_line_exit_2(
    code: int, capsys: pytest.CaptureFixture[str]
) -> None:
    error = OSError(code, "the machine says no", "/somewhere/bundles/x.tmp")
    assert report(error, debug=False) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert lines[0] == "cloudgd: error: the machine says no: /somewhere/bundles/x.tmp"
    assert len(lines) == 2 and lines[1].startswith("hint: ")


def test_other_os_errors_stay_internal(capsys: pytest.CaptureFixture[str]) -> None:
    assert report(OSError(errno.EIO, "I/O error"), debug=False) == 1


@pytest.mark.parametrize("job", ["..", "."])
def test_a_handle_cannot_steer_fetched_files_out_of_their_folder(job: str) -> None:
    handle = JobHandle(provider="aws", parts=("us-east-1", job))
    with pytest.raises(UsageError, match="names no usable job"):
        fetched_dir(handle)
