"""A script job's bundle: the launcher, its config, the script's code and requirements, in
the form each cloud installs (SageMaker's requirements.txt, the Vertex sdist's
install_requires, Azure ML's environment from ``BundleRef.requires``)."""

from __future__ import annotations

import json
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from cloudgd.errors import SpecError
from cloudgd.loader import load_spec
from cloudgd.planning import build_job_bundle

JOB = """\
name: byo
code: .
script:
  entry_point: train.py
  args: ["--epochs", "2", "--data", "${data_dir}"]
  requirements: requirements.txt
  inputs: {train: s3://bucket/train/}
  metrics: {regex: {val_loss: 'val_loss=([-+0-9.eE]+)'}}
resources: {accelerator: none}
"""
REQUIREMENTS = "# the script's own packages\nnumpy>=1.26  # arrays\n\nsix==1.17.0\n"


@pytest.fixture
def job(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("CLOUDGD_HOME", str(tmp_path / "home"))
    (tmp_path / "train.py").write_text("print('val_loss=0.5')\n")
    (tmp_path / "requirements.txt").write_text(REQUIREMENTS)
    path = tmp_path / "job.yaml"
    path.write_text(JOB)
    return path


def test_the_tar_bundle_holds_the_launcher_its_config_and_the_scripts_requirements(
    job: Path,
) -> None:
    bundle = build_job_bundle(load_spec(job), "tar.gz")
    assert bundle.requires == ["numpy>=1.26", "six==1.17.0"]
    with tarfile.open(bundle.path) as archive:
        names = archive.getnames()

        def text(name: str) -> str:
            member = archive.extractfile(name)
            assert member is not None
            return member.read().decode()

        # the toolkit pip-installs the script's file as written
        assert text("requirements.txt") == REQUIREMENTS
        config = json.loads(text("cloudgd-script.json"))
        entry = text("cloudgd_script.py")
    assert {"code/train.py", "trainers/script_launch.py", "cloudgd_script.py"} <= set(names)
    assert "cloudgd-job.json" not in names and "cloudgd_entry.py" not in names
    assert config["entry_point"] == "train.py" and config["code_dir"] == "code"
    assert config["channels"] == ["train"]
    assert 'run_module("trainers.script_launch"' in entry


def test_the_sdist_declares_the_scripts_requirements_and_installs_its_config(
    job: Path, tmp_path: Path
) -> None:
    bundle = build_job_bundle(load_spec(job), "sdist")
    with tarfile.open(bundle.path) as archive:
        archive.extractall(tmp_path / "sdist", filter="data")
    root = tmp_path / "sdist" / "cloudgd_job-0.1.0"
    setup = (root / "setup.py").read_text()
    assert "install_requires=['numpy>=1.26', 'six==1.17.0']" in setup  # not the trainer's
    # what Vertex's pip install puts in site-packages: the launcher's config beside trainers
    subprocess.run(
        [sys.executable, "setup.py", "-q", "build_py", "--build-lib", str(tmp_path / "lib")],
        cwd=root,
        check=True,
        capture_output=True,
        timeout=120,
    )
    lib = tmp_path / "lib"
    assert (lib / "cloudgd-script.json").is_file() and (lib / "code" / "train.py").is_file()
    assert (lib / "trainers" / "script_launch.py").is_file()


def test_pip_options_cannot_become_package_dependencies(job: Path) -> None:
    (job.parent / "requirements.txt").write_text("--extra-index-url https://x.example\nsix\n")
    with pytest.raises(SpecError, match=r"script\.requirements: '--extra-index-url"):
        build_job_bundle(load_spec(job), "sdist")
    # SageMaker's toolkit reads the file with pip, options included
    assert build_job_bundle(load_spec(job), "tar.gz").requires[0].startswith("--extra")
