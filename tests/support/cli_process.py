"""``python -m cloudgd`` in a fresh process per command, as a user (or CI) runs it.

The end-to-end tests share this: a clean environment whose ``CLOUDGD_HOME`` is the test's
own, commands run from the test's directory, and the rehearsal servers a test started
(they run detached, like a user's) stopped when it ends.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
Run = Callable[..., subprocess.CompletedProcess[str]]


def clean_env(
    home: Path, *, drop: tuple[str, ...] = ("CLOUDGD_",), extra: Mapping[str, str] | None = None
) -> dict[str, str]:
    """This process's environment without variables starting with ``drop`` (a developer's
    own settings must not leak in), pointing cloudgd at ``home`` and this checkout."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(drop)}
    env.pop("GITHUB_SHA", None)  # CI's own commit would name the jobs differently
    env.update({"PYTHONPATH": str(REPO), "CLOUDGD_HOME": str(home), "OMP_NUM_THREADS": "1"})
    env.update(extra or {})
    return env


@contextmanager
def cloudgd_processes(
    cwd: Path, env: Mapping[str, str], *, servers: tuple[str, ...], timeout: float = 240
) -> Iterator[Run]:
    """A ``run(*args, check=True)`` that runs one cloudgd command and returns it finished;
    ``check`` asserts exit 0 and shows stderr otherwise. ``servers`` are stopped at exit."""

    def run(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            [sys.executable, "-m", "cloudgd", *args],
            cwd=cwd,
            env=dict(env),
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if check:
            assert done.returncode == 0, done.stderr
        return done

    try:
        yield run
    finally:
        stop = "; ".join(f"servers.stop({name!r})" for name in servers)
        subprocess.run(
            [sys.executable, "-c", f"from cloudgd import servers; {stop}"],
            env=dict(env),
            timeout=60,
            check=False,
        )


def small_csv(path: Path) -> Path:
    """A 120-row, 4-feature classification CSV with a ``label`` column."""
    rows = ["label," + ",".join(f"p{i}" for i in range(4))]
    rows += [f"{n % 2},{n % 3},{n % 5},{(n * 7) % 11},{n % 2 * 3}" for n in range(120)]
    path.write_text("\n".join(rows) + "\n")
    return path
