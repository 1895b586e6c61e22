"""An isolated Python environment holding only what a cloud job declares, built offline.

A rehearsal must fail where the cloud job would, so the trainer cannot run in the
Python that runs cloudgd (which holds every package cloudgd's tests need). This
module builds a virtual environment without system site-packages whose
``site-packages`` holds:

* the image's packages (``base``: ``torch`` for the prebuilt PyTorch images),
* what the job declares (``requires``: the Azure ML environment's pip list) and,
  for Vertex, the job's sdist installed by pip (``--no-deps``, nothing downloaded)
  with every ``Requires-Dist`` it declares,
* and the dependencies of each of those, transitively, as their own metadata says.

Packages come from this machine's installed distributions: each one's files (its
``RECORD``) are linked in, never copied or changed, so building is fast and needs
no network. A package that no requirement leads to is absent, so a forgotten
dependency fails the rehearsal with ``ModuleNotFoundError`` as it would fail the
cloud job. Environments are cached under ``$CLOUDGD_HOME/envs/<hash>`` (the hash
covers the sdist's bytes, the requirements and this Python) and built once.
"""

from __future__ import annotations

import csv
import hashlib
import importlib.metadata as md
import json
import os
import re
import shutil
import subprocess
import sys
import uuid
import venv
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement

from cloudgd.home import home
from cloudgd.trainer_requirements import canonical

ENV_VERSION = 1  # bump when the layout of an environment changes
MANIFEST = "cloudgd-env.json"
# The interpreter's own line, or the trainer's for a custom model whose module imports
# something missing ("model.entrypoint: cannot import 'mymodel': No module named 'x'").
_MISSING_MODULE = re.compile(
    r"(?:ModuleNotFoundError: |cannot import '([^']+)': )No module named '([^']+)'"
)

# What `python -m X` prints when X cannot be found at all.
_NO_MAIN_MODULE = re.compile(
    r"python[\d.]*: (?:No module named ([\w.]+)$|Error while finding module specification "
    r"for '([^']+)')"
)


class EnvError(Exception):
    """The environment cannot be built; ``str()`` is one line naming the missing piece."""


@dataclass(frozen=True)
class EnvRequest:
    """What the environment must hold (JSON-able: it travels in the local plan)."""

    label: str  # who declares it, for messages: "the Vertex package", "the Azure ML environment"
    base: tuple[str, ...] = ()  # what the image itself provides
    requires: tuple[str, ...] = ()  # what the job declares besides a package's own metadata
    sdist: str | None = None  # a source distribution to pip-install (Vertex python package)
    scripts: tuple[str, ...] = ()  # console scripts the image puts on PATH (e.g. torchrun)

    @classmethod
    def from_json(cls, data: dict[str, object]) -> EnvRequest:
        def strings(key: str) -> tuple[str, ...]:
            value = data.get(key) or ()
            return tuple(str(v) for v in value) if isinstance(value, list | tuple) else ()

        sdist = data.get("sdist") if data.get("install", True) else None
        listed = data.get("requirements_file")  # a script job's requirements.txt
        from_file = read_requirements(Path(str(listed))) if listed else ()
        return cls(
            label=str(data.get("label") or "the job"),
            base=strings("base"),
            requires=strings("requires") + from_file,
            sdist=str(sdist) if sdist else None,
            scripts=strings("scripts"),
        )


def read_requirements(path: Path) -> tuple[str, ...]:
    """The requirements a pip requirements file lists (comments and blank lines left out).

    Index options (``--index-url``, ``--extra-index-url``, ...) name where pip downloads
    from; an offline environment takes every package from this machine, so they do not
    apply. Includes (``-r``), constraints (``-c``) and editables (``-e``) are refused.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise EnvError(f"cannot read {path}: {exc}") from exc
    found: list[str] = []
    for raw in text.splitlines():
        line = re.sub(r"(^|\s)#.*$", "", raw).split(" --")[0].strip()
        if not line or line.startswith("--"):
            continue
        if line.startswith("-"):
            raise EnvError(
                f"{path.name}: {line!r}: includes, constraints and editable installs are not "
                "supported here; list the packages themselves"
            )
        found.append(line)
    return tuple(found)


@dataclass
class Resolved:
    """The distributions an environment exposes, and what the build noticed."""

    dists: dict[str, md.Distribution] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def _requirement(text: str) -> Requirement:
    try:
        return Requirement(text)
    except InvalidRequirement as exc:
        raise EnvError(f"not a valid requirement: {text!r} ({exc})") from exc


def _applies(req: Requirement, extras: Iterable[str]) -> bool:
    if req.marker is None:
        return True
    return any(req.marker.evaluate({"extra": extra}) for extra in ("", *extras))


def _without_marker(req: Requirement) -> str:
    """The requirement once its marker has been evaluated for the extras that led to it."""
    extras = f"[{','.join(sorted(req.extras))}]" if req.extras else ""
    return f"{req.name}{extras}{req.specifier}"


def _dependencies(dist: md.Distribution, extras: Iterable[str]) -> list[tuple[str, str]]:
    """What ``dist`` requires with ``extras`` asked for, markers evaluated, for the queue."""
    who = f"{dist.metadata['Name']} {dist.version}"
    wanted = [_requirement(text) for text in dist.requires or ()]
    return [(_without_marker(req), who) for req in wanted if _applies(req, extras)]


def installed_here() -> dict[str, md.Distribution]:
    """This Python's distributions by canonical name, the first on ``sys.path`` winning
    (the one ``import`` would find)."""
    index: dict[str, md.Distribution] = {}
    for dist in md.distributions():
        index.setdefault(_name(dist), dist)
    return index


def resolve(requirements: Iterable[tuple[str, str]]) -> Resolved:
    """Every distribution ``requirements`` lead to, found among this machine's.

    ``requirements`` pairs each requirement with who declared it, for the message
    when it is missing.
    """
    found = Resolved()
    queue = list(requirements)
    here = installed_here()
    expanded: set[tuple[str, tuple[str, ...]]] = set()  # (name, extras) already followed
    while queue:
        text, declared_by = queue.pop(0)
        req = _requirement(text)
        name = canonical(req.name)
        extras = sorted(req.extras)
        if not _applies(req, ()) or (name, tuple(extras)) in expanded:
            continue
        expanded.add((name, tuple(extras)))
        dist = found.dists.get(name)
        if dist is None:
            candidate = here.get(name)
            if candidate is None:
                raise EnvError(
                    f"{declared_by} requires {text!r}, which is not installed in the Python "
                    f"running cloudgd ({sys.executable}), so the rehearsal cannot provide it "
                    f"offline; install it there: pip install '{text}'"
                )
            dist = found.dists[name] = candidate
            if req.specifier and not req.specifier.contains(dist.version, prereleases=True):
                found.notes.append(
                    f"{declared_by} requires {text}; rehearsing with {dist.metadata['Name']} "
                    f"{dist.version}, the version installed here"
                )
            queue += _dependencies(dist, extras)
        elif extras:
            queue += _dependencies(dist, extras)
    return found


def _name(dist: md.Distribution) -> str:
    return canonical(dist.metadata["Name"] or "")


Parts = tuple[str, ...]


def _files(dist: md.Distribution, *, required: bool = True) -> set[Parts]:
    """The distribution's files under its site directory, from its ``RECORD`` (read as
    text: ``Distribution.files`` builds a path object per file, far slower for torch)."""
    record = dist.read_text("RECORD")
    if record is None:
        if not required:
            return set()
        raise EnvError(
            f"cannot isolate {dist.metadata['Name']}: it was installed without a file list "
            "(RECORD); reinstall it with pip"
        )
    found: set[Parts] = set()
    for row in csv.reader(record.splitlines()):
        if row and not row[0].startswith(("..", "/")):
            parts = tuple(row[0].split("/"))
            if parts[0] != "__pycache__":
                found.add(parts)
    return found


def _root(dist: md.Distribution) -> Path:
    return Path(str(dist.locate_file(""))).resolve()


def link_distributions(dists: Iterable[md.Distribution], site: Path) -> None:
    """Link each distribution's files into ``site``: whole directories where no other
    installed distribution has files inside them, one level deeper where one does
    (namespace packages such as ``google/``)."""
    by_root: dict[Path, set[Parts]] = {}
    for dist in dists:
        by_root.setdefault(_root(dist), set()).update(_files(dist))
    for root, wanted in sorted(by_root.items()):
        others: set[Parts] = set()
        for dist in md.distributions(path=[str(root)]):
            others.update(_files(dist, required=False) - wanted)
        _link_level(root, site, (), wanted, others)


def _link_level(
    root: Path, site: Path, prefix: Parts, wanted: set[Parts], others: set[Parts]
) -> None:
    depth = len(prefix)
    children = sorted({p[: depth + 1] for p in wanted if p[:depth] == prefix})
    shared = {o[: depth + 1] for o in others if o[:depth] == prefix}
    for child in children:
        source, target = root.joinpath(*child), site.joinpath(*child)
        if target.exists() or target.is_symlink():
            continue
        if child in wanted or child not in shared:
            if source.exists():
                target.parent.mkdir(parents=True, exist_ok=True)
                target.symlink_to(source, target_is_directory=source.is_dir())
        else:
            target.mkdir(parents=True, exist_ok=True)
            _link_level(root, site, child, wanted, others)


def _site_packages(env: Path) -> Path:
    return (
        env / "lib" / f"python{sys.version_info.major}.{sys.version_info.minor}" / "site-packages"
    )


def env_python(env: Path) -> Path:
    """The interpreter of a built environment."""
    return env / "bin" / "python"


def _install_sdist(sdist: Path, site: Path) -> Path:
    """pip-install the sdist alone into ``site``; returns its ``.dist-info`` directory."""
    command = [sys.executable, "-m", "pip", "install", "--disable-pip-version-check", "--quiet"]
    command += ["--no-index", "--no-deps", "--no-build-isolation", "--no-cache-dir"]
    command += ["--target", str(site), str(sdist)]
    env = {**os.environ, "PIP_CONFIG_FILE": os.devnull}
    done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    if done.returncode != 0:
        tail = (done.stderr or done.stdout).strip().splitlines()[-5:]
        raise EnvError(f"pip could not install {sdist.name}: " + " | ".join(tail))
    infos = sorted(site.glob("*.dist-info"))
    if not infos:
        raise EnvError(f"pip installed {sdist.name} without metadata")
    return infos[0]


def _write_script(env: Path, name: str, found: Resolved) -> None:
    """``bin/<name>`` for a console script one of the exposed distributions declares."""
    for dist in found.dists.values():
        for entry in dist.entry_points:
            if entry.group == "console_scripts" and entry.name == name:
                script = env / "bin" / name
                # env, not this path: the environment is renamed into place once built, and
                # its bin/ comes first on PATH where the command runs (as in the image)
                script.write_text(
                    "#!/usr/bin/env python3\nimport sys\n"
                    f"from {entry.module} import {entry.attr.split('.')[0]}\n\n"
                    f"sys.exit({entry.attr}())\n"
                )
                script.chmod(0o755)
                return
    raise EnvError(f"no distribution in the environment provides the command {name!r}")


def cache_key(request: EnvRequest) -> str:
    """The content hash naming the environment."""
    digest = hashlib.sha256()
    parts: dict[str, object] = {
        "version": ENV_VERSION,
        "python": sys.version,
        "prefix": sys.prefix,
        "base": list(request.base),
        "requires": list(request.requires),
        "scripts": list(request.scripts),
        # an upgrade here must not leave an environment linking the old files
        "installed": sorted(f"{name}=={d.version}" for name, d in installed_here().items()),
    }
    if request.sdist:
        parts["sdist"] = hashlib.sha256(Path(request.sdist).read_bytes()).hexdigest()
    digest.update(json.dumps(parts, sort_keys=True).encode())
    return digest.hexdigest()[:20]


def envs_dir() -> Path:
    """Where isolated environments are cached."""
    return home() / "envs"


def build(request: EnvRequest, cache: Path | None = None) -> tuple[Path, list[str]]:
    """The environment for ``request`` (built unless cached) and notes for the job log."""
    root = cache or envs_dir()
    env = root / f"env-{cache_key(request)}"
    manifest = env / MANIFEST
    if manifest.is_file():
        return env, [f"reusing the isolated environment {env}"]
    root.mkdir(parents=True, exist_ok=True)
    staging = root / f".{env.name}.{os.getpid()}-{uuid.uuid4().hex[:8]}"
    try:
        notes = _build_into(request, staging)
        try:
            staging.rename(env)
        except OSError:
            if not (env / MANIFEST).is_file():  # not a concurrent build that won
                raise
            notes = [f"reusing the isolated environment {env}"]
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return env, notes


def _build_into(request: EnvRequest, env: Path) -> list[str]:
    venv.EnvBuilder(with_pip=False, symlinks=True, clear=True).create(env)
    site = _site_packages(env)
    wanted = [(text, "the image") for text in request.base]
    wanted += [(text, request.label) for text in request.requires]
    notes: list[str] = []
    if request.sdist:
        info = _install_sdist(Path(request.sdist), site)
        package = next(iter(md.distributions(path=[str(site)])))
        label = f"{request.label} ({package.metadata['Name']} {package.version})"
        wanted += [(text, label) for text in package.requires or ()]
        notes.append(f"pip installed {Path(request.sdist).name} ({info.name}) without downloads")
    found = resolve(wanted)
    link_distributions(list(found.dists.values()), site)
    for script in request.scripts:
        _write_script(env, script, found)
    exposed = sorted(f"{d.metadata['Name']}=={d.version}" for d in found.dists.values())
    (env / MANIFEST).write_text(
        json.dumps({"label": request.label, "distributions": exposed}, indent=2) + "\n"
    )
    notes += found.notes
    image = f"{', '.join(request.base)} from the image, " if request.base else ""
    notes.append(
        f"isolated environment: {len(exposed)} distributions ({image}the rest declared by "
        f"{request.label}): {', '.join(exposed)}"
    )
    return notes


def explain_missing_module(log_tail: Iterable[str], label: str) -> str | None:
    """One line for a rank that died of a missing import inside an isolated environment
    (or of ``python -m`` naming a module that is nowhere)."""
    for line in log_tail:
        run = _NO_MAIN_MODULE.search(line)
        if run:
            module = run.group(1) or run.group(2)
            return (
                f"python -m {module}: no such module in the job's code or in {label}, and "
                "the cloud job would fail the same way; check the module the job runs"
            )
        match = _MISSING_MODULE.search(line)
        if match and match.group(1) != match.group(2):  # a job's own module: not a package
            module = match.group(2).split(".")[0]
            return (
                f"No module named {module!r}: {label} does not declare the distribution that "
                f"provides it, and the cloud job would fail the same way; add it to the "
                f"declared requirements"
            )
    return None
