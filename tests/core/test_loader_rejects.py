"""Every way a job file can be wrong gives one exact, readable line per problem."""

from __future__ import annotations

from pathlib import Path

import pytest

from cloudgd.errors import SpecError
from cloudgd.loader import load_spec


def problems_of(tmp_path: Path, text: str | bytes, name: str = "job.yaml") -> list[str]:
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    with pytest.raises(SpecError) as caught:
        load_spec(path)
    assert caught.value.exit_code == 2
    prefix = f"{tmp_path}/"
    return [line.removeprefix(prefix) for line in caught.value.lines()]


CASES = {
    "negative lr": (
        "name: a-job\ntrainer: {optimizer: {lr: -1}}\n",
        ["job.yaml: trainer.optimizer.lr: must be > 0 (got -1)"],
    ),
    "typo with suggestion": (
        "name: a-job\ntrainer: {epoch: 3}\n",
        ["job.yaml: trainer.epoch: unknown field; did you mean 'epochs'?"],
    ),
    "unknown top-level key without a close match": (
        "name: a-job\nzzz: 1\n",
        [
            "job.yaml: zzz: unknown field (fields here: name, description, trainer, script, "
            "resources, scaling, distributed, limits, checkpoints, image, code, env, secrets, "
            "tags, providers, tuning)",
        ],
    ),
    "missing name": ("trainer: {epochs: 3}\n", ["job.yaml: name: required field is missing"]),
    "bad choice": (
        "name: a-job\ntrainer: {optimizer: {name: adm}}\n",
        [
            "job.yaml: trainer.optimizer.name: must be one of sgd, adam, adamw, rmsprop, "
            "adagrad, lbfgs (got 'adm'); did you mean 'adam'?"
        ],
    ),
    "whole number": (
        "name: a-job\nresources: {nodes: 1.5}\n",
        ["job.yaml: resources.nodes: must be a whole number (got 1.5)"],
    ),
    "list item": (
        "name: a-job\ntrainer: {model: {hidden: [64, x]}}\n",
        ["job.yaml: trainer.model.hidden[1]: must be a whole number (got 'x')"],
    ),
    "env value is a number": (
        "name: a-job\nenv: {EPOCHS: 5}\n",
        ["job.yaml: env.EPOCHS: must be text (got 5); quote it"],
    ),
    "empty block": (
        "name: a-job\nresources:\n",
        [
            "job.yaml: resources: must be a mapping of fields (got nothing); "
            "remove the key to use the defaults"
        ],
    ),
    "bad duration": (
        "name: a-job\nlimits: {max_runtime: soon}\n",
        [
            "job.yaml: limits.max_runtime: expected a duration like 90s, 10m, 6h or 1h30m "
            "(got 'soon')"
        ],
    ),
    "cross-field rule": (
        "name: a-job\nscaling: {spot: true}\ncheckpoints: {enabled: false}\n",
        [
            "job.yaml: scaling.spot: spot capacity can be reclaimed at any time; it needs "
            "checkpoints.enabled=true so the job resumes instead of restarting"
        ],
    ),
    "pattern": (
        "name: a-job\nproviders: {aws: {role_arn: my-role}}\n",
        [
            "job.yaml: providers.aws.role_arn: has the wrong format (got 'my-role'); expected "
            r"to match ^arn:aws[a-z-]*:iam::\d{12}:role/.+$"
        ],
    ),
    "empty file": ("", ["job.yaml: file is empty"]),
    "only comments": ("# nothing yet\n\n", ["job.yaml: file is empty"]),
    "a list": ("- name: a-job\n", [
        "job.yaml: expected a mapping of fields (name:, trainer:, ...) at the top level, "
        "got a list"
    ]),
    "a scalar": ("just words\n", [
        "job.yaml: expected a mapping of fields (name:, trainer:, ...) at the top level, "
        "got a single value (str)"
    ]),
    "not YAML": ("name: a-job\ntrainer: {epochs: 3\n", [
        "job.yaml: line 3: not valid YAML: while parsing a flow mapping: expected ',' or '}', "
        "but got '<stream end>'"
    ]),
    "tabs": ("name: a-job\n\ttrainer: {}\n", [
        "job.yaml: line 2: not valid YAML: while scanning for the next token: found character "
        "'\\t' that cannot start any token (indent with spaces, not tabs)"
    ]),
    "duplicate key": ("name: a-job\ntrainer: {}\nname: b-job\n", [
        "job.yaml: line 3: duplicate key 'name' (first at line 1)"
    ]),
    "boolean key": ("name: a-job\nenv:\n  on: x\n", [
        "job.yaml: line 3: key 'on' is read by YAML as bool, not text; quote it: 'on'"
    ]),
    "huge number": ("name: a-job\ntrainer: {epochs: " + "9" * 50 + "}\n", [
        "job.yaml: line 2: number 99999999999999999999... is too large"
    ]),
    "infinity": ("name: a-job\ntrainer: {optimizer: {lr: .inf}}\n", [
        "job.yaml: line 2: '.inf' is not a finite number (infinity and NaN are not allowed)"
    ]),
    "two documents": ("name: a-job\n---\nname: b-job\n", [
        "job.yaml: line 2: not valid YAML: expected a single document in the stream, but "
        "found another document"
    ]),
    "not UTF-8": (b"name: caf\xe9-job\n", [
        "job.yaml: not UTF-8 text (byte 0xe9 at offset 9)"
    ]),
}  # fmt: skip


@pytest.mark.parametrize("text, expected", list(CASES.values()), ids=list(CASES))
def test_rejected_with_exact_lines(tmp_path: Path, text: str | bytes, expected: list[str]) -> None:
    assert problems_of(tmp_path, text) == expected


def test_many_problems_are_all_reported(tmp_path: Path) -> None:
    lines = problems_of(
        tmp_path,
        "name: Bad_Name\ntrainer: {epochs: 0, batch_size: -1, optimizer: {lr: 0}}\n"
        "resources: {nodes: 0}\n",
    )
    assert [line.split(": ")[1] for line in lines] == [
        "name",
        "trainer.optimizer.lr",
        "trainer.epochs",
        "trainer.batch_size",
        "resources.nodes",
    ]


def test_json_problems_name_the_line(tmp_path: Path) -> None:
    assert problems_of(tmp_path, '{"name": "a-job",\n "trainer": }', "job.json") == [
        "job.json: line 2: not valid JSON: Expecting value (column 13)"
    ]
    assert problems_of(tmp_path, '{"name": "a", "name": "b"}', "job.json") == [
        "job.json: duplicate key 'name'"
    ]
    assert problems_of(tmp_path, '{"name": "a-job", "trainer": {"seed": NaN}}', "job.json") == [
        "job.json: NaN is not allowed (use a finite number)"
    ]


def test_file_problems(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match=r"nope\.yaml: no such file"):
        load_spec(tmp_path / "nope.yaml")
    with pytest.raises(SpecError, match="is a directory, not a job file"):
        load_spec(tmp_path)
    big = tmp_path / "big.yaml"
    big.write_text("name: a-job\n" + "# padding\n" * 120_000)
    with pytest.raises(SpecError, match="a job file is at most 1 MiB"):
        load_spec(big)


def test_missing_code_dir_is_reported(tmp_path: Path) -> None:
    assert problems_of(tmp_path, "name: a-job\ncode: src\n") == [
        f"job.yaml: code: directory not found: {tmp_path / 'src'}"
    ]


def test_override_problems_are_marked(tmp_path: Path) -> None:
    path = tmp_path / "job.yaml"
    path.write_text("name: a-job\n")
    with pytest.raises(SpecError) as caught:
        load_spec(path, ["trainer.epochs=0"])
    assert caught.value.lines() == [f"{path}: trainer.epochs: must be >= 1 (got 0) (from --set)"]
