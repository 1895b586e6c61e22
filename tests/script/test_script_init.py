"""`cloudgd init --script train.py` writes a valid spec for a script that already exists."""

from __future__ import annotations

from pathlib import Path

import pytest

from cloudgd.loader import load_spec
from tests.script.conftest import Invoke

SCRIPT = """\
import argparse
parser = argparse.ArgumentParser()
parser.add_argument("--lr", type=float, default=0.1)
parser.add_argument('--epochs', type=int, default=3)
args = parser.parse_args()
for epoch in range(args.epochs):
    print(f"epoch={epoch} train_loss={0.5:.3f} val_acc={0.9}")
"""


def test_init_writes_a_spec_for_an_existing_script(
    invoke: Invoke, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = tmp_path / "my_project"
    (project / "data").mkdir(parents=True)
    (project / "train.py").write_text(SCRIPT)
    (project / "requirements.txt").write_text("numpy\n")
    monkeypatch.chdir(tmp_path)
    result = invoke("init", "--script", "my_project/train.py")
    assert result.exit_code == 0, result.output
    spec = load_spec(tmp_path / "job.yaml").spec
    assert spec.name == "my-project"
    assert spec.code == "my_project"
    assert spec.script is not None
    assert spec.script.entry_point == "train.py"
    assert spec.script.requirements == "requirements.txt"
    assert spec.script.inputs == {"train": "my_project/data"}
    assert spec.script.metric_names == ["epoch", "train_loss", "val_acc"]
    text = (tmp_path / "job.yaml").read_text()
    assert "# its options: --lr --epochs" in text
    assert invoke("validate", "job.yaml").exit_code == 0


def test_init_refuses_a_missing_or_non_python_script(invoke: Invoke, tmp_path: Path) -> None:
    result = invoke("init", "--script", str(tmp_path / "nope.py"), str(tmp_path / "job.yaml"))
    assert result.exit_code == 2
    assert (
        result.stderr.splitlines()[0]
        == f"cloudgd: error: --script: no such file: {tmp_path}/nope.py"
    )
    (tmp_path / "run.sh").write_text("echo hi\n")
    result = invoke("init", "--script", str(tmp_path / "run.sh"), str(tmp_path / "job.yaml"))
    assert result.exit_code == 2 and "is not a .py file" in result.stderr
    assert not (tmp_path / "job.yaml").exists()
