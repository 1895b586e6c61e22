"""The built distributions install and work outside this checkout (offline).

``python -m build`` makes the sdist and the wheel from a copy of the sources (so nothing
is written into the checkout), ``twine check`` passes on both, and the wheel goes into a
fresh virtual environment. Its dependencies (pydantic, click, torch, ...) come from this
interpreter's site-packages through a ``.pth`` line, as a plain path: the ``.pth`` files
there (this checkout's editable install) are not processed, so only the wheel provides
``cloudgd``, ``providers`` and ``trainers``. From a folder outside the checkout, with no
PYTHONPATH, ``cloudgd --version``, ``init``, ``plan``, ``cost`` and a local run work.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

import cloudgd

REPO = Path(__file__).resolve().parents[2]
SOURCES = ("pyproject.toml", "README.md", "cloudgd", "providers", "trainers")
PACKAGE_DATA = (
    "cloudgd/data/catalog.json",
    "cloudgd/data/prices.csv",
    "cloudgd/templates/job.yaml",
    "trainers/Dockerfile",
    "trainers/requirements.txt",
    "providers/aws/data/pytorch_images.json",
)

pytestmark = pytest.mark.slow


def _run(*args: str | Path, cwd: Path, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(
        [str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, f"{args}: {done.stdout}\n{done.stderr}"
    return done.stdout


def _copy_sources(dest: Path) -> Path:
    dest.mkdir(parents=True)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info", "build", "dist")
    for name in SOURCES:
        source = REPO / name
        if source.is_dir():
            shutil.copytree(source, dest / name, ignore=ignore)
        else:
            shutil.copy2(source, dest / name)
    return dest


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("build")
    src = _copy_sources(root / "src")
    out = root / "dist"
    _run(sys.executable, "-m", "build", "--no-isolation", "--outdir", out, src, cwd=root)
    return out


def test_build_makes_a_wheel_and_an_sdist_that_twine_accepts(dist: Path) -> None:
    version = cloudgd.__version__
    wheel = dist / f"cloudgd-{version}-py3-none-any.whl"
    sdist = dist / f"cloudgd-{version}.tar.gz"
    assert wheel.is_file() and sdist.is_file()
    assert "PASSED" in _run(sys.executable, "-m", "twine", "check", wheel, sdist, cwd=dist)

    import zipfile

    names = set(zipfile.ZipFile(wheel).namelist())
    assert set(PACKAGE_DATA) <= names
    assert "cloudgd/api.py" in names and "trainers/__main__.py" in names
    assert not any(name.startswith("tests/") for name in names)


def test_the_wheel_works_from_a_fresh_environment_outside_the_checkout(
    dist: Path, tmp_path: Path
) -> None:
    venv = tmp_path / "venv"
    _run(sys.executable, "-m", "venv", venv, cwd=tmp_path)
    python = venv / "bin" / "python"
    site = Path(_run(python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])",
                     cwd=tmp_path).strip())  # fmt: skip
    (site / "outer-dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    wheel = next(dist.glob("cloudgd-*.whl"))
    _run(python, "-m", "pip", "install", "--no-deps", "--no-index", "--no-cache-dir", "-q",
         wheel, cwd=tmp_path)  # fmt: skip

    work = tmp_path / "work"
    work.mkdir()
    shutil.copy2(REPO / "examples" / "digits.yaml", work / "digits.yaml")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "CLOUDGD_RUNS_DIR")}
    env.update(CLOUDGD_HOME=str(tmp_path / "home"), OMP_NUM_THREADS="1", NO_COLOR="1")
    cli = venv / "bin" / "cloudgd"

    where = json.loads(_run(python, "-c", "import json, cloudgd, providers, trainers; print("
                            "json.dumps([m.__file__ for m in (cloudgd, providers, trainers)]))",
                            cwd=work, env=env))  # fmt: skip
    assert all(Path(path).is_relative_to(site) for path in where), where

    assert _run(cli, "--version", cwd=work, env=env).strip().endswith(cloudgd.__version__)
    assert "trainer:" in _run(cli, "init", "-", cwd=work, env=env)  # the packaged template
    plan = json.loads(_run(cli, "-o", "json", "plan", "digits.yaml", "-p", "local",
                           cwd=work, env=env))  # fmt: skip
    assert plan["provider"] == "local"
    assert "aws" in _run(cli, "cost", "digits.yaml", cwd=work, env=env)  # the packaged catalog
    submitted = json.loads(_run(cli, "-o", "json", "submit", "digits.yaml", "-p", "local",
                                "--wait", "--poll", "0.5", "--set", "trainer.epochs=1",
                                cwd=work, env=env))  # fmt: skip
    assert submitted["state"] == "SUCCEEDED"
