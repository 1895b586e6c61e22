"""The tuning: block is checked against the trainer fields it tunes; errors name the path."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from tuning_helpers import ISSUE_SEARCH

from cloudgd.errors import SpecError
from cloudgd.loader import load_spec
from cloudgd.naming import job_name
from cloudgd.spec import JobSpec


def _job(tmp_path: Path, parameters: dict[str, Any], **tuning: Any) -> Path:
    import yaml

    doc = {"name": "digits", "tuning": {"parameters": parameters, **tuning}}
    path = tmp_path / "job.yaml"
    path.write_text(yaml.safe_dump(doc))
    return path


def _error(tmp_path: Path, parameters: dict[str, Any], **tuning: Any) -> str:
    with pytest.raises(SpecError) as caught:
        load_spec(_job(tmp_path, parameters, **tuning))
    return caught.value.message


def test_the_issue_example_loads() -> None:
    spec = JobSpec.model_validate({"name": "digits", "tuning": ISSUE_SEARCH})
    assert spec.tuning is not None
    assert spec.tuning.trial_count == 20


def test_the_search_is_part_of_the_job_identity() -> None:
    plain = JobSpec.model_validate({"name": "digits"})
    tuned = JobSpec.model_validate({"name": "digits", "tuning": ISSUE_SEARCH})
    assert job_name(plain, None) != job_name(tuned, None)


@pytest.mark.parametrize(
    ("parameters", "expected"),
    [
        (
            {"trainer.batch_sz": {"type": "choice", "values": [1, 2]}},
            "tuning.parameters['trainer.batch_sz']: unknown field 'batch_sz' in trainer; "
            "did you mean 'batch_size'?",
        ),
        (
            {"resources.nodes": {"type": "int_uniform", "min": 1, "max": 4}},
            "tuning.parameters['resources.nodes']: only trainer fields can be tuned",
        ),
        (
            {"trainer.optimizer.lr": {"type": "uniform", "min": 0, "max": 1}},
            "tuning.parameters['trainer.optimizer.lr']: value 0.0 is invalid: must be > 0",
        ),
        (
            {"trainer.batch_size": {"type": "uniform", "min": 8, "max": 64}},
            "trainer.batch_size is an integer field; uniform draws floats (use int_uniform)",
        ),
        (
            {"trainer.optimizer.name": {"type": "choice", "values": ["sgd", "adm"]}},
            "'adm' is not one of trainer.optimizer.name's values",
        ),
        (
            {"trainer.model.dropout": {"type": "uniform", "min": 0.1, "max": 1.0}},
            "tuning.parameters['trainer.model.dropout']: value 1.0 is invalid: must be < 1",
        ),
        (
            {"trainer.optimizer": {"type": "choice", "values": ["sgd"]}},
            "trainer.optimizer is a model, not a single value",
        ),
        (
            {"trainer.optimizer.lr": {"type": "log_uniform", "min": 0.1, "max": 0.01}},
            "min (0.1) must be < max (0.01)",
        ),
    ],
)
def test_bad_parameters_are_refused_naming_the_path(
    tmp_path: Path, parameters: dict[str, Any], expected: str
) -> None:
    assert expected in _error(tmp_path, parameters)


def test_grid_needs_lists(tmp_path: Path) -> None:
    message = _error(
        tmp_path,
        {"trainer.optimizer.lr": {"type": "uniform", "min": 0.01, "max": 0.1}},
        strategy="grid",
    )
    assert "strategy grid needs type choice for every parameter" in message


def test_parallel_trials_cannot_exceed_max_trials(tmp_path: Path) -> None:
    message = _error(
        tmp_path,
        {"trainer.epochs": {"type": "int_uniform", "min": 1, "max": 3}},
        max_trials=2,
        parallel_trials=3,
    )
    assert "parallel_trials (3) must be <= max_trials (2)" in message


def test_a_grid_smaller_than_max_trials_runs_each_combination_once() -> None:
    spec = JobSpec.model_validate(
        {
            "name": "digits",
            "tuning": {
                "strategy": "grid",
                "max_trials": 50,
                "parameters": {
                    "trainer.batch_size": {"type": "choice", "values": [32, 64]},
                    "trainer.optimizer.name": {
                        "type": "choice",
                        "values": ["sgd", "adam", "adamw"],
                    },
                },
            },
        }
    )
    assert spec.tuning is not None and spec.tuning.trial_count == 6
