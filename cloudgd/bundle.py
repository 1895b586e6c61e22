"""The deterministic code bundle every cloud job ships.

One builder for all three adapters: the ``trainers`` package, the job's own code
directory (under ``code/``) and the job's trainer config (``cloudgd-job.json``).
Entries are sorted, owners and mtimes fixed and gzip's header time zeroed, so the
same inputs give the same bytes and the same content-hash name on any machine.

Formats: ``tar.gz`` (SageMaker ``sagemaker_submit_directory``, Azure ML code) and
``sdist`` (Vertex AI ``python_package_spec``, installed with pip in the image).
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import sys
import tarfile
import time
from collections.abc import Callable, Iterable
from pathlib import Path

from cloudgd.codefiles import code_files, largest, total_size
from cloudgd.errors import SpecError
from cloudgd.plan import BundleRef
from cloudgd.trainer_requirements import BY_MODEL_KIND, job_requirements, package_requirements

# What an entry's bytes come from: inline bytes, or a file read while the archive is
# written (so a bundle is streamed to disk, never held in memory whole).
Source = bytes | Path
Entry = tuple[str, Source]
WARN_BYTES = 100 * 1024 * 1024  # code dirs above this get a warning naming the largest files
KEEP_BUNDLES = 20  # newest bundles kept in $CLOUDGD_HOME/bundles; older ones are pruned
_CHUNK = 1 << 20

FIXED_MTIME = 315532800  # 1980-01-01, the zip epoch; tar accepts it everywhere
_SKIP_DIRS = {"__pycache__", ".git", ".venv", ".mypy_cache", ".pytest_cache", ".ruff_cache"}
_SKIP_SUFFIXES = (".pyc", ".pyo")
CONFIG_NAME = "cloudgd-job.json"
ENTRY_NAME = "cloudgd_entry.py"
# SageMaker script mode runs a *file* from /opt/ml/code (sagemaker_program); this one
# runs the trainer package beside it, so every cloud starts the same `python -m trainers`.
ENTRY_SOURCE = (
    '"""Run the cloudgd trainer shipped beside this file."""\n'
    "import runpy\nimport sys\nfrom pathlib import Path\n\n"
    "sys.path.insert(0, str(Path(__file__).resolve().parent))\n"
    'runpy.run_module("trainers", run_name="__main__", alter_sys=True)\n'
)
# A script job (issue 20) ships the launcher's config and entry file instead: SageMaker
# runs `cloudgd_script.py`, every other platform `python -m trainers.script_launch`.
SCRIPT_CONFIG_NAME = "cloudgd-script.json"
SCRIPT_ENTRY_NAME = "cloudgd_script.py"
SCRIPT_ENTRY_SOURCE = (
    '"""Run your script through the cloudgd launcher shipped beside this file."""\n'
    "import runpy\nimport sys\nfrom pathlib import Path\n\n"
    "sys.path.insert(0, str(Path(__file__).resolve().parent))\n"
    'runpy.run_module("trainers.script_launch", run_name="__main__", alter_sys=True)\n'
)
_STEMS = ("cloudgd-bundle-", "cloudgd-trainer-")
SDIST_NAME = "cloudgd_job"
SDIST_VERSION = "0.1.0"


def trainers_dir() -> Path:
    """Where the ``trainers`` package lives (found without importing torch)."""
    import trainers

    return Path(trainers.__file__).resolve().parent


def _walk(root: Path) -> Iterable[Path]:
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in _SKIP_DIRS)
        for name in sorted(filenames):
            if not name.endswith(_SKIP_SUFFIXES):
                yield Path(dirpath) / name


# Packages a job needs beyond the prebuilt PyTorch images, by trainer model kind.
EXTRA_REQUIREMENTS: dict[str, tuple[str, ...]] = BY_MODEL_KIND
REQUIREMENTS_NAME = "requirements.txt"


def extra_requirements(config_json: str) -> tuple[str, ...]:
    """What the job's trainer config needs installed on top of the image (by model kind
    and by data source)."""
    try:
        config = json.loads(config_json)
        model, data = config.get("model") or {}, config.get("data") or {}
    except (ValueError, AttributeError):
        return ()
    kind = str(model.get("kind")) if isinstance(model, dict) else None
    source = str(data.get("source")) if isinstance(data, dict) else None
    return job_requirements(kind, source)


def _stderr_warning(line: str) -> None:
    print(f"cloudgd: warning: {line}", file=sys.stderr)


def _warn_if_large(files: list[tuple[str, Path]], warn: Callable[[str], None]) -> None:
    size = total_size(files)
    if size <= WARN_BYTES:
        return
    top = ", ".join(f"{name} ({n / 1e6:.1f} MB)" for name, n in largest(files))
    warn(
        f"the code directory holds {size / 1e6:.0f} MB, uploaded with every job; "
        f"largest: {top} (leave files out with .gitignore or .cloudgdignore)"
    )


def requirement_lines(text: str) -> list[str]:
    """The lines of a requirements file that pip reads (comments and blank lines out)."""
    lines = (line.split(" #", 1)[0].strip() for line in text.splitlines())
    return [line for line in lines if line and not line.startswith("#")]


def bundle_entries(
    config_json: str,
    code_dir: Path | None,
    prefix: str = "",
    warn: Callable[[str], None] = _stderr_warning,
    *,
    script_requirements: str | None = None,
) -> list[Entry]:
    """(archive path, bytes or file to read) for every file, sorted by path.

    The code directory's files are chosen by :func:`cloudgd.codefiles.code_files`
    (ignore files honoured, credentials left out, nothing outside it followed).
    A job whose model needs extra packages also gets a ``requirements.txt``, which
    SageMaker's training toolkit pip-installs before the entry point starts.

    With ``script_requirements`` (a script job: ``config_json`` is then the launcher's
    config) the bundle's root holds ``cloudgd-script.json`` and ``cloudgd_script.py``,
    and ``requirements.txt`` is the script's own requirements file (``""``: none).
    """
    entries: dict[str, Source] = {}
    if script_requirements is not None:
        if script_requirements:
            entries[f"{prefix}{REQUIREMENTS_NAME}"] = script_requirements.encode()
        config_name, entry_name, entry_source = (
            SCRIPT_CONFIG_NAME,
            SCRIPT_ENTRY_NAME,
            SCRIPT_ENTRY_SOURCE,
        )
    else:
        config_name, entry_name, entry_source = CONFIG_NAME, ENTRY_NAME, ENTRY_SOURCE
        extra = extra_requirements(config_json)
        if extra:
            entries[f"{prefix}{REQUIREMENTS_NAME}"] = ("\n".join(extra) + "\n").encode()
    tdir = trainers_dir()
    for path in _walk(tdir):
        entries[f"{prefix}trainers/{path.relative_to(tdir).as_posix()}"] = path
    if code_dir is not None:
        if not code_dir.is_dir():
            raise SpecError(f"code: directory not found: {code_dir}")
        files = code_files(code_dir)
        _warn_if_large(files, warn)
        for name, path in files:
            entries[f"{prefix}code/{name}"] = path
    entries[f"{prefix}{config_name}"] = config_json.encode()
    entries[f"{prefix}{entry_name}"] = entry_source.encode()
    return sorted(entries.items())


def write_entry(source: Source, out: Path) -> None:
    """Put one entry's bytes at ``out`` (the local provider's unpacked bundle)."""
    if isinstance(source, bytes):
        out.write_bytes(source)
        return
    with source.open("rb") as reader, out.open("wb") as writer:
        while chunk := reader.read(_CHUNK):
            writer.write(chunk)


def _sdist_extras(
    prefix: str,
    requires: tuple[str, ...] = (),
    *,
    root_files: tuple[str, str] = (CONFIG_NAME, ENTRY_NAME),
    trainer_requires: bool = True,
) -> list[tuple[str, bytes]]:
    install = [*(package_requirements() if trainer_requires else ()), *requires]
    # Vertex pip-installs the sdist, and only packages get installed by default: the
    # custom build_py also puts the job config, the entry script and code/ next to
    # `trainers` in site-packages, which is where the trainer looks for them.
    setup = (
        "import shutil\nfrom pathlib import Path\n"
        "from setuptools import setup, find_packages\n"
        "from setuptools.command.build_py import build_py\n\n\n"
        "class build_py_with_job(build_py):\n"
        "    def run(self):\n"
        "        super().run()\n"
        "        out = Path(self.build_lib)\n"
        f"        for name in {root_files!r}:\n"
        "            shutil.copyfile(name, out / name)\n"
        "        if Path('code').is_dir():\n"
        "            shutil.copytree('code', out / 'code', dirs_exist_ok=True)\n\n\n"
        f"setup(name={SDIST_NAME!r}, version={SDIST_VERSION!r}, "
        "packages=find_packages(include=['trainers', 'trainers.*']), "
        "package_data={'trainers': ['*']}, include_package_data=True, "
        "cmdclass={'build_py': build_py_with_job}, "
        f"install_requires={install!r})\n"
    )
    pkg_info = f"Metadata-Version: 2.1\nName: {SDIST_NAME}\nVersion: {SDIST_VERSION}\n"
    return [(f"{prefix}PKG-INFO", pkg_info.encode()), (f"{prefix}setup.py", setup.encode())]


def write_tar(entries: Iterable[Entry], out: Path) -> str:
    """Stream a byte-stable gzip'd tar of ``entries`` to ``out``; return its SHA-256."""
    # filename="" keeps the temporary file's name out of the gzip header
    with (
        out.open("wb") as raw,
        gzip.GzipFile(filename="", fileobj=raw, mode="wb", mtime=0, compresslevel=9) as gz,
        tarfile.open(fileobj=gz, mode="w", format=tarfile.PAX_FORMAT) as tar,
    ):
        for name, source in sorted(entries, key=lambda entry: entry[0]):
            info = tarfile.TarInfo(name)
            info.mtime = FIXED_MTIME
            info.mode = 0o644
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            if isinstance(source, bytes):
                info.size = len(source)
                tar.addfile(info, io.BytesIO(source))
                continue
            with source.open("rb") as reader:
                info.size = os.fstat(reader.fileno()).st_size
                tar.addfile(info, reader)
    digest = hashlib.sha256()
    with out.open("rb") as reader:
        while chunk := reader.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def tar_bytes(entries: list[Entry]) -> bytes:
    """A byte-stable gzip'd tar of ``entries``, in memory (small archives, tests)."""
    import tempfile

    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch) / "bundle.tar.gz"
        write_tar(entries, path)
        return path.read_bytes()


def prune_bundles(out_dir: Path, keep: int = KEEP_BUNDLES, *, current: Path | None = None) -> None:
    """Delete all but the ``keep`` most recently used bundles cloudgd wrote in ``out_dir``.

    Only files named like cloudgd's bundles are considered; anything else there is
    left alone. The bundle just built or reused counts as the newest.
    """
    if current is not None and current.exists():
        os.utime(current)
    ours = [
        p
        for p in out_dir.glob("cloudgd-*.tar.gz")
        if p.is_file() and not p.is_symlink() and p.name.startswith(_STEMS)
    ]
    ours.sort(key=lambda p: p.stat().st_mtime, reverse=True)
    for old in ours[keep:]:
        if old != current:
            old.unlink(missing_ok=True)


def build_bundle(
    config_json: str,
    code_dir: Path | None,
    out_dir: Path,
    fmt: str = "tar.gz",
    *,
    script_requirements: str | None = None,
) -> BundleRef:
    """Write the bundle into ``out_dir`` under its content-hash name and describe it.

    ``script_requirements`` (the text of a script job's requirements file, ``""`` for
    none) makes it a script job's bundle, ``config_json`` the launcher's config
    (:func:`bundle_entries`); the sdist then declares those requirements, not the
    trainer's, and :attr:`BundleRef.requires` lists them for renderers.
    """
    script = script_requirements is not None
    requires = requirement_lines(script_requirements or "")
    entries: list[Entry]
    if fmt == "tar.gz":
        entries = bundle_entries(config_json, code_dir, script_requirements=script_requirements)
        stem = "cloudgd-bundle"
    elif fmt == "sdist":
        prefix = f"{SDIST_NAME}-{SDIST_VERSION}/"
        options = [line for line in requires if line.startswith("-")]
        if options:
            raise SpecError(
                f"script.requirements: {options[0]!r}: Vertex AI installs the job as a Python "
                "package, whose dependencies are requirement lines only, not pip options",
                hint="list the packages themselves, or use a custom image that holds them",
            )
        extras = (
            _sdist_extras(
                prefix,
                tuple(requires),
                root_files=(SCRIPT_CONFIG_NAME, SCRIPT_ENTRY_NAME),
                trainer_requires=False,
            )
            if script
            else _sdist_extras(prefix, extra_requirements(config_json))
        )
        entries = [
            *bundle_entries(config_json, code_dir, prefix, script_requirements=script_requirements),
            *extras,
        ]
        stem = "cloudgd-trainer"
    else:
        raise ValueError(f"unknown bundle format {fmt!r}")
    out_dir.mkdir(parents=True, exist_ok=True)
    tmp = out_dir / f".{stem}-{os.getpid()}-{time.monotonic_ns()}.tmp"
    try:
        sha = write_tar(entries, tmp)
        filename = f"{stem}-{sha[:12]}.tar.gz"
        path = out_dir / filename
        if path.exists():
            tmp.unlink()
        else:
            tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)
    prune_bundles(out_dir, current=path)
    return BundleRef(path=str(path), sha256=sha, filename=filename, format=fmt, requires=requires)
