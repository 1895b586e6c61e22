"""`cloudgd report`: files written, no-metrics message, --compare, and a lazy matplotlib."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner, Result

from cloudgd.cli.main import cli
from tests.report.conftest import WriteRun, trainer_records

REPO = Path(__file__).resolve().parents[2]


def cloudgd(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args))


def test_report_writes_the_figure_and_the_summary(local_run: WriteRun, tmp_path: Path) -> None:
    run = local_run("digits-mlp-1", records=trainer_records())
    spec = str(REPO / "examples" / "digits.yaml")
    result = cloudgd("report", str(run), "--out", str(tmp_path / "r"), "--spec", spec)
    assert result.exit_code == 0, result.output
    figure, markdown = (Path(p) for p in result.stdout.split())
    assert figure == tmp_path / "r" / "digits-mlp-1.png" and figure.stat().st_size > 10_000
    text = markdown.read_text()
    assert text.startswith("# digits-mlp: training report")
    assert "| duration | 30s |" in text  # from the run's start and end
    assert "| val_accuracy | 0.8 | 0.8 | 12 |" in text
    assert "| aws | 1 × " in text  # a local run, priced on each cloud's machine


def test_json_output_names_the_files(local_run: WriteRun, tmp_path: Path) -> None:
    run = local_run("digits-mlp-2", records=trainer_records())
    result = cloudgd("-o", "json", "report", str(run), "--out", str(tmp_path / "r"))
    document = json.loads(result.stdout)
    assert document["figure"].endswith("digits-mlp-2.png")
    assert document["runs"] == [
        {"handle": f"local://{run}", "job": "digits-mlp-2", "state": "SUCCEEDED"}
    ]


def test_a_run_without_metrics_yet_gets_a_clear_message(local_run: WriteRun) -> None:
    run = local_run("digits-mlp-3", records=None, state="running")
    result = cloudgd("report", str(run))
    assert result.exit_code == 3  # nothing to report on yet; not an internal error
    assert "digits-mlp-3 (RUNNING): no metrics yet" in result.stderr
    assert "hint:" in result.stderr and "cloudgd logs --follow" in result.stderr


def test_compare_overlays_runs_in_one_figure_and_one_table(
    local_run: WriteRun, tmp_path: Path
) -> None:
    sgd = local_run("digits-sgd", records=trainer_records(scale=2.0), optimizer="sgd")
    adam = local_run("digits-adam", records=trainer_records(), optimizer="adamw")
    result = cloudgd("report", "--compare", str(sgd), str(adam), "--out", str(tmp_path / "c"))
    assert result.exit_code == 0, result.output
    assert result.stdout.split() == [
        str(tmp_path / "c" / "compare.png"),
        str(tmp_path / "c" / "compare.md"),
    ]
    table = (tmp_path / "c" / "compare.md").read_text()
    assert "| optimizer | sgd lr=0.01 | adamw lr=0.01 |" in table
    assert "| best val_loss | 0.4167 | 0.2083 |" in table


def test_several_handles_need_compare(local_run: WriteRun) -> None:
    result = cloudgd("report", "a", "b")
    assert result.exit_code == 2 and "--compare" in result.stderr


def test_help_and_plan_do_not_import_matplotlib(tmp_path: Path) -> None:
    probe = (
        "import sys; from cloudgd.cli.main import cli\n"
        "cli.main(args=['report', '--help'], prog_name='cloudgd', standalone_mode=False)\n"
        "print('matplotlib' in sys.modules, 'torch' in sys.modules, file=sys.stderr)"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO), "CLOUDGD_HOME": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.stderr.strip().splitlines()[-1] == "False False"
    assert "--compare" in done.stdout


def test_a_run_that_failed_before_any_metric_points_at_its_logs(local_run: WriteRun) -> None:
    run = local_run("digits-mlp-4", records=None, state="failed")
    result = cloudgd("report", str(run))
    assert result.exit_code == 4  # the job failed, as `wait` says
    assert "digits-mlp-4 (FAILED): no metrics yet" in result.stderr
    assert "ended FAILED before the trainer logged a metric" in result.stderr


def test_an_out_directory_that_cannot_be_made_is_one_line(
    local_run: WriteRun, tmp_path: Path
) -> None:
    run = local_run("digits-mlp-5", records=trainer_records())
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    result = cloudgd("report", str(run), "--out", str(blocker / "reports"))
    assert result.exit_code == 2
    assert result.stderr.splitlines()[0] == (
        f"cloudgd: error: --out {blocker / 'reports'}: cannot write the report: Not a directory"
    )
