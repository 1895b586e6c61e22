"""What the loader accepts: YAML and JSON, comments, anchors, BOMs, relative code dirs."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from cloudgd.loader import load_spec
from tests.core.conftest import EXAMPLES, REPO


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.name)
def test_every_example_loads(example: Path) -> None:
    loaded = load_spec(example)
    assert loaded.source == str(example)
    assert loaded.base_dir == example.parent


def test_the_init_template_loads() -> None:
    assert load_spec(REPO / "cloudgd" / "templates" / "job.yaml").spec.name == "my-job"


@pytest.mark.parametrize(
    ("block", "field", "value"),
    [("scaling", "spot", True), ("tuning", "max_trials", 8)],
)
def test_the_init_templates_commented_blocks_load_when_uncommented(
    block: str, field: str, value: object, tmp_path: Path
) -> None:
    """A user uncomments a block of `cloudgd init`'s file: it must be a valid spec."""
    lines = (REPO / "cloudgd" / "templates" / "job.yaml").read_text().splitlines()
    start = lines.index(next(line for line in lines if line.startswith(f"# {block}:")))
    end = next(i for i in range(start, len(lines)) if not lines[i].strip())
    opened = [line[2:] for line in lines[start:end]]
    job = tmp_path / "job.yaml"
    job.write_text("\n".join([*lines[:start], *opened, *lines[end:]]) + "\n")
    assert getattr(getattr(load_spec(job).spec, block), field) == value


def test_json_and_yaml_give_the_same_spec(tmp_path: Path) -> None:
    yaml_spec = load_spec(REPO / "examples" / "digits.yaml").spec
    as_json = tmp_path / "digits.json"
    as_json.write_text(json.dumps(yaml_spec.model_dump(mode="json")))
    assert load_spec(as_json).spec == yaml_spec


def test_durations_and_accelerators_are_normalised(tmp_path: Path) -> None:
    path = tmp_path / "job.yaml"
    path.write_text(
        "name: gpu-job\nresources: {accelerator: a100:8}\n"
        "limits: {max_runtime: 1h30m}\nscaling: {spot: true, max_wait: 2h}\n"
    )
    spec = load_spec(path).spec
    assert spec.resources.accelerator == "A100:8"
    assert spec.limits.max_runtime == 5400
    assert spec.scaling.max_wait == 7200


def test_anchors_and_merge_keys_within_bounds_are_fine(tmp_path: Path) -> None:
    path = tmp_path / "job.yaml"
    path.write_text(
        "name: anchored\n"
        "tags: &common {team: ml, project: digits}\n"
        "env:\n  <<: *common\n  team: research\n"
    )
    spec = load_spec(path).spec
    assert spec.env == {"team": "research", "project": "digits"}


def test_a_utf8_bom_and_dates_as_text_are_accepted(tmp_path: Path) -> None:
    path = tmp_path / "job.yaml"
    path.write_bytes("\ufeffname: bom-job\ndescription: 2024-01-01\n".encode())
    assert load_spec(path).spec.description == "2024-01-01"


def test_code_resolves_relative_to_the_spec_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = tmp_path / "project"
    (project / "src").mkdir(parents=True)
    (project / "job.yaml").write_text(
        "name: custom-job\ncode: src\n"
        "trainer: {model: {kind: custom, entrypoint: 'mymodel:build'}}\n"
    )
    monkeypatch.chdir(tmp_path)  # somewhere else entirely
    loaded = load_spec("project/job.yaml")
    assert loaded.code_dir == (project / "src").resolve()
    assert loaded.spec.code == "src"  # the spec (and its hash) keep the portable form


def test_standard_input(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(b"name: piped-job\n")))
    loaded = load_spec("-")
    assert (loaded.source, loaded.spec.name) == ("<stdin>", "piped-job")


def test_overrides_apply_before_validation(tmp_path: Path) -> None:
    loaded = load_spec(
        REPO / "examples" / "digits.yaml",
        ["trainer.epochs=2", "trainer.model.hidden=[32]", "resources.nodes=2", "env.SEED=7"],
    )
    spec = loaded.spec
    assert (spec.trainer.epochs, spec.trainer.model.hidden) == (2, [32])
    assert (spec.resources.nodes, spec.env) == (2, {"SEED": "7"})
