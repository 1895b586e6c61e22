"""What can only fail once a job runs but is known before: checked by validate and plan.

A local ``trainer.data.uri`` (no scheme, or ``file://``) that does not exist, an entry of
``code:`` that no bundle may hold (a symlink out of it, a FIFO: :mod:`cloudgd.codefiles`),
and a Hugging Face job's ``trainer.model.args`` (:mod:`cloudgd.hf_args`). Each problem is
one line naming the field; notes say what could not be checked here.
"""

from __future__ import annotations

import posixpath
from pathlib import Path

from cloudgd.errors import SpecError
from cloudgd.spec import JobSpec

# A trainer job ships code: but installs only what the trainer needs on every cloud and
# locally; a requirements file there would otherwise be bundled and silently ignored.
UNINSTALLED = (
    "warning: code: requirements.txt is not installed for the built-in trainer (its job "
    "installs what the trainer needs); put those packages in your image (image:), or run "
    "your own script with script.requirements (docs/scripts.md)"
)


def local_data_path(spec: JobSpec, base_dir: Path) -> Path | None:
    """``trainer.data.uri`` as a path on this machine (relative to ``base_dir``), or None
    when the data is not local (no uri, or a cloud URI)."""
    uri = spec.trainer.data.uri
    if not uri:
        return None
    if uri.startswith("file://"):
        uri = uri[len("file://") :]
    elif "://" in uri:
        return None
    return base_dir / Path(uri).expanduser()


def data_problems(spec: JobSpec, base_dir: Path) -> list[str]:
    """A line for a local data path that does not exist (a script's input channels too)."""
    found = []
    path = local_data_path(spec, base_dir)
    if path is not None and not path.exists():
        found.append(
            f"trainer.data.uri: no such file or directory: {path} (a relative path starts at "
            "the job file's directory)"
        )
    for name, uri in (spec.script.inputs if spec.script else {}).items():
        uri = uri[len("file://") :] if uri.startswith("file://") else uri
        if "://" not in uri and not (base_dir / Path(uri).expanduser()).exists():
            found.append(
                f"script.inputs.{name}: no such file or directory: {base_dir / uri} (a "
                "relative path starts at the job file's directory)"
            )
    return found


def code_problem(spec: JobSpec, base_dir: Path) -> SpecError | None:
    """The first entry of ``code:`` that building its bundle would refuse, or a script the
    bundle would leave out (ignore rules), so validate and a local plan say what submit
    would, or what the job would fail on (the walk reads no file, only names and links)."""
    if spec.code is None:
        return None
    from cloudgd.codefiles import code_files

    code_dir = (base_dir / spec.code).resolve()
    try:
        bundled = {name for name, _ in code_files(code_dir)}
    except SpecError as error:
        return error
    script = spec.script
    if script is None:
        return None
    if script.entry_point is not None:
        field, wanted = "script.entry_point", posixpath.normpath(script.entry_point)
    else:
        assert script.module is not None  # ScriptSpec holds exactly one of the two
        field, base = "script.module", script.module.replace(".", "/")
        wanted = f"{base}.py" if (code_dir / f"{base}.py").is_file() else f"{base}/"
    if wanted in bundled or (wanted.endswith("/") and any(n.startswith(wanted) for n in bundled)):
        return None
    if not (code_dir / wanted).exists():  # a missing file is the loader's to report
        return None
    return SpecError(
        f"{field}: {wanted} is left out of the job's bundle by the code directory's ignore "
        "rules (.gitignore, .cloudgdignore, credential-like names)",
        hint=f"include it with a line `!{wanted}` in the code directory's .cloudgdignore "
        "(for a file in a left-out directory: `!DIRECTORY/`)",
    )


def preflight(spec: JobSpec, source: str, base_dir: Path) -> list[str]:
    """Notes on what was not checked; SpecError (exit 2) listing every problem found."""
    hf = None
    if spec.trainer.model.kind == "huggingface":
        from cloudgd.hf_args import check_hf_args

        hf = check_hf_args(spec.trainer.model, base_dir)
    code = code_problem(spec, base_dir)
    found = data_problems(spec, base_dir) + (code.lines() if code else [])
    found += hf.problems if hf else []
    if found:
        lines = [f"{source}: {line}" for line in found]
        hint = hf.hints[0] if hf and hf.hints else (code.hint if code else None)
        raise SpecError(lines[0], hint=hint, problems=lines)
    notes = hf.notes if hf else []
    own = spec.script is None and spec.code is not None and spec.image == "prebuilt"
    if own and (base_dir / str(spec.code) / "requirements.txt").is_file():
        notes = [*notes, UNINSTALLED]
    return notes
