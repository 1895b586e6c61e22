"""A script: job is checked before anything is created: one line naming the field, exit 2."""

from __future__ import annotations

from pathlib import Path

import pytest

from cloudgd.script_spec import ScriptSpec, launch_config
from cloudgd.spec import JobSpec
from tests.script.conftest import Invoke, MakeJob

GOOD = """\
name: byo
code: .
script:
  entry_point: train.py
  args: ["--data", "${data_dir}", "--out", "${model_dir}"]
  inputs: {train: ./data}
  metrics:
    regex: {val_loss: 'val_loss=([-+0-9.eE]+)'}
"""


def first_error(invoke: Invoke, job: Path) -> str:
    result = invoke("validate", str(job))
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    return result.stderr.splitlines()[0]


def test_a_script_job_validates_and_keeps_trainer_jobs_as_they_were(
    invoke: Invoke, make_job: MakeJob
) -> None:
    job = make_job(GOOD)
    result = invoke("validate", str(job))
    assert result.exit_code == 0, result.output
    # a spec that names neither block still means the built-in trainer, as before script:
    assert JobSpec.model_validate({"name": "digits"}).script is None


def test_both_trainer_and_script_are_refused(invoke: Invoke, make_job: MakeJob) -> None:
    job = make_job(GOOD + "trainer: {epochs: 2}\n")
    assert first_error(invoke, job) == (
        f"cloudgd: error: {job}: give exactly one of trainer: (the built-in trainer) and "
        "script: (your own script), not both"
    )


def test_neither_trainer_nor_script_is_refused(invoke: Invoke, make_job: MakeJob) -> None:
    job = make_job("name: byo\ntrainer: null\n")
    assert first_error(invoke, job).endswith(
        "this job has neither (trainer: is empty; remove it to use the trainer's defaults)"
    )


def test_trainer_null_with_a_script_is_a_script_job(make_job: MakeJob) -> None:
    spec = JobSpec.model_validate(
        {"name": "byo", "code": ".", "trainer": None, "script": {"entry_point": "train.py"}}
    )
    assert spec.is_script


@pytest.mark.parametrize(
    ("script", "message"),
    [
        (
            "{entry_point: train.py, module: pkg.train}",
            "script: give exactly one of entry_point (a .py file) and module (pkg.train), not both",
        ),
        (
            "{entry_point: train.py, args: ['${data}']}",
            "script.args: unknown placeholder ${data} (known: ${model_dir}, ${checkpoint_dir}, "
            "${output_dir})",
        ),
        (
            "{entry_point: train.py, args: ['${data_dir}']}",
            "script.args: ${data_dir} needs an input channel; add script.inputs (name: URI)",
        ),
        (
            "{entry_point: train.py, metrics: {regex: {val_loss: 'val_loss=[0-9.]+'}}}",
            "script.metrics.regex: val_loss: regex 'val_loss=[0-9.]+' needs exactly one group "
            "around the number (it has 0), e.g. 'val_loss=([-+0-9.eE]+)'",
        ),
        (
            "{entry_point: train.py, metrics: {file: metrics.jsonl}}",
            "script.metrics.file: metrics.jsonl is where cloudgd writes the collected metrics; "
            "name your file differently (e.g. script-metrics.jsonl)",
        ),
        ("{entry_point: ../train.py}", "script.entry_point: must stay inside code:"),
        ("{entry_point: train.sh}", "script.entry_point: must be a .py file inside code:"),
    ],
)
def test_bad_script_blocks_name_the_field(
    invoke: Invoke, make_job: MakeJob, script: str, message: str
) -> None:
    job = make_job(f"name: byo\ncode: .\nscript: {script}\n")
    assert first_error(invoke, job).startswith(f"cloudgd: error: {job}: {message}")


def test_a_regex_that_does_not_compile_is_refused(invoke: Invoke, make_job: MakeJob) -> None:
    job = make_job(
        "name: byo\ncode: .\nscript:\n  entry_point: train.py\n"
        "  metrics: {regex: {loss: 'loss=([0-9.]+'}}\n"
    )
    assert "loss: regex 'loss=([0-9.]+' does not compile: missing )" in first_error(invoke, job)


def test_a_missing_entry_point_or_requirements_file_is_refused(
    invoke: Invoke, make_job: MakeJob
) -> None:
    job = make_job("name: byo\ncode: .\nscript: {entry_point: missing.py}\n")
    root = job.parent.resolve()
    assert first_error(invoke, job) == (
        f"cloudgd: error: {job}: script.entry_point: file not found in code: {root}/missing.py"
    )
    job = make_job("name: byo\ncode: .\nscript: {entry_point: train.py, requirements: req.txt}\n")
    assert first_error(invoke, job).endswith(
        f"script.requirements: file not found in code: {root}/req.txt"
    )
    job = make_job("name: byo\ncode: .\nscript: {module: pkg.train}\n")
    assert "script.module: no pkg/train.py or pkg/train/ in code:" in first_error(invoke, job)


@pytest.mark.parametrize(
    ("body", "ignore", "field", "left_out", "back_in"),
    [
        ("{entry_point: train.py}", "train.py", "script.entry_point", "train.py", "!train.py"),
        ("{entry_point: ./src/train.py}", "src/", "script.entry_point", "src/train.py", "!src/"),
        ("{module: pkg.train}", "pkg/", "script.module", "pkg/train.py", "!pkg/"),
    ],
)
def test_a_script_the_bundle_would_leave_out_is_refused(
    invoke: Invoke, make_job: MakeJob, body: str, ignore: str, field: str, left_out: str,
    back_in: str,
) -> None:  # fmt: skip
    files = {"src/train.py": "", "pkg/train.py": "", ".gitignore": ignore + "\n"}
    job = make_job(f"name: byo\ncode: .\nscript: {body}\n", files=files)
    assert first_error(invoke, job) == (
        f"cloudgd: error: {job}: {field}: {left_out} is left out of the job's bundle by the "
        "code directory's ignore rules (.gitignore, .cloudgdignore, credential-like names)"
    )
    (job.parent / ".cloudgdignore").write_text(back_in + "\n")  # the hint's way back in
    assert invoke("validate", str(job)).exit_code == 0


def test_a_script_needs_code(invoke: Invoke, make_job: MakeJob) -> None:
    job = make_job("name: byo\nscript: {entry_point: train.py}\n")
    assert first_error(invoke, job).endswith(
        "script: needs code: (the directory holding the script, e.g. code: .)"
    )


def test_tuning_a_script_job_names_arguments_and_a_collected_metric(
    invoke: Invoke, make_job: MakeJob
) -> None:
    tuning = "tuning:\n  metric: {name: val_loss}\n  parameters:\n"
    job = make_job(GOOD + tuning + "    trainer.optimizer.lr: {type: uniform, min: 0.1, max: 1}\n")
    assert "a script job tunes its arguments: script.args.<name>" in first_error(invoke, job)
    job = make_job(
        GOOD.replace("val_loss: ", "loss: ")
        + tuning
        + "    script.args.lr: {type: uniform, min: 0.1, max: 1}\n"
    )
    assert first_error(invoke, job).endswith(
        "tuning.metric.name: script.metrics collects no 'val_loss' (it collects: loss); add a "
        "regex for it under script.metrics.regex"
    )
    job = make_job(GOOD + tuning + "    script.args.lr: {type: uniform, min: 0.1, max: 1}\n")
    assert invoke("validate", str(job)).exit_code == 0


def test_the_launcher_config_carries_what_the_script_needs() -> None:
    script = ScriptSpec.model_validate(
        {
            "module": "pkg.train",
            "args": ["--out", "${output_dir}"],
            "inputs": {"train": "s3://b/train/", "val": "s3://b/val/"},
            "metrics": {"regex": {"acc": "acc=([0-9.]+)"}},
        }
    )
    assert launch_config(script, nodes=2, processes_per_node=4) == {
        "version": 1,
        "entry_point": None,
        "module": "pkg.train",
        "args": ["--out", "${output_dir}"],
        "channels": ["train", "val"],
        "metrics": {"regex": {"acc": "acc=([0-9.]+)"}, "file": None},
        "nodes": 2,
        "processes_per_node": 4,
        "code_dir": "code",
    }


def test_a_missing_local_input_is_refused_before_planning(
    invoke: Invoke, make_job: MakeJob
) -> None:
    job = make_job(GOOD.replace("./data", "./nowhere"))
    assert first_error(invoke, job) == (
        f"cloudgd: error: {job}: script.inputs.train: no such file or directory: "
        f"{job.parent}/nowhere (a relative path starts at the job file's directory)"
    )
    result = invoke("plan", str(job), "-p", "local")
    assert result.exit_code == 2
