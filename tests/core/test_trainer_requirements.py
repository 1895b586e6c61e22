"""The trainer's requirements are declared once and agree with what the suite runs."""

from __future__ import annotations

import tarfile
import tomllib
from pathlib import Path

from cloudgd import trainer_requirements as reqs
from cloudgd.bundle import build_bundle

ROOT = Path(__file__).resolve().parents[2]


def test_every_required_package_is_pinned_in_trainers_requirements() -> None:
    pins = reqs.pinned()
    assert set(reqs.REQUIRED) <= set(pins)
    assert all(pins[name].startswith(f"{pins[name].split('==')[0]}==") for name in reqs.REQUIRED)


def test_the_environment_torch_is_the_one_the_suite_runs() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert reqs.TORCH in project["optional-dependencies"]["train"]


def test_the_vertex_sdist_declares_every_trainer_package(tmp_path: Path) -> None:
    ref = build_bundle('{"model": {"kind": "huggingface"}}\n', None, tmp_path, "sdist")
    with tarfile.open(ref.path) as tar:
        member = next(m for m in tar.getmembers() if m.name.endswith("/setup.py"))
        setup = tar.extractfile(member).read().decode()  # type: ignore[union-attr]
    for requirement in (*reqs.package_requirements(), "transformers>=4.40"):
        assert repr(requirement) in setup


def test_the_azure_pip_list_pins_torch_and_the_trainer_packages() -> None:
    listed = reqs.environment_requirements()
    assert listed[0] == reqs.TORCH
    assert [line.split("==")[0].lower() for line in listed[1:]] == [
        "numpy",
        "pydantic",
        "pyyaml",
        "scikit-learn",
    ]


def test_tabular_sources_bring_pyarrow_and_digits_needs_nothing_extra(tmp_path: Path) -> None:
    csv_job = '{"model": {"kind": "mlp"}, "data": {"source": "parquet", "uri": "d/"}}\n'
    ref = build_bundle(csv_job, None, tmp_path, "tar.gz")
    with tarfile.open(ref.path) as tar:  # what SageMaker's toolkit pip-installs
        assert tar.extractfile("requirements.txt").read() == b"pyarrow>=14\n"  # type: ignore[union-attr]
    assert reqs.environment_requirements("mlp", "csv")[-1] == reqs.pinned()["pyarrow"]
    assert reqs.job_requirements("mlp", "image_folder") == ("pillow>=10",)
    assert reqs.job_requirements("mlp", "digits") == ()
    digits = build_bundle(
        '{"model": {"kind": "mlp"}, "data": {"source": "digits"}}\n', None, tmp_path
    )
    with tarfile.open(digits.path) as tar:
        assert "requirements.txt" not in tar.getnames()
