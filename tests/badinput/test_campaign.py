"""A bad-input campaign through the real CLI: ``cloudgd validate`` and ``cloudgd plan``.

More than 1,000 generated and mutated job files (wrong types, huge numbers,
unicode, deep nesting, YAML anchors and bombs, binary garbage) go through both
commands in-process (CliRunner). Each must end with exit 0 (the file happened to
be valid) or exit 2 with nothing on stderr but ``cloudgd: error: <one line>`` and
``hint: <one line>``: no traceback, no "internal error", no other exit code.
Every invocation runs under a hang guard, and the process's peak memory is
checked after the campaign. ``CLOUDGD_FUZZ_SCALE=10`` runs ten times as many.

Bombs are also run in a separate process under a hard memory limit
(``test_bombs_are_refused_within_a_memory_limit``).
"""

from __future__ import annotations

import contextlib
import json
import os
import resource
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cloudgd.cli.main import cli

REPO = Path(__file__).resolve().parents[2]
SCALE = max(1, int(os.environ.get("CLOUDGD_FUZZ_SCALE", "1")))
HANG_GUARD_S = 20  # a bound against hangs, not a speed target
MAX_LINE = 400  # an error line echoing a whole document is not "one clean line"
MEMORY_GROWTH_LIMIT_MB = 512
VALID: dict[str, Any] = yaml.safe_load((REPO / "examples" / "digits.yaml").read_text())
VALID_TEXT = (REPO / "examples" / "digits.yaml").read_text()


def peak_rss_mb() -> float:
    """This process's lifetime peak RSS. Under xdist other tests run in the same worker,
    so the baseline is taken at the start of each campaign, not at import."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


COUNTS = {"structured": 0, "text": 0, "binary": 0, "aliases": 0, "nesting": 0}


def campaign(examples: int) -> settings:
    return settings(
        max_examples=examples * SCALE,
        deadline=None,
        derandomize=True,  # the same campaign every run; raise SCALE to explore further
        database=None,
        suppress_health_check=list(HealthCheck),
    )


@contextlib.contextmanager
def hang_guard(seconds: int) -> Iterator[None]:
    def expired(signum: int, frame: object) -> None:
        raise TimeoutError(f"no answer within {seconds}s")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


_workdir = Path(tempfile.mkdtemp(prefix="cloudgd-badinput-"))


def check_file(content: bytes, suffix: str = ".yaml") -> None:
    """Run validate and plan on ``content``; only clean outcomes are allowed."""
    path = _workdir / f"job{suffix}"
    path.write_bytes(content)
    for args in (["validate", str(path)], ["plan", str(path), "--provider", "local"]):
        with hang_guard(HANG_GUARD_S):
            result = cli_runner().invoke(cli, args)
        stderr = result.stderr
        where = f"cloudgd {args[0]} on {content[:300]!r}"
        assert "Traceback" not in stderr and "internal error" not in stderr, f"{where}: {stderr}"
        assert result.exception is None or isinstance(result.exception, SystemExit), where
        assert result.exit_code in (0, 2), f"{where}: exit {result.exit_code}: {stderr}"
        if result.exit_code == 2:
            lines = stderr.splitlines()
            assert lines, f"{where}: exit 2 without a message"
            for line in lines:
                assert line.startswith(("cloudgd: error: ", "hint: ")), f"{where}: {line!r}"
                assert len(line) <= MAX_LINE, f"{where}: a {len(line)}-character line"


_runner = None


def cli_runner() -> Any:
    global _runner
    if _runner is None:
        from click.testing import CliRunner

        _runner = CliRunner()
    return _runner


@pytest.fixture(scope="module", autouse=True)
def isolated_home() -> Iterator[None]:
    """Module-wide CLOUDGD_HOME (hypothesis examples share it); restored afterwards."""
    saved = os.environ.get("CLOUDGD_HOME")
    os.environ["CLOUDGD_HOME"] = str(_workdir / "home")
    yield
    if saved is None:
        os.environ.pop("CLOUDGD_HOME", None)
    else:
        os.environ["CLOUDGD_HOME"] = saved


# -- generated values --------------------------------------------------------------
FIELD_WORDS = ["name", "trainer", "model", "kind", "hidden", "optimizer", "lr", "epochs",
               "batch_size", "resources", "accelerator", "nodes", "scaling", "spot", "limits",
               "max_runtime", "max_cost_usd", "env", "secrets", "tags", "providers", "aws",
               "distributed", "image", "data", "source", "schedule"]  # fmt: skip
UNICODE = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), min_size=0, max_size=40)
huge_numbers = st.one_of(
    st.integers(min_value=-(10**400), max_value=10**400),
    st.sampled_from([2**63, -(2**63) - 1, 10**30, 10**4000, 1e308, -1e308, 5e-324]),
    st.floats(allow_nan=True, allow_infinity=True),
)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    huge_numbers,
    UNICODE,
    st.sampled_from(
        [
            "6h",
            "-5m",
            "1e999h",
            "A100:8",
            "A100:-1",
            "tpu-v5e:8",
            "none",
            "adamw",
            "digits",
            "\u202eevil",
            "x" * 5000,
            "",
            " ",
            "NaN",
            "0x10",
            "~",
            "2024-01-01",
            "!!python/object:os.system",
        ]
    ),
)


def deep(depth: int, leaf: Any, as_list: bool) -> Any:
    value = leaf
    for _ in range(depth):
        value = [value] if as_list else {"k": value}
    return value


values = st.one_of(
    scalars,
    st.recursive(
        scalars,
        lambda inner: st.one_of(
            st.lists(inner, max_size=5),
            st.dictionaries(st.one_of(st.sampled_from(FIELD_WORDS), UNICODE), inner, max_size=5),
        ),
        max_leaves=15,
    ),
    st.builds(deep, st.integers(10, 300), scalars, st.booleans()),
    st.lists(st.integers(), min_size=1000, max_size=3000),
)


@st.composite
def mutated_documents(draw: st.DrawFn) -> Any:
    """The valid example with one to three fields replaced, added or removed."""
    doc: Any = json.loads(json.dumps(VALID))
    for _ in range(draw(st.integers(1, 3))):
        node = doc
        keys = draw(st.lists(st.sampled_from(FIELD_WORDS), min_size=0, max_size=3))
        for key in keys:
            if isinstance(node, dict) and isinstance(node.get(key), dict):
                node = node[key]
        if not isinstance(node, dict):
            break
        action = draw(st.sampled_from(["set", "set", "add", "drop"]))
        key = (
            draw(st.sampled_from(sorted(node) or FIELD_WORDS))
            if action != "add"
            else (draw(st.one_of(st.sampled_from(FIELD_WORDS), UNICODE)))
        )
        if action == "drop":
            node.pop(key, None)
        else:
            node[key] = draw(values)
    if draw(st.integers(0, 9)) == 0:
        doc = draw(values)  # not even a mapping
    return doc


def dump(doc: Any, as_json: bool) -> bytes:
    if as_json:
        return json.dumps(doc, allow_nan=True, default=str).encode()
    return yaml.safe_dump(doc, allow_unicode=True, sort_keys=False, width=10**6).encode()


@campaign(400)
@given(mutated_documents(), st.booleans())
def campaign_mutated_documents_get_clean_errors(doc: Any, as_json: bool) -> None:
    COUNTS["structured"] += 1
    try:
        content = dump(doc, as_json)
    except (RecursionError, ValueError):
        return  # not representable; nothing to feed the CLI
    check_file(content, ".json" if as_json else ".yaml")


YAML_TOKENS = [":", ": ", "- ", "\n", "  ", "\t", "[", "]", "{", "}", ",", "&a ", "*a", "*b",
               "<<: *a", "#", '"', "'", "!!str ", "!!python/object:os.system ", "!!binary ",
               "? ", "---\n", "...\n", "|", ">", "%YAML 1.1\n", "!!set ", "1e999", "-1",
               "0x1f", "0o17", "yes", "on", "null", "~", "2024-01-01", "\x00", "\ufeff",
               "\x85", "\u2028", "é", "\U0001f680", "\\", "\r\n", *FIELD_WORDS]  # fmt: skip


@st.composite
def mutated_texts(draw: st.DrawFn) -> bytes:
    """The example file with random edits: tokens inserted, spans deleted, lines shuffled."""
    text = VALID_TEXT
    for _ in range(draw(st.integers(1, 6))):
        pos = draw(st.integers(0, len(text)))
        edit = draw(st.sampled_from(["insert", "insert", "delete", "line", "repeat"]))
        if edit == "insert":
            text = text[:pos] + draw(st.sampled_from(YAML_TOKENS)) + text[pos:]
        elif edit == "delete":
            text = text[:pos] + text[pos + draw(st.integers(1, 40)) :]
        elif edit == "line":
            lines = text.splitlines(keepends=True)
            i, j = draw(st.integers(0, len(lines) - 1)), draw(st.integers(0, len(lines) - 1))
            lines[i], lines[j] = lines[j], lines[i]
            text = "".join(lines)
        else:
            text = text[:pos] + text[pos : pos + 20] * draw(st.integers(2, 50)) + text[pos:]
    raw = text.encode("utf-8", errors="surrogatepass")
    return raw


@campaign(350)
@given(mutated_texts())
def campaign_mutated_texts_get_clean_errors(content: bytes) -> None:
    COUNTS["text"] += 1
    check_file(content)


@campaign(150)
@given(
    st.one_of(
        st.binary(max_size=3000),
        st.builds(lambda b: b"\xff\xfe" + b, st.binary(max_size=500)),  # UTF-16 BOM + junk
        st.builds(lambda b: VALID_TEXT.encode()[:200] + b, st.binary(min_size=1, max_size=500)),
        st.builds(lambda t: t.encode("utf-16"), st.text(max_size=200)),
    )
)
def campaign_binary_garbage_gets_clean_errors(content: bytes) -> None:
    COUNTS["binary"] += 1
    check_file(content)


def laughs(width: int, depth: int) -> str:
    """The "billion laughs": each level a list of ``width`` aliases of the one before."""
    lines = ['a0: &a0 ["lol"]']
    for level in range(1, depth + 1):
        refs = ", ".join([f"*a{level - 1}"] * width)
        lines.append(f"a{level}: &a{level} [{refs}]")
    return "name: bomb\ntrainer: {epochs: 1}\n" + "\n".join(lines) + "\n"


def merge_chain(n: int) -> str:
    lines = ["base0: &m0 {x: 1}"]
    for i in range(1, n + 1):
        lines.append(f"base{i}: &m{i} {{<<: *m{i - 1}, y{i}: {i}}}")
    return f"name: merge\ntrainer:\n  <<: *m{n}\n" + "\n".join(lines) + "\n"


aliased = st.one_of(
    st.builds(laughs, st.integers(2, 12), st.integers(1, 12)),
    st.builds(merge_chain, st.integers(1, 200)),
    st.sampled_from([
        "a: &a [*a]\n",
        "name: &n x\ntrainer: &t {epochs: *n}\n",
        "&root {name: r, trainer: *root}\n",
        "name: x\ntrainer: {<<: [*nope]}\n",
        "name: x\ntags: {k: *undefined}\n",
        "name: x\ntrainer: &t {epochs: 1}\nresources: *t\n",
    ]),
)  # fmt: skip


@campaign(100)
@given(aliased)
def campaign_anchors_aliases_and_bombs_get_clean_errors(text: str) -> None:
    COUNTS["aliases"] += 1
    check_file(text.encode())


nesting = st.one_of(
    st.builds(lambda n: ("[" * n + "]" * n).encode(), st.integers(50, 20_000)),
    st.builds(lambda n: ("{a: " * n + "1" + "}" * n).encode(), st.integers(50, 5_000)),
    st.builds(
        lambda n: (
            "name: x\ntrainer:\n" + "".join("  " * (i + 1) + f"k{i}:\n" for i in range(n))
        ).encode(),
        st.integers(50, 1_000),
    ),
    st.builds(lambda n: ("- " * n + "x\n").encode(), st.integers(50, 5_000)),
)


@campaign(50)
@given(nesting)
def campaign_deep_nesting_gets_clean_errors(content: bytes) -> None:
    COUNTS["nesting"] += 1
    check_file(content)


CAMPAIGNS = {
    "structured": (campaign_mutated_documents_get_clean_errors, 400),
    "text": (campaign_mutated_texts_get_clean_errors, 350),
    "binary": (campaign_binary_garbage_gets_clean_errors, 150),
    "aliases": (campaign_anchors_aliases_and_bombs_get_clean_errors, 100),
    "nesting": (campaign_deep_nesting_gets_clean_errors, 50),
}  # 1,050 files in all, each through validate and plan


@pytest.mark.parametrize("kind", CAMPAIGNS)
def test_bad_job_files_get_only_clean_one_line_errors(kind: str) -> None:
    run, examples = CAMPAIGNS[kind]
    before = COUNTS[kind]
    peak_before = peak_rss_mb()
    run()
    ran = COUNTS[kind] - before
    assert ran >= examples * SCALE * 0.9, f"only {ran} {kind} files were generated"
    growth = peak_rss_mb() - peak_before
    assert growth < MEMORY_GROWTH_LIMIT_MB, f"peak RSS grew by {growth:.0f} MB"


BOMB_SCRIPT = """
import resource, sys
resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))  # 1 GiB: a bomb that expands dies
from cloudgd.cli.main import main
main(sys.argv[1:])
"""


@pytest.mark.slow
@pytest.mark.parametrize(
    "name, text",
    [
        ("billion-laughs", laughs(10, 9)),
        ("wide-laughs", laughs(100, 4)),
        ("recursive-alias", "a: &a [*a]\n"),
        ("deep-flow", "[" * 100_000 + "]" * 100_000),
        ("huge-file", "name: x\n" + "# padding\n" * 300_000),
        ("huge-int", "name: x\ntrainer: {epochs: " + "9" * 100_000 + "}\n"),
    ],
    # Short ids: the texts are up to 3 MB, and pytest puts the id in PYTEST_CURRENT_TEST,
    # which the subprocess inherits (a single env string over 128 KiB fails exec).
    ids=lambda value: value if len(value) < 40 else None,
)
def test_bombs_are_refused_within_a_memory_limit(tmp_path: Path, name: str, text: str) -> None:
    path = tmp_path / f"{name}.yaml"
    path.write_text(text)
    for command in ("validate", "plan"):
        args = [command, str(path)] + (["--provider", "local"] if command == "plan" else [])
        done = subprocess.run(
            [sys.executable, "-c", BOMB_SCRIPT, *args],
            cwd=REPO,
            env={**os.environ, "PYTHONPATH": str(REPO), "CLOUDGD_HOME": str(tmp_path / "home")},
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 2, done.stderr
        assert done.stderr.startswith("cloudgd: error: "), done.stderr
        assert "Traceback" not in done.stderr
