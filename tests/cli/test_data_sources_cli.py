"""A bad trainer.data block for the new sources is one line naming the field, exit 2."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli.conftest import Invoke

JOB = """name: data-sources
trainer:
  model: {{kind: mlp, hidden: [8]}}
  data: {data}
resources: {{accelerator: none}}
"""


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ("{source: parquet}", "trainer.data", "data.source=parquet needs data.uri"),
        ("{source: jsonl}", "trainer.data", "data.source=jsonl needs data.uri"),
        ("{source: custom}", "trainer.data", "needs data.entrypoint ('module:function')"),
        ("{entrypoint: 'not a module'}", "trainer.data", "must look like 'module:function'"),
        ("{source: image_folder, uri: d/, image_size: 4}", "data.image_size", "must be >= 8"),
        ("{source: image_folder, uri: d/, image_mode: CMYK}", "data.image_mode", "one of RGB, L"),
    ],
)
def test_bad_data_blocks_exit_2_with_one_line(
    invoke: Invoke, tmp_path: Path, data: str, field: str, message: str
) -> None:
    path = tmp_path / "job.yaml"
    path.write_text(JOB.format(data=data))
    result = invoke("validate", str(path))
    assert result.exit_code == 2, result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    error = next(line for line in lines if "error" in line.lower())
    assert field in error and message in error, result.stderr
    assert "Traceback" not in result.output


def test_a_custom_dataset_job_validates(invoke: Invoke, tmp_path: Path) -> None:
    (tmp_path / "code").mkdir()
    path = tmp_path / "job.yaml"
    path.write_text(JOB.format(data="{entrypoint: 'mydata:load', args: {n: 10}}") + "code: code\n")
    result = invoke("validate", str(path))
    assert result.exit_code == 0, result.stderr
    assert "on custom" in result.stdout


def test_a_custom_dataset_needs_the_code_dir_it_is_imported_from(
    invoke: Invoke, tmp_path: Path
) -> None:
    path = tmp_path / "job.yaml"
    path.write_text(JOB.format(data="{entrypoint: 'mydata:load'}"))
    for args in (("validate", str(path)), ("plan", str(path), "-p", "local")):
        result = invoke(*args)
        assert result.exit_code == 2, result.output
        assert result.stderr.splitlines()[0] == (
            f"cloudgd: error: {path}: trainer.data.source=custom needs code: (the directory "
            "with the module data.entrypoint names)"
        ), result.stderr
