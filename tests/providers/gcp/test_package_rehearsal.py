"""A Vertex python-package script job rehearses what Vertex runs: the package file at
``packageUris`` pip-installed offline into an environment holding only the image's
torch and what the package declares, then ``python -m <pythonModule> <args>`` with the
pool's ``env`` (providers/gcp/package_rehearsal.py). A package pip cannot install, a
dependency the package does not declare, and a module the package lacks each fail the
rehearsal with one line, as they fail the Vertex job."""

from __future__ import annotations

import io
import os
import subprocess
import tarfile
from pathlib import Path
from typing import Any

import pytest

from cloudgd.script_bundle import build_script_bundle
from cloudgd.spec import JobSpec
from providers.gcp.package_rehearsal import LABEL, package_request, under_mount
from providers.local.isolated_env import EnvRequest, build, env_python
from tests.support.rehearsal_run import local_plan, run, script_job

BUCKET_DATA = "gs://bkt/byo/train/"


def pool(**fields: Any) -> dict[str, Any]:
    """A worker pool's pythonPackageSpec as cloudgd renders it for a script job."""
    return {
        "executorImageUri": "us-docker.pkg.dev/vertex-ai/training/pytorch-cpu.2-4.py310:latest",
        "packageUris": ["gs://bkt/cloudgd/code/cloudgd-trainer-0123.tar.gz"],
        "pythonModule": "trainers.script_launch",
        "args": ["--cloudgd-data", "train=/gcs/bkt/byo/train"],
        "env": [{"name": "GREETING", "value": "hello"}],
        **fields,
    }


def rehearse(tmp_path: Path, spec: JobSpec, package: Path, **fields: Any) -> tuple[Any, str, Path]:
    local, plan = local_plan(tmp_path, spec)
    request = package_request(plan.request, pool(**fields), str(package), {"train": BUCKET_DATA})
    return run(local, plan, request)


def sdist(tmp_path: Path, spec: JobSpec) -> Path:
    """The sdist the Vertex render uploads for ``spec`` (the same builder)."""
    assert spec.code is not None
    return Path(build_script_bundle(spec, Path(spec.code), tmp_path / "bundles", "sdist").path)


def test_fuse_paths_in_args_and_env_are_read_under_the_runs_mount() -> None:
    root = "/runs/job/gcs"
    assert under_mount("/gcs/bkt/x", root) == "/runs/job/gcs/bkt/x"
    assert under_mount("train=/gcs/bkt/x", root) == "train=/runs/job/gcs/bkt/x"
    assert under_mount("--dir=/gcs/b/c", root) == "--dir=/runs/job/gcs/b/c"
    assert under_mount("/data/gcs/x", root) == "/data/gcs/x"  # not the mount
    assert under_mount("/gcsx/y", root) == "/gcsx/y"


def test_the_request_runs_the_pools_module_with_its_args_and_env(tmp_path: Path) -> None:
    spec = script_job(tmp_path, "print('hi')\n", "gcp")
    _, plan = local_plan(tmp_path, spec)
    request = package_request(plan.request, pool(), "/pkgs/p.tar.gz", {"train": BUCKET_DATA})
    run_dir = request["run_dir"]
    (rank,) = request["ranks"]
    assert rank["argv"] == [
        "{python}", "-m", "trainers.script_launch",
        "--cloudgd-data", f"train={run_dir}/gcs/bkt/byo/train",
    ]  # fmt: skip
    assert rank["env"]["GREETING"] == "hello"
    assert rank["env"]["AIP_MODEL_DIR"] == f"{run_dir}/aip/model/"  # the container's own
    assert request["layout"]["python_env"]["sdist"] == "/pkgs/p.tar.gz"
    assert request["layout"]["code_dirs"] == []  # installed, never unpacked
    assert request["script"]["inputs"]["train"]["dirs"] == [f"{run_dir}/gcs/bkt/byo/train"]


def test_the_package_is_installed_and_its_module_runs_the_script(tmp_path: Path) -> None:
    script = (
        "import os, sys, yaml\n"  # declared in requirements.txt: the package's dependency
        "print('greeting', os.environ['GREETING'])\n"
        "print('data', sorted(os.listdir(os.environ['CLOUDGD_DATA_DIR_TRAIN'])))\n"
        "print('from', os.path.relpath(__file__, sys.prefix).split(os.sep)[:2])\n"
    )
    spec = script_job(tmp_path, script, "gcp", requirements="requirements.txt")
    (tmp_path / "job" / "requirements.txt").write_text("pyyaml\n")
    args = ["--cloudgd-data", "train=/gcs/bkt/byo/train", "--cloudgd-checkpoint-dir", "/gcs/bkt/ck"]
    final, log, run_dir = rehearse(tmp_path, spec, sdist(tmp_path, spec), args=args)
    assert final.state.value == "SUCCEEDED", log
    assert (run_dir / "gcs" / "bkt" / "ck").is_dir()  # written through the mount's stand-in
    assert "PyYAML==" in log  # in the environment because the package declares it
    assert "pip installed cloudgd-trainer-" in log
    assert "greeting hello" in log
    assert "data ['train.csv']" in log
    assert "from ['lib', 'python" in log  # the script ran from the installed package
    assert (run_dir / "gcs" / "bkt" / "byo" / "train" / "train.csv").is_file()


def test_a_dependency_the_package_does_not_declare_fails_the_rehearsal(tmp_path: Path) -> None:
    # pyyaml is installed here (cloudgd uses it) but the job's requirements leave it out
    spec = script_job(tmp_path, "import yaml\n", "gcp")
    final, log, _ = rehearse(tmp_path, spec, sdist(tmp_path, spec))
    assert final.state.value == "FAILED"
    assert final.message is not None
    assert "No module named 'yaml': the Vertex package does not declare the distribution" in (
        final.message
    ), log


def test_a_package_pip_cannot_install_fails_the_rehearsal_with_one_line(tmp_path: Path) -> None:
    broken = tmp_path / "broken-0.1.tar.gz"
    with tarfile.open(broken, "w:gz") as tar:
        for name, text in {
            "broken-0.1/PKG-INFO": "Metadata-Version: 2.1\nName: broken\nVersion: 0.1\n",
            "broken-0.1/setup.py": "raise SystemExit('setup.py: packages=[\"trainer\"] missing')\n",
        }.items():
            info = tarfile.TarInfo(name)
            info.size = len(text.encode())
            tar.addfile(info, io.BytesIO(text.encode()))
    spec = script_job(tmp_path, "print('never')\n", "gcp")
    final, log, _ = rehearse(tmp_path, spec, broken)
    assert final.state.value == "FAILED"
    assert final.message is not None
    assert final.message.startswith("the Vertex package: pip could not install broken-0.1.tar.gz")
    assert "\n" not in final.message
    assert "never" not in log


def test_a_module_the_package_lacks_fails_the_rehearsal_naming_it(tmp_path: Path) -> None:
    spec = script_job(tmp_path, "print('never')\n", "gcp")
    final, log, _ = rehearse(
        tmp_path, spec, sdist(tmp_path, spec), pythonModule="trainers.script_lunch"
    )
    assert final.state.value == "FAILED"
    assert final.message is not None
    assert "python -m trainers.script_lunch: no such module" in final.message, log


def test_a_package_made_by_the_vertex_sdks_own_packager_installs_and_runs_the_same_way(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # google-cloud-aiplatform's CustomTrainingJob packages a script with this class: an
    # sdist whose setup.py lists the requirements as install_requires, run as
    # `python -m aiplatform_custom_trainer_script.task`. The rehearsal's environment must
    # take such a package exactly as it takes cloudgd's.
    source_utils = pytest.importorskip("google.cloud.aiplatform.utils.source_utils")
    monkeypatch.setenv("PIP_NO_INDEX", "1")  # its `pip install setuptools` finds it here
    script = tmp_path / "task.py"
    script.write_text("import yaml\nprint('the SDK package ran with', yaml.__name__)\n")
    packager = source_utils._TrainingScriptPythonPackager(str(script), requirements=["pyyaml"])
    (tmp_path / "sdk").mkdir()
    package = packager.make_package(str(tmp_path / "sdk"))
    env, notes = build(EnvRequest(label=LABEL, sdist=package), cache=tmp_path / "envs")
    assert any(note.startswith("pip installed aiplatform_custom_trainer_script") for note in notes)
    clean = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    done = subprocess.run(
        [str(env_python(env)), "-m", packager.module_name],
        capture_output=True, text=True, timeout=120, env=clean, check=False,
    )  # fmt: skip
    assert done.stdout.strip() == "the SDK package ran with yaml", done.stderr
