"""A study's status is typed: providers write it with StudyStatus.to_extra() and every reader
gets the same document back, with only the fields the provider knows."""

from __future__ import annotations

import ast
from pathlib import Path

from cloudgd.plan import JobState, JobStatus
from cloudgd.tuning.status import BestTrial, StudyStatus, TrialOfStudy, TrialStatus

REPO = Path(__file__).resolve().parents[2]


def _status(extra: dict[str, object]) -> JobStatus:
    return JobStatus(handle="aws://r/t?kind=tuning", name="t", state=JobState.RUNNING, extra=extra)


def test_a_listed_study_carries_only_its_counts() -> None:
    """SageMaker's list gives counts alone: no best and no trials keys appear."""
    extra = StudyStatus(trial_counts={"Completed": 2}).to_extra()
    assert extra == {"kind": "tuning", "trial_counts": {"Completed": 2}}


def test_a_study_reads_back_as_it_was_written() -> None:
    study = StudyStatus(
        trial_counts={"SUCCEEDED": 1},
        best=BestTrial(trial=0, value=0.25, params={"trainer.optimizer.lr": 0.01}, run="r0"),
        trials=[TrialStatus(number=0, state="SUCCEEDED", value=0.25, handle="r0")],
        study_dir="/runs/studies/t",
    )
    extra = study.to_extra()
    assert extra["trials"] == [{"number": 0, "state": "SUCCEEDED", "value": 0.25, "handle": "r0"}]
    read = StudyStatus.of(_status(extra))
    assert read == study
    assert read.best is not None and read.best.label == "#0"  # local trials are numbered


def test_no_best_yet_is_an_empty_mapping_on_the_wire_and_none_when_read() -> None:
    extra = StudyStatus(best=None, trials=None).to_extra()
    assert extra == {"kind": "tuning", "best": {}, "trials": None}  # trials None: not listed
    read = StudyStatus.of(_status(extra))
    assert read is not None and read.best is None and read.trials is None


def test_a_single_jobs_status_is_no_study() -> None:
    assert StudyStatus.of(_status({"artifacts": {}})) is None
    trial = TrialOfStudy(study="gcp://p/l/1?kind=tuning", params={"a": 1})
    assert TrialOfStudy.of(_status(trial.to_extra())) == trial
    assert StudyStatus.of(_status(trial.to_extra())) is None


def _imports(module: Path) -> set[str]:
    tree = ast.parse(module.read_text(encoding="utf-8"))
    return {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}


def test_the_trials_table_does_not_import_the_output_module_that_uses_it() -> None:
    assert "cloudgd.cli.trials_view" in _imports(REPO / "cloudgd/cli/output.py")
    assert "cloudgd.cli.output" not in _imports(REPO / "cloudgd/cli/trials_view.py")
