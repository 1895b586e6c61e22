"""Submit-time work: check what the plan refers to, then write the run directory.

Everything that can fail because of the user's machine (missing data file,
unset secret variable, unknown interpreter) is checked *before* anything is
written, so a failed submit leaves no half-made run behind. The run directory is
assembled under a temporary name and renamed into place in one step: a run dir
that exists is always complete, and two racing submits of the same plan end with
one run.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import sys
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cloudgd.bundle import build_bundle, bundle_entries, write_entry
from cloudgd.errors import SpecError
from cloudgd.private_files import write_private
from providers.local.contracts import PYTHON
from providers.local.rundir import RunDir, new_state, write_json_atomic
from providers.local.trust import mark_root, mark_run


@dataclass(frozen=True)
class Resolved:
    """The machine-specific inputs of a plan, checked."""

    python: str
    data: Path | None
    code_dir: Path | None
    inputs: dict[str, Path] | None = None  # a script job's channels (script_run.py)


def resolve_python(python: str) -> str:
    """The interpreter to run: the plan's, or the one running cloudgd for ``{python}``."""
    if python == PYTHON:
        return sys.executable
    found = shutil.which(python)
    if not found:
        raise SpecError(
            f"providers.local.python: interpreter not found: {python}",
            hint="give a path to a Python with torch installed, or leave it unset",
        )
    return found


def secret_values(
    secrets: Mapping[str, Mapping[str, str]], environ: Mapping[str, str]
) -> dict[str, str]:
    """Secret values for the job's environment, read from ``environ``.

    ``source: env`` reads the variable named by ``ref``. Cloud secret stores are
    not reachable from a local run; there the variable named like the secret
    itself stands in (so a rehearsal can run with a local test value).
    """
    values: dict[str, str] = {}
    missing: list[str] = []
    for key, ref in secrets.items():
        name = ref["ref"] if ref["source"] == "env" else key
        if name in environ:
            values[key] = environ[name]
        else:
            missing.append(f"secrets.{key} ({ref['source']}: needs ${name})")
    if missing:
        raise SpecError(
            f"secrets not available to the local run: {', '.join(missing)}",
            hint="export the named variables in the shell that runs cloudgd",
        )
    return values


def _existing(raw: str | None, field: str) -> Path | None:
    if raw is None:
        return None
    path = Path(raw).expanduser().absolute()
    if not path.exists():
        raise SpecError(
            f"{field}: no such file or directory: {raw}",
            hint="a relative path is read from the job file's directory, as code: is",
        )
    return path


def resolve(request: Mapping[str, Any], environ: Mapping[str, str]) -> Resolved:
    """Check the plan's machine-specific references; raise SpecError naming the field."""
    python = resolve_python(request["python"])
    data = _existing((request.get("data") or {}).get("uri"), "trainer.data.uri")
    code_dir = _existing(request.get("code_dir"), "code")
    if code_dir is not None and not code_dir.is_dir():
        raise SpecError(f"code: not a directory: {request['code_dir']}")
    secret_values(request.get("secrets") or {}, environ)
    script = request.get("script") or {}
    inputs = {
        name: _existing(channel["uri"], f"script.inputs.{name}")
        for name, channel in (script.get("inputs") or {}).items()
    }
    if script.get("requirements") and code_dir is not None:
        check_requirements(code_dir / script["requirements"])
    return Resolved(
        python=python,
        data=data,
        code_dir=code_dir,
        inputs={name: path for name, path in inputs.items() if path is not None},
    )


def check_requirements(path: Path) -> None:
    """A script's requirements file names only packages this machine can provide offline
    (the local environment links them from here); SpecError naming the first that is not."""
    from providers.local.isolated_env import EnvError, read_requirements
    from providers.local.isolated_env import resolve as resolve_packages

    try:
        resolve_packages((line, path.name) for line in read_requirements(path))
    except EnvError as exc:
        raise SpecError(f"script.requirements: {exc}") from None


def _link_or_copy(target: Path, link: Path) -> None:
    try:
        link.symlink_to(target, target_is_directory=target.is_dir())
    except OSError:  # filesystems without symlinks: copy instead
        if target.is_dir():
            shutil.copytree(target, link)
        else:
            shutil.copy2(target, link)


def stage_data(source: Path, channel: Path) -> None:
    """Put the job's data into a channel dir: a file goes in by name, a dir becomes it."""
    if source.is_dir():
        with contextlib.suppress(OSError):
            channel.rmdir()
        _link_or_copy(source, channel)
    else:
        channel.mkdir(parents=True, exist_ok=True)
        _link_or_copy(source, channel / source.name)


def _write_tree(staging: Path, run: str, plan_json: str, resolved: Resolved) -> None:
    """Write every file of the run under ``staging`` (paths in the plan name ``run``)."""
    request = json.loads(plan_json)["request"]

    def here(path: str) -> Path:
        return staging / os.path.relpath(path, run)

    lay = request["layout"]
    config_json = json.dumps(request["config"], indent=2, sort_keys=True) + "\n"
    (staging / "logs").mkdir(parents=True)
    mark_run(staging, request["job_name"])
    (staging / "config.json").write_text(config_json)
    for directory in lay["dirs"]:
        here(directory).mkdir(parents=True, exist_ok=True)
    for path, text in lay["files"].items():
        here(path).parent.mkdir(parents=True, exist_ok=True)
        here(path).write_text(text)
    for link, target in lay["links"].items():
        here(link).parent.mkdir(parents=True, exist_ok=True)
        here(link).symlink_to(target, target_is_directory=True)  # valid once renamed
    for path, source in (lay.get("copies") or {}).items():  # e.g. Azure ML's code snapshot
        shutil.copytree(source, here(path), symlinks=True, dirs_exist_ok=True)
    entries = bundle_entries(config_json, resolved.code_dir)
    for code_dir in lay["code_dirs"]:
        root = here(code_dir)
        for name, data in entries:
            out = root / name
            out.parent.mkdir(parents=True, exist_ok=True)
            write_entry(data, out)
    sdist_dir = (lay.get("python_env") or {}).get("sdist_dir")
    if sdist_dir:  # the same bytes `cloudgd plan --provider gcp` uploads
        build_bundle(config_json, resolved.code_dir, here(sdist_dir), "sdist")
    if resolved.data is not None:
        for channel in request["data"]["channel_dirs"]:
            stage_data(resolved.data, here(channel))
    if request.get("script"):  # a script job: its launcher config and input channels
        _stage_script(request["script"], lay["code_dirs"], resolved, here)
    write_private(staging / "plan.json", plan_json, what="the run's plan.json")
    write_json_atomic(staging / "state.json", new_state(request["job_name"]))


def _stage_script(
    script: dict[str, Any], code_dirs: list[str], resolved: Resolved, here: Any
) -> None:
    from cloudgd.script_spec import CONFIG_NAME

    config = json.dumps(script["config"], indent=2, sort_keys=True) + "\n"
    for code_dir in code_dirs:
        here(code_dir).mkdir(parents=True, exist_ok=True)
        (here(code_dir) / CONFIG_NAME).write_text(config)
    for name, source in (resolved.inputs or {}).items():
        for channel in script["inputs"][name]["dirs"]:
            stage_data(source, here(channel))


def create_run_dir(run: RunDir, plan_json: str, resolved: Resolved) -> bool:
    """Create the complete run dir atomically; False when it already existed."""
    if run.exists():
        return False
    run.path.parent.mkdir(parents=True, exist_ok=True)
    mark_root(run.path.parent)
    staging = run.path.parent / f".{run.name}.staging-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    try:
        _write_tree(staging, str(run.path), plan_json, resolved)
        try:
            staging.rename(run.path)
        except OSError:
            if run.exists():  # another submit of the same plan won the race
                return False
            raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return True
