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
import tarfile
from collections.abc import Iterable
from pathlib import Path

from cloudgd.errors import SpecError
from cloudgd.plan import BundleRef
from cloudgd.trainer_requirements import BY_MODEL_KIND, package_requirements

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
    """What the job's trainer config needs installed on top of the image."""
    try:
        model = json.loads(config_json).get("model") or {}
    except (ValueError, AttributeError):
        return ()
    return EXTRA_REQUIREMENTS.get(str(model.get("kind")), ()) if isinstance(model, dict) else ()


def bundle_entries(
    config_json: str, code_dir: Path | None, prefix: str = ""
) -> list[tuple[str, bytes]]:
    """(archive path, bytes) for every file, sorted by path.

    A job whose model needs extra packages also gets a ``requirements.txt``, which
    SageMaker's training toolkit pip-installs before the entry point starts.
    """
    entries: dict[str, bytes] = {}
    extra = extra_requirements(config_json)
    if extra:
        entries[f"{prefix}{REQUIREMENTS_NAME}"] = ("\n".join(extra) + "\n").encode()
    tdir = trainers_dir()
    for path in _walk(tdir):
        entries[f"{prefix}trainers/{path.relative_to(tdir).as_posix()}"] = path.read_bytes()
    if code_dir is not None:
        if not code_dir.is_dir():
            raise SpecError(f"code: directory not found: {code_dir}")
        for path in _walk(code_dir):
            entries[f"{prefix}code/{path.relative_to(code_dir).as_posix()}"] = path.read_bytes()
    entries[f"{prefix}{CONFIG_NAME}"] = config_json.encode()
    entries[f"{prefix}{ENTRY_NAME}"] = ENTRY_SOURCE.encode()
    return sorted(entries.items())


def _sdist_extras(prefix: str, requires: tuple[str, ...] = ()) -> list[tuple[str, bytes]]:
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
        f"        for name in ({CONFIG_NAME!r}, {ENTRY_NAME!r}):\n"
        "            shutil.copyfile(name, out / name)\n"
        "        if Path('code').is_dir():\n"
        "            shutil.copytree('code', out / 'code', dirs_exist_ok=True)\n\n\n"
        f"setup(name={SDIST_NAME!r}, version={SDIST_VERSION!r}, "
        "packages=find_packages(include=['trainers', 'trainers.*']), "
        "package_data={'trainers': ['*']}, include_package_data=True, "
        "cmdclass={'build_py': build_py_with_job}, "
        f"install_requires={[*package_requirements(), *requires]!r})\n"
    )
    pkg_info = f"Metadata-Version: 2.1\nName: {SDIST_NAME}\nVersion: {SDIST_VERSION}\n"
    return [(f"{prefix}PKG-INFO", pkg_info.encode()), (f"{prefix}setup.py", setup.encode())]


def tar_bytes(entries: list[tuple[str, bytes]]) -> bytes:
    """A byte-stable gzip'd tar of ``entries``."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, data in sorted(entries):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mtime = FIXED_MTIME
            info.mode = 0o644
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            tar.addfile(info, io.BytesIO(data))
    out = io.BytesIO()
    with gzip.GzipFile(fileobj=out, mode="wb", mtime=0, compresslevel=9) as gz:
        gz.write(raw.getvalue())
    return out.getvalue()


def build_bundle(
    config_json: str, code_dir: Path | None, out_dir: Path, fmt: str = "tar.gz"
) -> BundleRef:
    """Write the bundle into ``out_dir`` under its content-hash name and describe it."""
    if fmt == "tar.gz":
        data = tar_bytes(bundle_entries(config_json, code_dir))
        stem = "cloudgd-bundle"
    elif fmt == "sdist":
        prefix = f"{SDIST_NAME}-{SDIST_VERSION}/"
        requires = extra_requirements(config_json)
        entries = bundle_entries(config_json, code_dir, prefix) + _sdist_extras(prefix, requires)
        data = tar_bytes(entries)
        stem = "cloudgd-trainer"
    else:
        raise ValueError(f"unknown bundle format {fmt!r}")
    sha = hashlib.sha256(data).hexdigest()
    filename = f"{stem}-{sha[:12]}.tar.gz"
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / filename
    if not path.exists():
        tmp = path.with_suffix(".tmp")
        tmp.write_bytes(data)
        tmp.replace(path)
    return BundleRef(path=str(path), sha256=sha, filename=filename, format=fmt)
