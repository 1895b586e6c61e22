"""Which files of a job's ``code:`` directory go into its bundle, and the refusals.

Rules, in order (gitignore syntax, the last matching line wins, via ``pathspec``):

1. caches and virtual environments (``__pycache__/``, ``.git/``, ``.venv/``, ``*.pyc``...);
2. the code directory's ``.gitignore`` files (the top one, then those of subdirectories,
   each applying below its own directory, as git reads them);
3. files that look like credentials (``.env``, ``*.pem``, ``*.key``, ``id_rsa*``,
   ``.aws/``, ``.azure/``, ``.ssh/``...): a ``.gitignore`` cannot bring them back;
4. the code directory's ``.cloudgdignore``: more exclusions, or ``!path`` to
   include a file rules 1-3 left out, explicitly.

Nothing outside the code directory is ever read: a symlink whose target (all links
resolved) lies outside it is refused, naming it; a symlink to a file or directory
inside it is bundled under the link's name. Broken links, link loops, FIFOs,
sockets and devices are refused with one line naming the path; a FIFO is never
opened, so it cannot hang the build.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

import pathspec

from cloudgd.errors import SpecError

SKIPPED = (
    "__pycache__/",
    ".git/",
    ".hg/",
    ".svn/",
    ".venv/",
    "venv/",
    ".mypy_cache/",
    ".pytest_cache/",
    ".ruff_cache/",
    "*.pyc",
    "*.pyo",
)
CREDENTIALS = (
    ".env",
    ".env.*",
    "*.pem",
    "*.key",
    "*.p12",
    "*.pfx",
    "id_rsa*",
    "id_dsa*",
    "id_ecdsa*",
    "id_ed25519*",
    ".aws/",
    ".azure/",
    ".ssh/",
    ".gnupg/",
    ".netrc",
    ".pgpass",
    ".git-credentials",
    ".docker/config.json",
    ".kube/config",
)
IGNORE_FILES = (".gitignore", ".cloudgdignore")
_KINDS = {
    stat.S_IFIFO: "a FIFO (named pipe)",
    stat.S_IFSOCK: "a socket",
    stat.S_IFCHR: "a character device",
    stat.S_IFBLK: "a block device",
}


def _read_lines(path: Path) -> list[str]:
    try:
        info = path.lstat()
    except OSError:
        return []
    if not stat.S_ISREG(info.st_mode):  # never follow a link or open a FIFO for rules
        return []
    return path.read_text(encoding="utf-8", errors="replace").splitlines()


def rules(root: Path, nested: tuple[str, ...] = ()) -> pathspec.PathSpec:
    """The ignore rules of the code directory ``root``, in precedence order.

    ``nested`` holds the lines of subdirectories' ``.gitignore`` files, already
    rewritten relative to ``root`` (:func:`rebase`).
    """
    gitignore, cloudgdignore = (_read_lines(root / name) for name in IGNORE_FILES)
    lines = [*SKIPPED, *gitignore, *nested, *CREDENTIALS, *cloudgdignore]
    return pathspec.GitIgnoreSpec.from_lines(lines)


def rebase(line: str, directory: str) -> str | None:
    """A line of ``<directory>/.gitignore`` as a pattern relative to the code dir root.

    As in git: a pattern with a slash at its start or middle is anchored to that
    directory; one without matches at any depth below it.
    """
    text = line.rstrip()
    if not text or text.startswith("#"):
        return None
    negate = text.startswith("!")
    body = text[1:] if negate else text
    dir_only = body.endswith("/")
    core = body.rstrip("/")
    anchored = "/" in core
    core = core.lstrip("/")
    if not core:
        return None
    pattern = f"/{directory}{core}" if anchored else f"/{directory}**/{core}"
    return ("!" if negate else "") + pattern + ("/" if dir_only else "")


def _refuse(path: Path, why: str) -> SpecError:
    return SpecError(
        f"code: {path} {why}",
        hint="remove it, or list it in the code directory's .cloudgdignore",
    )


def code_files(code_dir: Path) -> list[tuple[str, Path]]:
    """(path inside ``code/``, real file to read) for every file to bundle, sorted.

    Raises SpecError (exit 2) naming the first path that cannot be bundled safely.
    """
    root = Path(os.path.realpath(code_dir))
    if not root.is_dir():
        raise SpecError(f"code: directory not found: {code_dir}")
    found: list[tuple[str, Path]] = []

    def visit(
        real_dir: Path,
        shown_dir: Path,
        rel: str,
        ancestors: frozenset[Path],
        nested: tuple[str, ...],
        spec: pathspec.PathSpec,
    ) -> None:
        try:
            entries = sorted(os.scandir(real_dir), key=lambda e: e.name)
        except OSError as exc:
            raise _refuse(shown_dir, f"cannot be read: {exc.strerror}") from None
        own = [rebase(line, rel) for line in _read_lines(real_dir / ".gitignore")] if rel else []
        if any(own):  # compiled again only where a subdirectory adds rules
            nested = (*nested, *(line for line in own if line))
            spec = rules(root, nested)
        for entry in entries:
            name, shown = f"{rel}{entry.name}", shown_dir / entry.name
            info = entry.stat(follow_symlinks=False)
            target, kind = Path(entry.path), info.st_mode
            if stat.S_ISLNK(kind):
                if spec.match_file(name) or spec.match_file(name + "/"):
                    continue  # left out anyway: never resolved, never read
                target, kind = _link_target(shown, Path(entry.path), root)
                if _ignored_target(spec, target, root, stat.S_ISDIR(kind)):
                    continue  # a link must not smuggle in what its target's own name leaves out
            if stat.S_ISDIR(kind):
                if spec.match_file(name + "/"):
                    continue
                if target in ancestors:
                    raise _refuse(shown, f"is a symlink loop (back to {target})")
                visit(target, shown, name + "/", ancestors | {target}, nested, spec)
            elif spec.match_file(name):
                continue
            elif stat.S_ISREG(kind):
                found.append((name, target))
            else:
                what = _KINDS.get(stat.S_IFMT(kind), "not a regular file")
                raise _refuse(shown, f"is {what}; only regular files can be bundled")

    visit(root, Path(code_dir), "", frozenset({root}), (), rules(root))
    return sorted(found)


def _ignored_target(spec: pathspec.PathSpec, target: Path, root: Path, is_dir: bool) -> bool:
    inside = target.relative_to(root).as_posix()
    if inside == ".":
        return False
    return bool(spec.match_file(inside) or (is_dir and spec.match_file(inside + "/")))


def _link_target(shown: Path, link: Path, root: Path) -> tuple[Path, int]:
    """The real path and mode a symlink inside the code dir leads to, if it stays inside."""
    try:
        mode = os.stat(link).st_mode
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise _refuse(shown, "is a symlink loop") from None
        raise _refuse(shown, f"is a broken symlink (to {os.readlink(link)})") from None
    target = Path(os.path.realpath(link))
    if not target.is_relative_to(root):
        raise _refuse(
            shown, f"is a symlink to {target}, outside the code directory; it is never followed"
        )
    return target, mode


def total_size(files: list[tuple[str, Path]]) -> int:
    """Bytes the listed files hold."""
    return sum(path.stat().st_size for _, path in files)


def largest(files: list[tuple[str, Path]], count: int = 5) -> list[tuple[str, int]]:
    """The ``count`` largest files, biggest first: (path in code/, bytes)."""
    sized = [(name, path.stat().st_size) for name, path in files]
    return sorted(sized, key=lambda item: (-item[1], item[0]))[:count]
