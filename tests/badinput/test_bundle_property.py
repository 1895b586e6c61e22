"""Property: whatever a code directory holds, its bundle carries no byte from outside it
and no credential file, and every member is a file of the directory, unchanged.

Trees are drawn from ordinary files, credential-looking files (``SECRET`` inside),
symlinks to files and directories inside, and symlinks out (to a file holding
``OUTSIDE``). A tree with a link out must be refused, naming that link.
"""

from __future__ import annotations

import os
import shutil
import tarfile
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cloudgd.bundle import build_bundle
from cloudgd.errors import SpecError

PLAIN = ["train.py", "pkg/model.py", "pkg/deep/util.py", "README.md", "data/x.csv"]
SECRETS = [".env", "pkg/.env.local", "id_rsa", "keys/server.pem", "tls.key", ".aws/credentials",
           "pkg/.azure/token.json", ".ssh/id_ed25519"]  # fmt: skip
LINKS = ["link.py", "pkg/alias", "shortcut", "pkg/deep/back"]

entries = st.lists(
    st.one_of(
        st.tuples(st.just("file"), st.sampled_from(PLAIN)),
        st.tuples(st.just("secret"), st.sampled_from(SECRETS)),
        st.tuples(
            st.sampled_from(["link-in", "link-out", "link-dir"]),
            st.sampled_from(LINKS),
            st.sampled_from(PLAIN + SECRETS + ["pkg", ".aws", "pkg/deep"]),
        ),
    ),
    min_size=1,
    max_size=10,
)


def make_tree(base: Path, drawn: list[tuple[str, ...]]) -> tuple[Path, list[str]]:
    code, outside = base / "code", base / "outside.txt"
    outside.write_text("OUTSIDE")
    code.mkdir()
    links_out = []
    for kind, path, *rest in drawn:
        where = code / path
        if where.exists() or where.is_symlink() or any(p.is_symlink() for p in where.parents):
            continue
        where.parent.mkdir(parents=True, exist_ok=True)
        if kind in ("file", "secret"):
            if where.is_dir():
                continue
            where.write_text("SECRET" if kind == "secret" else f"content of {path}")
        elif kind == "link-out":
            where.symlink_to(outside)
            links_out.append(path)
        else:
            target = code / rest[0]
            if not target.exists():
                target.parent.mkdir(parents=True, exist_ok=True)
                if rest[0] in PLAIN or rest[0] in SECRETS:
                    target.write_text("SECRET" if rest[0] in SECRETS else f"content of {rest[0]}")
                else:
                    target.mkdir(parents=True, exist_ok=True)
            where.symlink_to(target)
    return code, links_out


@settings(
    max_examples=60,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(drawn=entries)
def test_a_bundle_holds_only_files_of_its_code_dir_and_no_credentials(
    drawn: list[tuple[str, ...]],
) -> None:
    base = Path(tempfile.mkdtemp(prefix="bundle-prop-"))
    try:
        code, links_out = make_tree(base, drawn)
        try:
            ref = build_bundle('{"epochs": 1}\n', code, base / "bundles")
        except SpecError as refused:
            assert links_out or "symlink loop" in refused.message, refused.message
            assert "outside the code directory" in refused.message or "loop" in refused.message
            return
        assert not links_out, f"a link out was bundled: {links_out}"
        with tarfile.open(ref.path) as tar:
            for member in tar.getmembers():
                if not member.name.startswith("code/"):
                    continue
                data = tar.extractfile(member).read()  # type: ignore[union-attr]
                name = member.name.removeprefix("code/")
                real = Path(os.path.realpath(code / name))
                assert real.is_relative_to(code.resolve()), name
                assert data == real.read_bytes(), name
                assert b"SECRET" not in data and b"OUTSIDE" not in data, name
    finally:
        shutil.rmtree(base, ignore_errors=True)
