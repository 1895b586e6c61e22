"""``cloudgd wait HANDLE --min-metric NAME=V`` in a pipeline that submitted earlier: the
gate's name is checked against what the job reports, a script job's own metrics included,
learnt from the record submit left (here for ``fake``, a cloud like any plug-in). With no
record (a handle from another machine) a plausible name waits and the finished job decides.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from cloudgd import registry
from tests.ci.conftest import Invoke

SCRIPT_JOB = """\
name: byo
code: .
script:
  entry_point: train.py
  metrics:
    regex: {{val_acc: 'val_acc=([0-9.]+)'}}
{file}env: {env}
"""


@pytest.fixture(autouse=True)
def fake_cloud(monkeypatch: pytest.MonkeyPatch) -> None:
    """``fake``: a cloud whose jobs succeed, leaving env.FAKE_SUMMARY as their summary.json."""
    info = registry.ProviderInfo("fake", "tests.cli.fakes:FakeProvider", None, (), "a fake cloud")
    monkeypatch.setitem(registry.BUILTINS, "fake", info)


def script_job(tmp_path: Path, *, metrics_file: bool = False) -> str:
    """A script job whose finished run reports val_acc=0.93 (and the fake's val_loss)."""
    (tmp_path / "train.py").write_text("print('val_acc=0.93')\n", encoding="utf-8")
    summary = json.dumps({"final": {"val_acc": 0.93}})
    env = json.dumps({"FAKE_SUMMARY": summary})
    file = "    file: scores.jsonl\n" if metrics_file else ""
    path = tmp_path / "job.yaml"
    path.write_text(SCRIPT_JOB.format(file=file, env=env), encoding="utf-8")
    return str(path)


def trainer_job(tmp_path: Path) -> str:
    path = tmp_path / "trainer.yaml"
    path.write_text("name: digits\ntrainer: {epochs: 3, data: {source: digits}}\n")
    return str(path)


def submitted(invoke: Invoke, spec: str) -> str:
    """Submit without waiting, as a pipeline's first step does; the handle."""
    result = invoke("-o", "json", "submit", spec, "-p", "fake")
    assert result.exit_code == 0, result.stderr
    return str(json.loads(result.stdout)["handle"])


def wait(invoke: Invoke, handle: str, *gates: str) -> tuple[int, dict[str, object], str]:
    result = invoke("-o", "json", "wait", handle, "--poll", "0.01", *gates)
    document = json.loads(result.stdout) if result.stdout.strip() else {}
    return result.exit_code, document, result.stderr


def test_wait_gates_a_script_job_on_its_own_metric(invoke: Invoke, tmp_path: Path) -> None:
    handle = submitted(invoke, script_job(tmp_path))
    code, document, stderr = wait(invoke, handle, "--min-metric", "val_acc=0.9")
    assert code == 0, stderr
    assert document["passed"] is True
    assert "gate passed: val_acc=0.93 is at least 0.9 (--min-metric val_acc=0.9)" in stderr
    assert "no record" not in stderr


def test_wait_refuses_a_misspelt_script_metric_before_waiting(
    invoke: Invoke, tmp_path: Path
) -> None:
    handle = submitted(invoke, script_job(tmp_path))
    code, _, stderr = wait(invoke, handle, "--min-metric", "val_ac=0.9")
    assert code == 2
    assert stderr.splitlines()[0] == (
        "cloudgd: error: --min-metric val_ac: script.metrics collects no such metric; "
        "did you mean 'val_acc'?"
    )
    assert "val_acc, epochs, exit_code, wall_time_s, world_size" in stderr
    # A gate on one of the trainer's names is refused too: this job does not run the trainer.
    assert wait(invoke, handle, "--min-metric", "val_accuracy=0.9")[0] == 2


def test_a_script_writing_a_metrics_file_may_be_gated_on_any_name(
    invoke: Invoke, tmp_path: Path
) -> None:
    handle = submitted(invoke, script_job(tmp_path, metrics_file=True))
    code, _, stderr = wait(invoke, handle, "--min-metric", "f1=0.5")
    assert code == 4  # accepted before waiting; the finished job reported no f1
    assert "gate failed: --min-metric f1=0.5: the job reported no f1" in stderr


def test_wait_keeps_typo_help_for_a_trainer_job(invoke: Invoke, tmp_path: Path) -> None:
    handle = submitted(invoke, trainer_job(tmp_path))
    code, _, stderr = wait(invoke, handle, "--min-metric", "val_acuracy=0.9")
    assert code == 2
    assert stderr.splitlines()[0] == (
        "cloudgd: error: --min-metric val_acuracy: the trainer reports no such metric; "
        "did you mean 'val_accuracy'?"
    )
    # A script's name on a trainer job is refused as well.
    assert wait(invoke, handle, "--min-metric", "val_acc=0.9")[0] == 2


def test_without_a_record_a_plausible_name_waits_and_the_finished_job_decides(
    invoke: Invoke, tmp_path: Path, cloudgd_home: Path
) -> None:
    handle = submitted(invoke, script_job(tmp_path))
    shutil.rmtree(cloudgd_home / "jobs")  # as on another machine, or from an older cloudgd

    code, document, stderr = wait(invoke, handle, "--min-metric", "val_acc=0.9")
    assert code == 0, stderr
    assert document["passed"] is True
    assert (
        "note: --min-metric val_acc: no record here of what this job reports (submitted from "
        "another machine or an older cloudgd); the gate is checked on the finished job's "
        "metrics (if it runs the built-in trainer: did you mean 'val_accuracy'?)\n"
    ) in stderr

    code, document, stderr = wait(invoke, handle, "--min-metric", "val_acuracy=0.9")
    assert code == 4
    assert document["passed"] is False
    (line,) = [x for x in stderr.splitlines() if x.startswith("cloudgd: error:")]
    assert line == (
        "cloudgd: error: gate failed: --min-metric val_acuracy=0.9: the job reported no "
        "val_acuracy (it reported: val_acc, val_loss)"
    )
    assert "did you mean 'val_acc'? gate on a metric the job reports" in stderr


def test_a_record_is_only_read_for_the_job_it_names(
    invoke: Invoke, tmp_path: Path, cloudgd_home: Path
) -> None:
    handle = submitted(invoke, script_job(tmp_path))
    (record,) = (cloudgd_home / "jobs").iterdir()
    data = json.loads(record.read_text())
    assert data["job"] == handle.partition("?")[0]
    assert data["reports"]["runner"] == "script" and data["reports"]["metrics"] == ["val_acc"]
    record.write_text(json.dumps({**data, "job": "fake://zone-1/another-job"}))
    code, _, stderr = wait(invoke, handle, "--min-metric", "val_ac=0.9")
    assert code == 4  # the record was not this job's: nothing known, the finished job decides
    assert "no record here of what this job reports" in stderr
