"""Job file (YAML or JSON) → validated JobSpec, or a SpecError with one line per problem.

Every failure names the file and, where there is one, the field or line:
``job.yaml: trainer.optimizer.lr: must be > 0 (got -1)``. ``-`` reads standard input.
"""

from __future__ import annotations

import os
import stat
import sys
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from cloudgd.errors import SpecError
from cloudgd.overrides import apply_overrides, parse_overrides
from cloudgd.safe_yaml import MAX_BYTES, DocumentError, parse_json, parse_yaml
from cloudgd.spec import JobSpec
from cloudgd.spec_messages import problems

STDIN = "-"
_SCHEMA_HINT = "every field is described by `cloudgd schema`; `cloudgd init` writes an example"


@dataclass(frozen=True)
class LoadedSpec:
    """A validated spec and where it came from (``code:`` is relative to ``base_dir``)."""

    spec: JobSpec
    source: str
    base_dir: Path
    notes: tuple[str, ...] = ()

    @property
    def code_dir(self) -> Path | None:
        """The job's code directory, resolved against the spec file's directory."""
        if self.spec.code is None:
            return None
        return (self.base_dir / self.spec.code).resolve()


def _fail(message: str, hint: str | None = None) -> SpecError:
    return SpecError(message, hint=hint, problems=[message])


def _check_script_files(spec: JobSpec, code_dir: Path, source: str) -> None:
    """The script's entry point and requirements file exist inside ``code:``."""
    script = spec.script
    assert script is not None
    wanted = {"script.entry_point": script.entry_point, "script.requirements": script.requirements}
    if script.module:  # pkg.train is pkg/train.py or pkg/train/__main__.py
        base = script.module.replace(".", "/")
        if not (code_dir / f"{base}.py").is_file() and not (code_dir / base).is_dir():
            raise _fail(
                f"{source}: script.module: no {base}.py or {base}/ in code: ({code_dir})",
                "the module is imported from the code: directory",
            )
    for field, relative in wanted.items():
        if relative is not None and not (code_dir / relative).is_file():
            raise _fail(
                f"{source}: {field}: file not found in code: {code_dir / relative}",
                "script paths are relative to the code: directory",
            )


def read_capped(file: Path, source: str) -> bytes:
    """The bytes of ``file`` (at most 1 MiB, else SpecError), whatever kind of file it is.

    Opened non-blocking, so a FIFO nobody writes to reads as empty instead of hanging;
    a device or a stream (``/dev/zero``, a pipe from ``<(...)``) is read only up to the
    limit, so it cannot exhaust memory.
    """
    fd = os.open(file, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    with os.fdopen(fd, "rb", buffering=0) as stream:
        info = os.fstat(fd)
        if stat.S_ISREG(info.st_mode):
            if info.st_size > MAX_BYTES:
                raise _fail(f"{source}: file is {info.st_size} bytes; a job file is at most 1 MiB")
        else:
            os.set_blocking(fd, True)  # a writer that is still writing is waited for
        chunks: list[bytes] = []
        size = 0
        while size <= MAX_BYTES:
            chunk = stream.read(MAX_BYTES + 1 - size)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    if size > MAX_BYTES:
        raise _fail(f"{source}: more than 1 MiB; a job file is at most 1 MiB")
    return b"".join(chunks)


def read_text(path: str | Path) -> tuple[str, str, Path]:
    """(text, name to show, directory relative paths resolve against)."""
    source = str(path)
    if source == STDIN:
        raw = sys.stdin.buffer.read(MAX_BYTES + 1)
        base = Path.cwd()
        source = "<stdin>"
    else:
        file = Path(path)
        if file.is_dir():
            raise _fail(f"{source}: is a directory, not a job file", "pass the job's .yaml file")
        try:
            raw = read_capped(file, source)
        except FileNotFoundError:
            raise _fail(f"{source}: no such file", "create one with `cloudgd init`") from None
        except PermissionError:
            raise _fail(f"{source}: permission denied") from None
        except OSError as error:
            raise _fail(f"{source}: cannot read: {error.strerror or error}") from None
        base = file.resolve().parent
    if len(raw) > MAX_BYTES:
        raise _fail(f"{source}: more than 1 MiB; a job file is at most 1 MiB")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise _fail(
            f"{source}: not UTF-8 text (byte 0x{raw[error.start]:02x} at offset {error.start})",
            "save the file as UTF-8",
        ) from None
    return text, source, base


def parse_document(text: str, source: str) -> dict[str, Any]:
    """Text → the raw mapping (JSON when ``source`` ends in .json, YAML otherwise)."""
    if not text.strip() or (not source.endswith(".json") and _only_comments(text)):
        raise _fail(f"{source}: file is empty", "start from `cloudgd init`")
    try:
        data = parse_json(text) if source.endswith(".json") else parse_yaml(text)
    except DocumentError as error:
        raise _fail(error.located(source)) from None
    if data is None:
        raise _fail(f"{source}: file is empty", "start from `cloudgd init`")
    if not isinstance(data, dict):
        kind = "a list" if isinstance(data, list) else f"a single value ({type(data).__name__})"
        raise _fail(
            f"{source}: expected a mapping of fields (name:, trainer:, ...) at the top level, "
            f"got {kind}",
            _SCHEMA_HINT,
        )
    return data


def _only_comments(text: str) -> bool:
    return all(not line.strip() or line.lstrip().startswith("#") for line in text.splitlines())


def validate_document(
    document: dict[str, Any], source: str, *, overridden: Sequence[str] = ()
) -> JobSpec:
    """The JobSpec, or a SpecError listing every problem."""
    try:
        return JobSpec.model_validate(document)
    except ValidationError as error:
        lines = problems(error, source, overridden=overridden)
        raise SpecError(lines[0], hint=_SCHEMA_HINT, problems=lines) from None
    except RecursionError:
        raise _fail(f"{source}: nested too deeply") from None


def load_spec(
    path: str | Path, overrides: Sequence[str] = (), *, preflight: bool = True
) -> LoadedSpec:
    """Read, parse, apply ``--set`` overrides, validate, and check ``code:`` exists.

    With ``preflight`` (validate, plan, submit) also what would fail only once the job
    runs: a missing local data path, Hugging Face ``model.args`` (:mod:`cloudgd.preflight`).
    """
    text, source, base_dir = read_text(path)
    document = parse_document(text, source)
    parsed = parse_overrides(overrides)
    document = apply_overrides(document, parsed)
    spec = validate_document(document, source, overridden=[o.dotted for o in parsed])
    loaded = LoadedSpec(spec=spec, source=source, base_dir=base_dir)
    code_dir = loaded.code_dir
    if code_dir is not None and not code_dir.is_dir():
        raise _fail(
            f"{source}: code: directory not found: {code_dir}",
            "code: is relative to the job file's directory",
        )
    if spec.script is not None and code_dir is not None:
        _check_script_files(spec, code_dir, source)
    if preflight:
        from cloudgd.preflight import preflight as check

        loaded = replace(loaded, notes=tuple(check(spec, source, base_dir)))
    return loaded
