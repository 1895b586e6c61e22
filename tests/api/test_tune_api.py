"""``Job.tune`` / ``cloudgd.tune`` → ``Study``: a tiny local study (real trainer trials)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

import cloudgd

TINY = {
    "name": "digits",
    "trainer": {"epochs": 1, "model": {"hidden": [16]}, "data": {"limit": 300}, "num_threads": 1},
    "tuning": {
        "metric": {"name": "val_loss", "goal": "minimize"},
        "parameters": {"trainer.optimizer.lr": {"type": "log_uniform", "min": 1e-3, "max": 1e-1}},
        "max_trials": 2,
        "parallel_trials": 1,
        "strategy": "random",
    },
}


@pytest.mark.slow
def test_a_local_study_runs_and_names_its_best_trial(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    path = tmp_path / "job.yaml"
    path.write_text(yaml.safe_dump(TINY))
    study = cloudgd.tune(path, "local")
    assert isinstance(study, cloudgd.Study)
    assert study.status().state is cloudgd.JobState.SUCCEEDED
    assert [trial["number"] for trial in study.trials()] == [0, 1]
    best = study.best()
    assert best is not None and set(best["params"]) == {"trainer.optimizer.lr"}
    best_run = study.best_run()
    assert best_run is not None
    assert best_run.metrics("epoch")[-1]["val_loss"] == pytest.approx(best["value"])
    again = cloudgd.Study.from_handle(study.handle)
    assert again.best() == best


def test_a_spec_without_tuning_is_a_spec_error(tmp_path: Path) -> None:
    job = cloudgd.Job({"name": "plain", "trainer": {"epochs": 1}})
    with pytest.raises(cloudgd.SpecError, match="no tuning"):
        job.tune("local")
