"""The modules' public interface: files, descriptions, validations, pins, output names."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from tfhcl import EXAMPLES, MODULES, TERRAFORM, attr, blocks, load_module

from cloudgd.tfconfig import PROVIDER_OUTPUT, module_fields, terraform_providers

MODULE_OF = {"aws": "aws-sagemaker", "gcp": "gcp-vertex", "azure": "azure-ml"}

ALL_DIRS = [MODULES / name for name in MODULE_OF.values()] + [EXAMPLES / c for c in MODULE_OF]


@pytest.mark.parametrize("directory", ALL_DIRS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_module_has_the_standard_files(directory: Path) -> None:
    for name in ("main.tf", "variables.tf", "outputs.tf", "versions.tf", "README.md"):
        assert (directory / name).is_file(), f"{directory.name}: missing {name}"


@pytest.mark.parametrize("directory", ALL_DIRS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_variable_and_output_is_described(directory: Path) -> None:
    module = load_module(directory)
    for name, body in {**module.variables, **module.outputs}.items():
        assert len(attr(body, "description")) >= 10, f"{directory.name}: {name}"
    for name, body in module.variables.items():
        assert "type" in body, f"{directory.name}: variable {name} has no type"


@pytest.mark.parametrize("directory", ALL_DIRS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_free_form_inputs_are_validated(directory: Path) -> None:
    """Every string or number input (names, IDs, counts) carries a validation block."""
    module = load_module(directory)
    for name, body in module.variables.items():
        if attr(body, "type").strip("${}") in {"string", "number"}:
            assert blocks(body, "validation"), f"{directory.name}: variable {name}"
    assert blocks(module.variables["name"], "validation")


@pytest.mark.parametrize("cloud", sorted(MODULE_OF))
def test_module_pins_a_major_version_and_example_an_exact_one(cloud: str) -> None:
    module = load_module(MODULES / MODULE_OF[cloud])
    example = load_module(EXAMPLES / cloud)
    (name,) = module.required_providers()
    assert re.fullmatch(r"~> \d+\.\d+", module.required_providers()[name]["version"])
    assert re.fullmatch(r"\d+\.\d+\.\d+", example.required_providers()[name]["version"])
    assert example.required_providers()[name]["source"] == f"hashicorp/{name}"
    for settings in module.terraform + example.terraform:
        assert attr(settings, "required_version") == ">= 1.5.0"


@pytest.mark.parametrize("cloud", sorted(MODULE_OF))
def test_outputs_are_named_after_the_options_fields(cloud: str) -> None:
    fields = set(terraform_providers()[cloud].model_fields)
    module = load_module(MODULES / MODULE_OF[cloud])
    assert set(module_fields(cloud)) <= fields
    # Exactly these outputs share a name with an options field, nothing else does.
    assert set(module.outputs) & fields == set(module_fields(cloud))


@pytest.mark.parametrize("cloud", sorted(MODULE_OF))
def test_examples_pass_every_module_output_through(cloud: str) -> None:
    module = load_module(MODULES / MODULE_OF[cloud])
    example = load_module(EXAMPLES / cloud)
    (call,) = example.modules.values()
    assert attr(call, "source") == f"../../modules/{MODULE_OF[cloud]}"
    assert set(example.outputs) == set(module.outputs) | {PROVIDER_OUTPUT}
    assert attr(example.outputs[PROVIDER_OUTPUT], "value") == cloud


def test_every_checkov_skip_carries_a_reason() -> None:
    pattern = re.compile(r"#\s*checkov:skip=([A-Z0-9_]+)(?::(.*))?")
    skips = []
    for tf_file in sorted(TERRAFORM.rglob("*.tf")):
        for number, line in enumerate(tf_file.read_text(encoding="utf-8").splitlines(), 1):
            for check, reason in pattern.findall(line):
                skips.append(check)
                assert len(reason.strip()) >= 30, f"{tf_file.name}:{number}: {check} needs a reason"
    assert skips, "the pattern found no skips at all: is it still right?"


def test_terraform_readme_lists_every_checkov_skip() -> None:
    readme = (TERRAFORM / "README.md").read_text(encoding="utf-8")
    skipped = set(
        re.findall(
            r"checkov:skip=([A-Z0-9_]+)",
            "".join(tf_file.read_text(encoding="utf-8") for tf_file in TERRAFORM.rglob("*.tf")),
        )
    )
    assert skipped
    assert {check for check in skipped if not re.search(rf"\b{check}\b", readme)} == set()
