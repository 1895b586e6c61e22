"""A ``script:`` job's code bundle: the launcher's config, the script's requirements.

Every cloud ships the same deterministic archive (:mod:`cloudgd.bundle`): the
``trainers`` package (which holds the stdlib launcher ``trainers/script_launch.py``),
the job's ``code:`` directory under ``code/``, ``cloudgd-script.json`` (what to run,
its arguments, channels and metrics) and the script's ``requirements`` file as the
bundle's ``requirements.txt``: SageMaker's toolkit pip-installs that file, the Vertex
sdist declares its lines as ``install_requires``, and Azure ML's environment lists
them (read from :attr:`cloudgd.plan.BundleRef.requires`, so rendering stays pure).
"""

from __future__ import annotations

import json
from pathlib import Path

from cloudgd.bundle import build_bundle
from cloudgd.errors import SpecError
from cloudgd.plan import BundleRef
from cloudgd.script_spec import launch_config
from cloudgd.spec import JobSpec


def script_requirements(spec: JobSpec, code_dir: Path | None) -> str:
    """The text of ``script.requirements`` inside ``code:`` ("" when the job has none)."""
    script = spec.script
    if script is None or script.requirements is None:
        return ""
    if code_dir is None:
        raise SpecError("script.requirements: needs code: (the file is relative to it)")
    path = code_dir / script.requirements
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise SpecError(f"script.requirements: cannot read {path}: {exc}") from None


def script_config_json(spec: JobSpec) -> str:
    """``cloudgd-script.json``: the launcher's config, byte-stable."""
    assert spec.script is not None
    config = launch_config(
        spec.script, nodes=spec.resources.nodes, processes_per_node=spec.processes_per_node
    )
    return json.dumps(config, sort_keys=True, indent=2) + "\n"


def build_script_bundle(
    spec: JobSpec, code_dir: Path | None, out_dir: Path, fmt: str = "tar.gz"
) -> BundleRef:
    """Write a script job's bundle (``tar.gz`` or ``sdist``) into ``out_dir``."""
    return build_bundle(
        script_config_json(spec),
        code_dir,
        out_dir,
        fmt,
        script_requirements=script_requirements(spec, code_dir),
    )
