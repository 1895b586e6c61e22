"""The trainer agrees with what its config promises: the metrics it reports, and the bounds.

``trainers.config`` is torch-free, so validation can only name metrics and bounds as
constants; these runs check the real trainer against them.
"""

from __future__ import annotations

from trainer_helpers import read_metrics, read_summary, tiny

from trainers.config import (
    MAX_COUNT,
    MAX_SEED,
    REPORTED_METRICS,
    SUMMARY_NUMBERS,
    TRAIN_METRICS,
    VALIDATION_METRICS,
)

NOT_METRICS = {"kind", "step", "epoch", "lr"}


def test_the_trainer_reports_exactly_the_metrics_the_config_names(run_trainer) -> None:
    jobs = {
        "classification": tiny(),
        "regression": tiny(data={"source": "synthetic_regression"}),
    }
    for task, cfg in jobs.items():
        code, run = run_trainer(cfg, name=task)
        assert code == 0
        expected = set(TRAIN_METRICS + VALIDATION_METRICS[task])
        assert set(read_summary(run)["final"]) == expected
        last_epoch = [r for r in read_metrics(run) if r["kind"] == "epoch"][-1]
        assert set(last_epoch) - NOT_METRICS == expected
        assert expected <= set(REPORTED_METRICS)


def test_early_stopping_watches_every_metric_its_task_reports(run_trainer) -> None:
    for metric in VALIDATION_METRICS["regression"]:
        cfg = tiny(
            data={"source": "synthetic_regression"},
            early_stopping={"metric": metric, "patience": 1},
        )
        code, run = run_trainer(cfg, name=metric)
        assert code == 0
        assert read_summary(run)["best"]["metric"] == metric
        assert read_summary(run)["best"]["value"] is not None


def test_values_at_the_documented_bounds_train(run_trainer) -> None:
    cfg = tiny(
        seed=MAX_SEED,
        optimizer={"betas": [0.0, 0.999999]},
        schedule={"name": "multistep", "milestones": [0, MAX_COUNT]},
        epochs=MAX_COUNT,
        max_steps=2,
        batch_size=MAX_COUNT,
        log_every_steps=MAX_COUNT,
        eval_every_epochs=MAX_COUNT,
        max_bad_steps=MAX_COUNT,
        checkpoint={"every_steps": MAX_COUNT, "keep_last": 1000},
    )
    code, run = run_trainer(cfg)
    assert code == 0
    assert read_summary(run)["steps"] == 2


def test_every_number_in_the_summary_is_a_name_gates_accept(run_trainer) -> None:
    from cloudgd.report.runfiles import SUMMARY_NAME, summary_metrics

    code, run = run_trainer(tiny())
    assert code == 0
    numbers = set(summary_metrics(run / "out" / SUMMARY_NAME))
    assert numbers <= set(REPORTED_METRICS + SUMMARY_NUMBERS), numbers - set(
        REPORTED_METRICS + SUMMARY_NUMBERS
    )
