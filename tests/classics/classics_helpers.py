"""Shared by the classic-examples tests (a unique module name, imported by tests)."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples"
WALKTHROUGHS = REPO / "docs" / "walkthroughs"
GOLDEN = REPO / "tests" / "golden" / "classics"

# Each example and the cloud whose request its golden plan holds.
EXAMPLE_PROVIDERS = {
    "sagemaker-mlp": "aws",
    "vertex-bert": "gcp",
    "vertex-bert-tpu": "gcp",
    "azure-cnn-ddp": "azure",
}


def load_script(name: str) -> ModuleType:
    """One of the scripts under examples/data/, imported as a module."""
    path = EXAMPLES / "data" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"classics_{name}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
