"""The code bundle never uploads a file outside ``code:`` nor a credential file.

Every member of every bundle is compared with the files it came from: each
``code/`` member must be a file inside the code directory (by real path), with
the same bytes, and none may be a credential unless ``.cloudgdignore`` names it
with ``!``. Unsafe entries (links out, broken links, loops, FIFOs, sockets) are
refused with one line naming the path; a FIFO never hangs the build.
"""

from __future__ import annotations

import os
import socket
import tarfile
import threading
from pathlib import Path

import pytest

from cloudgd import bundle
from cloudgd.bundle import build_bundle, prune_bundles
from cloudgd.errors import SpecError
from tests.badinput.conftest import Invoke

CONFIG = '{"epochs": 1}\n'


def code_members(path: str, prefix: str = "code/") -> dict[str, bytes]:
    with tarfile.open(path) as tar:
        found = {}
        for member in tar.getmembers():
            if member.name.startswith(prefix):
                extracted = tar.extractfile(member)
                assert extracted is not None
                found[member.name.removeprefix(prefix)] = extracted.read()
        return found


@pytest.fixture
def code(tmp_path: Path) -> Path:
    """A code dir holding credentials, ignored files and an inside symlink."""
    root = tmp_path / "proj"
    (root / "pkg").mkdir(parents=True)
    (root / "pkg" / "model.py").write_text("LAYERS = 3\n")
    (root / "train.py").write_text("print('train')\n")
    for secret in (".env", "server.pem", "tls.key", "id_rsa", "id_ed25519.pub", ".env.prod"):
        (root / secret).write_text("SECRET\n")
    (root / ".aws").mkdir()
    (root / ".aws" / "credentials").write_text("[default]\naws_secret_access_key=SECRET\n")
    (root / ".azure").mkdir()
    (root / ".azure" / "accessTokens.json").write_text("SECRET")
    (root / "data").mkdir()
    (root / "data" / "big.csv").write_text("1,2\n")
    (root / "run.log").write_text("log\n")
    (root / "scratch").mkdir()
    (root / "scratch" / "notes.txt").write_text("notes\n")
    (root / "public.key").write_text("a public test key, wanted\n")
    (root / ".gitignore").write_text("data/\n*.log\n!.env\n")  # git cannot re-include .env
    (root / ".cloudgdignore").write_text("scratch/\n!public.key\n")
    (root / "shared").symlink_to(root / "pkg")  # a directory link inside: bundled
    (root / "model_link.py").symlink_to(root / "pkg" / "model.py")
    return root


def test_credentials_and_ignored_files_stay_out_and_links_inside_are_bundled(
    code: Path, tmp_path: Path
) -> None:
    ref = build_bundle(CONFIG, code, tmp_path / "bundles")
    members = code_members(ref.path)
    assert sorted(members) == [
        ".cloudgdignore",
        ".gitignore",
        "model_link.py",
        "pkg/model.py",
        "public.key",  # explicitly included by .cloudgdignore
        "shared/model.py",
        "train.py",
    ]
    for name, data in members.items():  # every byte comes from inside the code dir
        real = Path(os.path.realpath(code / name))
        assert real.is_relative_to(code) and real.read_bytes() == data
    assert not any(b"SECRET" in data for data in members.values())


@pytest.mark.parametrize("fmt", ["tar.gz", "sdist"])
def test_a_symlink_out_of_the_code_dir_is_refused_naming_it(
    code: Path, tmp_path: Path, fmt: str
) -> None:
    outside = tmp_path / "home" / ".aws" / "credentials"
    outside.parent.mkdir(parents=True)
    outside.write_text("SECRET")
    (code / "pkg" / "creds.txt").symlink_to(outside)
    with pytest.raises(SpecError, match=r"pkg/creds.txt is a symlink to .*outside the code dir"):
        build_bundle(CONFIG, code, tmp_path / "bundles", fmt)
    (code / "pkg" / "creds.txt").unlink()
    (code / "up").symlink_to(tmp_path)  # a directory link out: same refusal
    with pytest.raises(SpecError, match=r"up is a symlink to .*outside"):
        build_bundle(CONFIG, code, tmp_path / "bundles", fmt)
    assert not list((tmp_path / "bundles").glob("*.tar.gz"))


def test_special_files_get_one_clear_error(code: Path, tmp_path: Path) -> None:
    cases = {
        "broken": lambda p: p.symlink_to(code / "missing.py"),
        "loop": lambda p: p.symlink_to(p),
        "dirloop": lambda p: p.symlink_to(code),
        "pipe": lambda p: os.mkfifo(p),
    }
    expected = {
        "broken": "is a broken symlink",
        "loop": "is a symlink loop",
        "dirloop": "is a symlink loop",
        "pipe": "is a FIFO",
    }
    for name, make in cases.items():
        path = code / name
        make(path)
        outcome: list[BaseException] = []
        # a FIFO that were opened would block forever: build in a thread and bound the wait
        worker = threading.Thread(
            target=_capture, args=(outcome, code, tmp_path / "bundles"), daemon=True
        )
        worker.start()
        worker.join(timeout=60)
        assert not worker.is_alive(), f"{name}: the build hangs"
        assert isinstance(outcome[0], SpecError), outcome
        assert expected[name] in outcome[0].message and str(path) in outcome[0].message
        path.unlink()
    with socket.socket(socket.AF_UNIX) as sock:
        sock.bind(str(code / "sock"))
        with pytest.raises(SpecError, match="sock is a socket"):
            build_bundle(CONFIG, code, tmp_path / "bundles")


def _capture(outcome: list[BaseException], code: Path, out: Path) -> None:
    try:
        build_bundle(CONFIG, code, out)
    except BaseException as exc:
        outcome.append(exc)


def test_the_cli_refuses_a_fifo_in_code_with_exit_2(
    invoke: Invoke, code: Path, tmp_path: Path
) -> None:
    os.mkfifo(code / "pipe")
    job = tmp_path / "job.yaml"
    job.write_text(f"name: fifo-job\ncode: {code}\ntrainer: {{data: {{source: digits}}}}\n")
    result = invoke("plan", str(job), "-p", "aws", "--backend", "moto")
    assert result.exit_code == 2, result.output
    assert "pipe is a FIFO" in result.output and "Traceback" not in result.output


def test_a_large_code_dir_warns_with_its_largest_files(
    code: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(bundle, "WARN_BYTES", 10)
    (code / "weights.bin").write_bytes(b"\0" * 5000)
    lines: list[str] = []
    bundle.bundle_entries(CONFIG, code, warn=lines.append)
    assert len(lines) == 1 and "largest: weights.bin (0.0 MB)" in lines[0]


def test_old_bundles_are_pruned_and_other_files_left_alone(tmp_path: Path) -> None:
    out = tmp_path / "bundles"
    out.mkdir()
    for n in range(5):
        old = out / f"cloudgd-bundle-{n:012d}.tar.gz"
        old.write_bytes(b"old")
        os.utime(old, (1_000_000 + n, 1_000_000 + n))
    mine = out / "my-notes.tar.gz"
    mine.write_text("not cloudgd's")
    ref = build_bundle(CONFIG, None, out)
    prune_bundles(out, keep=3, current=Path(ref.path))
    left = sorted(p.name for p in out.iterdir())
    assert left == sorted(
        [Path(ref.path).name, "cloudgd-bundle-000000000004.tar.gz",
         "cloudgd-bundle-000000000003.tar.gz", "my-notes.tar.gz"]
    )  # fmt: skip


def test_a_subdirectorys_gitignore_applies_below_it_only(tmp_path: Path) -> None:
    root = tmp_path / "proj"
    (root / "pkg" / "deep").mkdir(parents=True)
    (root / "pkg" / ".gitignore").write_text("# generated\n*.bin\n/local.cfg\nbuild/\n!keep.bin\n")
    for name in ("pkg/a.bin", "pkg/deep/b.bin", "pkg/keep.bin", "pkg/local.cfg",
                 "pkg/deep/local.cfg", "pkg/build/out.txt", "top.bin", "local.cfg"):  # fmt: skip
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(name)
    members = code_members(build_bundle(CONFIG, root, tmp_path / "bundles").path)
    assert sorted(members) == [
        "local.cfg", "pkg/.gitignore", "pkg/deep/local.cfg", "pkg/keep.bin", "top.bin"
    ]  # fmt: skip


@pytest.mark.parametrize("unsafe", ["link-out", "fifo", "broken-link"])
def test_validate_and_a_local_plan_refuse_what_submit_would_not_bundle(
    invoke: Invoke, home: Path, code: Path, tmp_path: Path, unsafe: str
) -> None:
    job = tmp_path / "job.yaml"
    job.write_text(f"name: unsafe-code\ncode: {code}\ntrainer: {{data: {{source: digits}}}}\n")
    assert invoke("validate", str(job)).exit_code == 0  # credentials are left out, not refused
    path = code / "pkg" / unsafe
    if unsafe == "link-out":
        path.symlink_to(tmp_path / "job.yaml")
    elif unsafe == "fifo":
        os.mkfifo(path)
    else:
        path.symlink_to(code / "gone.py")
    for args in (("validate", str(job)), ("plan", str(job), "-p", "local")):
        result = invoke(*args)
        assert result.exit_code == 2, result.output
        first = result.stderr.splitlines()[0]
        assert first.startswith(f"cloudgd: error: {job}: code: {path} is "), result.stderr
        assert "Traceback" not in result.output
    assert not (home / "runs").exists() and not (home / "bundles").exists()
