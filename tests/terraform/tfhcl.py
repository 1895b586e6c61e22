"""Helpers for the Terraform tests: paths, offline Terraform runs, and HCL as Python data.

HCL is read with python-hcl2, whichever output style it has.

Two distributions install the import name ``hcl2``: python-hcl2 (>= 7: bare
values, strings quoted unless ``strip_string_quotes``) and checkov's pinned
bc-python-hcl2 (0.4 API: every attribute value wrapped in a one-element list).
Whichever was installed last wins, so tests read attributes through
:func:`attr` and nested blocks through :func:`blocks`, which give the same
result for both.
"""

from __future__ import annotations

import inspect
import os
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import hcl2

REPO = Path(__file__).resolve().parents[2]
TERRAFORM = REPO / "terraform"
MODULES = TERRAFORM / "modules"
EXAMPLES = TERRAFORM / "examples"
FIXTURES = Path(__file__).resolve().parent / "fixtures"

TERRAFORM_BIN = shutil.which("terraform")
# A filesystem mirror holding hashicorp/aws (registry.terraform.io/hashicorp/aws/<v>/<os_arch>):
# the only provider `terraform init` can install on a machine without internet.
PLUGIN_DIR = Path(os.environ.get("CLOUDGD_TF_PLUGIN_DIR", "/opt/tf-plugins"))
AWS_PLUGIN = PLUGIN_DIR / "registry.terraform.io" / "hashicorp" / "aws" / "5.100.0"
AWS_PLUGIN_MISSING = (
    f"terraform or hashicorp/aws 5.100.0 under {PLUGIN_DIR} (set CLOUDGD_TF_PLUGIN_DIR) missing"
)


def terraform_env(data_dir: Path | None = None) -> dict[str, str]:
    """Environment for an offline, non-interactive Terraform run."""
    env = {
        **os.environ,
        "TF_IN_AUTOMATION": "1",
        "TF_INPUT": "0",
        "CHECKPOINT_DISABLE": "1",  # no version check call to HashiCorp
    }
    if data_dir is not None:
        env["TF_DATA_DIR"] = str(data_dir)
    return env


_META = {"__start_line__", "__end_line__", "__is_block__", "__comments__", "__inline_comments__"}


def _parse(text: str) -> dict[str, Any]:
    if "serialization_options" in inspect.signature(hcl2.loads).parameters:
        from hcl2.utils import SerializationOptions

        options = SerializationOptions(strip_string_quotes=True, with_comments=False)
        return hcl2.loads(text, serialization_options=options)  # type: ignore[call-arg]
    return hcl2.loads(text)


_WRAPPED = _parse('probe = "x"\n').get("probe") == ["x"]


def attr(body: dict[str, Any], name: str) -> Any:
    """The value of attribute ``name`` in a block body."""
    value = body[name]
    return value[0] if _WRAPPED else value


def has(body: dict[str, Any], name: str) -> bool:
    return name in body


def blocks(body: dict[str, Any], name: str) -> list[dict[str, Any]]:
    """The nested blocks called ``name`` (empty when there are none)."""
    found = body.get(name, [])
    return [block for block in found if isinstance(block, dict)]


def block(body: dict[str, Any], name: str) -> dict[str, Any]:
    """The single nested block called ``name``."""
    found = blocks(body, name)
    assert len(found) == 1, f"expected one {name} block, found {len(found)}"
    return found[0]


@dataclass
class Module:
    """Every top-level block of the .tf files in one directory, keyed by name."""

    path: Path
    resources: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    data: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    variables: dict[str, dict[str, Any]] = field(default_factory=dict)
    outputs: dict[str, dict[str, Any]] = field(default_factory=dict)
    modules: dict[str, dict[str, Any]] = field(default_factory=dict)
    providers: dict[str, dict[str, Any]] = field(default_factory=dict)
    locals: dict[str, Any] = field(default_factory=dict)
    terraform: list[dict[str, Any]] = field(default_factory=list)

    def resource(self, type_: str, name: str) -> dict[str, Any]:
        assert (type_, name) in self.resources, f"{self.path.name}: no {type_}.{name}"
        return self.resources[(type_, name)]

    def of_type(self, type_: str) -> dict[str, dict[str, Any]]:
        return {name: body for (kind, name), body in self.resources.items() if kind == type_}

    def local(self, name: str) -> Any:
        value = self.locals[name]
        return value[0] if _WRAPPED else value

    def required_providers(self) -> dict[str, dict[str, Any]]:
        found: dict[str, dict[str, Any]] = {}
        for settings in self.terraform:
            for providers in blocks(settings, "required_providers"):
                for name in providers:
                    if name not in _META:
                        found[name] = attr(providers, name)
        return found


def squash(expression: str) -> str:
    """An expression without whitespace: the two hcl2 flavours space expressions differently."""
    return re.sub(r"\s+", "", expression)


_SKIP = re.compile(r"#\s*checkov:skip=([A-Z0-9_]+):(.*)")


def checkov_skips(path: Path) -> dict[str, str]:
    """Check ID -> reason of every inline ``#checkov:skip`` in the .tf files of one directory."""
    found: dict[str, str] = {}
    for tf_file in sorted(path.glob("*.tf")):
        for check, reason in _SKIP.findall(tf_file.read_text(encoding="utf-8")):
            found[check] = reason.strip()
    return found


def load_module(path: Path) -> Module:
    """Parse every ``*.tf`` file (override files excluded) of one module directory."""
    module = Module(path)
    for tf_file in sorted(path.glob("*.tf")):
        if tf_file.name.endswith("_override.tf"):
            continue
        document = _parse(tf_file.read_text(encoding="utf-8"))
        for kind, target in (("resource", module.resources), ("data", module.data)):
            for entry in document.get(kind, []):
                for type_, named in entry.items():
                    for name, body in named.items():
                        target[(type_, name)] = body
        for kind, named_target in (
            ("variable", module.variables),
            ("output", module.outputs),
            ("module", module.modules),
            ("provider", module.providers),
        ):
            for entry in document.get(kind, []):
                for name, body in entry.items():
                    named_target[name] = body
        for entry in document.get("locals", []):
            module.locals.update({k: v for k, v in entry.items() if k not in _META})
        module.terraform.extend(document.get("terraform", []))
    return module
