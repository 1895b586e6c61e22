"""Paths on the command line that are not ordinary files: one clear line and exit 2, no hang.

``validate``/``plan`` read a job file of at most 1 MiB whatever it is (a device, a FIFO,
a pipe); ``plan --out`` writes its file whole or says why it could not.
"""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from cloudgd.cli.outfile import write_user_file
from cloudgd.errors import UsageError
from tests.badinput.conftest import Invoke

REPO = Path(__file__).resolve().parents[2]
DIGITS = REPO / "examples" / "digits.yaml"


def one_error_line(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if not line.startswith("hint: ")]
    assert len(lines) == 1, stderr
    assert lines[0].startswith("cloudgd: error: "), stderr
    return lines[0].removeprefix("cloudgd: error: ")


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="needs /dev/zero")
def test_validate_reads_an_endless_device_only_up_to_the_limit(invoke: Invoke) -> None:
    result = invoke("validate", "/dev/zero")
    assert result.exit_code == 2
    assert (
        one_error_line(result.stderr) == "/dev/zero: more than 1 MiB; a job file is at most 1 MiB"
    )


def test_validate_of_a_fifo_nobody_writes_to_answers_at_once(
    invoke: Invoke, tmp_path: Path
) -> None:
    fifo = tmp_path / "job.yaml"
    os.mkfifo(fifo)
    result = invoke("validate", str(fifo))
    assert result.exit_code == 2
    assert one_error_line(result.stderr) == f"{fifo}: file is empty"


def test_validate_reads_a_fifo_someone_writes_a_job_into(invoke: Invoke, tmp_path: Path) -> None:
    # `cloudgd validate <(envsubst < job.yaml)` and friends: a stream with a writer works.
    fifo = tmp_path / "job.yaml"
    os.mkfifo(fifo)
    keep_open = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)  # holds the written bytes for us
    try:
        with open(fifo, "wb") as writer:
            writer.write(DIGITS.read_bytes())
        result = invoke("validate", str(fifo))
    finally:
        os.close(keep_open)
    assert result.exit_code == 0, result.stderr
    assert "ok (digits-mlp" in result.stdout


def test_plan_out_into_a_missing_directory(invoke: Invoke, tmp_path: Path) -> None:
    target = tmp_path / "no" / "such" / "plan.json"
    result = invoke("plan", str(DIGITS), "--provider", "local", "--out", str(target))
    assert result.exit_code == 2
    assert one_error_line(result.stderr) == (
        f"--out {target}: directory {target.parent} does not exist"
    )
    assert not (tmp_path / "no").exists()


def test_plan_out_onto_a_directory(invoke: Invoke, tmp_path: Path) -> None:
    result = invoke("plan", str(DIGITS), "--provider", "local", "--out", str(tmp_path))
    assert result.exit_code == 2
    assert one_error_line(result.stderr) == f"--out {tmp_path}: is a directory"


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
def test_plan_out_onto_a_full_device(invoke: Invoke) -> None:
    result = invoke("plan", str(DIGITS), "--provider", "local", "--out", "/dev/full")
    assert result.exit_code == 2
    assert one_error_line(result.stderr) == "--out /dev/full: cannot write: No space left on device"


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only directories")
def test_plan_out_into_a_read_only_directory(invoke: Invoke, tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        result = invoke("plan", str(DIGITS), "-p", "local", "--out", str(locked / "p.json"))
    finally:
        locked.chmod(0o700)
    assert result.exit_code == 2
    assert "cannot write: Permission denied" in one_error_line(result.stderr)


def test_plan_out_writes_the_whole_plan_privately(invoke: Invoke, tmp_path: Path) -> None:
    target = tmp_path / "plan.json"
    target.write_text("an older plan")
    result = invoke("plan", str(DIGITS), "--provider", "local", "--out", str(target))
    assert result.exit_code == 0, result.stderr
    assert json.loads(target.read_text())["provider"] == "local"
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["plan.json"]  # no temporary left behind


def test_out_through_a_symlink_writes_its_target(tmp_path: Path) -> None:
    real = tmp_path / "real.json"
    real.write_text("old")
    link = tmp_path / "link.json"
    link.symlink_to(real)
    write_user_file(link, "{}\n")
    assert link.is_symlink() and real.read_text() == "{}\n"


def test_out_to_a_fifo_nobody_reads_does_not_hang(tmp_path: Path) -> None:
    fifo = tmp_path / "plan.json"
    os.mkfifo(fifo)
    with pytest.raises(UsageError) as refused:
        write_user_file(fifo, "{}\n")
    assert refused.value.message == f"--out {fifo}: cannot write: No such device or address"
    assert stat.S_ISFIFO(fifo.stat().st_mode)  # never replaced by a regular file
