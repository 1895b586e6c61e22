"""What the trainer needs installed, declared once for every cloud that installs it.

``trainers/requirements.txt`` pins the versions the test suite runs against. Two
requests are built from it: the Vertex sdist's ``install_requires`` (lower bounds,
because pip installs it on top of a prebuilt image whose Python and numpy may be
older than the pins) and the Azure ML environment's pip list (exact pins, because
that environment is built from nothing but its own specification). torch is
separate: the images carry it, and ``requirements.txt`` leaves it to the matching
PyTorch index.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path

# Imported by every trainer run (scikit-learn only for source: digits, but it is small
# next to torch and the prebuilt images usually carry it anyway).
REQUIRED = ("numpy", "pydantic", "pyyaml", "scikit-learn")
# Lower bounds that the trainer code works with (the same as pyproject.toml's).
LOWER_BOUNDS = {"numpy": ">=1.26", "pydantic": ">=2.7,<3", "pyyaml": ">=6", "scikit-learn": ">=1.4"}
# The torch the suite runs (pyproject.toml's `train` extra); a test keeps them equal.
TORCH = "torch==2.13.0"
# The Python the suite runs; numpy 2.4 needs at least 3.11.
PYTHON = "3.11"
# Packages a job needs beyond the trainer's own, by trainer model kind.
BY_MODEL_KIND: dict[str, tuple[str, ...]] = {"huggingface": ("transformers>=4.40",)}
# ... and by trainer data source: pyarrow reads the tabular files, Pillow decodes images.
# Lower bounds; the Azure ML environment pins them from trainers/requirements.txt.
BY_DATA_SOURCE: dict[str, tuple[str, ...]] = {
    "csv": ("pyarrow>=14",),
    "parquet": ("pyarrow>=14",),
    "jsonl": ("pyarrow>=14",),
    "image_folder": ("pillow>=10",),
}


def job_requirements(model_kind: str | None, data_source: str | None) -> tuple[str, ...]:
    """What a job's trainer config needs beyond the trainer's own packages (lower bounds)."""
    return (*BY_MODEL_KIND.get(model_kind or "", ()), *BY_DATA_SOURCE.get(data_source or "", ()))


def canonical(name: str) -> str:
    """A distribution name as pip compares them (PEP 503)."""
    return re.sub(r"[-_.]+", "-", name).lower()


@functools.cache
def pinned() -> dict[str, str]:
    """``trainers/requirements.txt``: canonical name -> its ``name==version`` line (a file
    shipped with the package, read once)."""
    import trainers  # its __init__ imports no torch

    found: dict[str, str] = {}
    for raw in (Path(trainers.__file__).parent / "requirements.txt").read_text().splitlines():
        line = raw.split("#", 1)[0].strip()
        if line:
            found[canonical(re.split(r"[=<>!~; \[]", line, maxsplit=1)[0])] = line
    return found


def package_requirements() -> tuple[str, ...]:
    """The trainer's packages with lower bounds (the Vertex sdist's ``install_requires``,
    before the model kind's extras)."""
    return tuple(f"{name}{LOWER_BOUNDS[name]}" for name in REQUIRED)


def environment_requirements(
    model_kind: str | None = None, data_source: str | None = None
) -> tuple[str, ...]:
    """The Azure ML environment's pip list: torch and the trainer's packages, pinned (a data
    source's packages too, at the versions the suite runs)."""
    pins = pinned()
    by_source = tuple(
        pins.get(canonical(re.split(r"[=<>!~]", req, maxsplit=1)[0]), req)
        for req in BY_DATA_SOURCE.get(data_source or "", ())
    )
    return (
        TORCH,
        *(pins[name] for name in REQUIRED),
        *BY_MODEL_KIND.get(model_kind or "", ()),
        *by_source,
    )
