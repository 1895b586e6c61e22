"""The figure holds the logged values; one run or many overlaid; the Markdown beside it."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from cloudgd.report.billing import Billing
from cloudgd.report.build import write_report
from cloudgd.report.figure import plot_runs
from cloudgd.report.markdown import RunReport
from cloudgd.report.runfiles import RunData, load_run
from tests.report.conftest import trainer_records, write_output

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _run(tmp_path: Path, label: str, scale: float = 1.0, optimizer: str = "adamw") -> RunData:
    run = load_run(write_output(tmp_path / label, trainer_records(scale=scale)), label)
    return replace(run, meta={"config": {"optimizer": {"name": optimizer, "lr": 0.1}}})


def test_the_figure_plots_exactly_the_logged_values(tmp_path: Path) -> None:
    records = trainer_records(epochs=3, steps_per_epoch=4)
    run = load_run(write_output(tmp_path / "out", records), "digits")
    drawn = plot_runs([run], tmp_path / "fig.png", title="digits")
    assert (tmp_path / "fig.png").read_bytes().startswith(PNG_MAGIC)
    steps = [r for r in records if r["kind"] == "step"]
    epochs = [r for r in records if r["kind"] == "epoch"]
    train, val = drawn.panels["loss"]
    assert (train.style, val.style) == ("train", "val")
    assert list(train.series.x) == [r["step"] for r in steps]
    assert list(train.series.y) == [r["loss"] for r in steps]
    assert list(val.series.y) == [r["val_loss"] for r in epochs]
    (metric,) = drawn.panels["val_metric"]
    assert metric.series.name == "val_accuracy"
    assert list(metric.series.y) == [r["val_accuracy"] for r in epochs]
    assert list(drawn.panels["lr"][0].series.y) == [r["lr"] for r in steps]
    assert list(drawn.panels["grad_norm"][0].series.y) == [r["grad_norm"] for r in steps]
    assert drawn.titles["val_metric"] == "Validation accuracy"


def test_a_regression_run_plots_r2_and_skips_non_finite_points(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "metrics.jsonl").write_text(
        '{"kind": "step", "step": 1, "loss": "nan", "lr": 0.1, "grad_norm": 1.0}\n'
        '{"kind": "step", "step": 2, "loss": 0.5, "lr": 0.1, "grad_norm": 0.5}\n'
        '{"kind": "epoch", "step": 2, "epoch": 1, "loss": 0.6, "val_loss": 0.7, '
        '"val_mse": 0.7, "val_r2": 0.4, "lr": 0.1}\n'
    )
    drawn = plot_runs([load_run(out, "lin")], tmp_path / "fig.png", title="lin")
    assert drawn.panels["loss"][0].series.x == (2,)
    assert drawn.panels["val_metric"][0].series.name == "val_r2"


def test_compare_overlays_two_runs_in_one_figure_and_one_table(tmp_path: Path) -> None:
    sgd = _run(tmp_path, "digits-sgd", scale=2.0, optimizer="sgd")
    adam = _run(tmp_path, "digits-adam", scale=1.0, optimizer="adamw")
    reports = [
        RunReport(
            run=r,
            handle=f"local:///runs/{r.label}",
            provider="local",
            state="SUCCEEDED",
            spec_name="digits",
            billing=Billing(provider="local"),
        )
        for r in (sgd, adam)
    ]
    files = write_report(reports, tmp_path / "reports")
    assert files.figure == tmp_path / "reports" / "compare.png"
    assert files.figure.read_bytes().startswith(PNG_MAGIC)
    assert [line.run for line in files.drawn.panels["loss"]] == [
        "digits-sgd", "digits-sgd", "digits-adam", "digits-adam"
    ]  # fmt: skip
    text = files.markdown.read_text()
    assert "![Training curves of 2 runs](compare.png)" in text
    assert "| | `digits-sgd` | `digits-adam` |" in text
    assert "| optimizer | sgd lr=0.1 | adamw lr=0.1 |" in text
    assert "Best val_accuracy:" in text  # equal accuracy: the first best wins


def test_many_trials_overlay_with_a_bounded_legend(tmp_path: Path) -> None:
    runs = [_run(tmp_path, f"trial-{i:02d}", scale=1 + i / 10) for i in range(15)]
    drawn = plot_runs(runs, tmp_path / "trials.png", title="15 trials")
    assert len(drawn.panels["val_metric"]) == 15
    assert (tmp_path / "trials.png").stat().st_size > 10_000


def test_a_single_run_report_has_its_figure_metrics_and_cost_section(tmp_path: Path) -> None:
    run = _run(tmp_path, "digits-mlp-1")
    report = RunReport(
        run=run,
        handle="aws://us-east-1/digits-mlp-1",
        provider="aws",
        state="SUCCEEDED",
        spec_name="digits-mlp",
        billing=Billing(
            provider="aws",
            instance_type="ml.m5.xlarge",
            region="us-east-1",
            nodes=1,
            capacity="on_demand",
            price_per_hour=0.2,
            estimated_usd=0.01,
            billable_seconds=180,
            actual_usd=0.01,
            run_seconds=200,
        ),
    )
    files = write_report([report], tmp_path / "r")
    text = files.markdown.read_text()
    assert files.figure.name == "digits-mlp-1.png"
    assert "# digits-mlp: training report" in text
    assert "| machine | 1 × ml.m5.xlarge (us-east-1, on-demand) |" in text
    assert "| val_accuracy | 0.8 | 0.8 | 12 |" in text
    assert "| actual (billable time × price) | $0.0100 for 3m |" in text
