"""Every command's failure modes end with README's exit code: 1 internal error, 2 bad spec,
flag or argument, 3 provider or API error, 4 job failed, 124 wait timed out, 130 interrupted.

Each row is one command line as a user would type it, against the fake providers; the
stderr is one ``cloudgd: error:`` line (plus a hint), never a traceback.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cloudgd import registry
from cloudgd.cli.main import COMMANDS
from tests.cli.conftest import DIGITS, Invoke

README = Path(__file__).resolve().parents[2] / "README.md"
GOOD = ("--set", "env.FAKE_OUTCOME=SUCCEEDED")
FAST = ("--poll", "0.01")


def _submitted(invoke: Invoke, outcome: str) -> str:
    result = invoke("-o", "json", "submit", DIGITS, "-p", "fake", "--set",
                    f"env.FAKE_OUTCOME={outcome}")  # fmt: skip
    assert result.exit_code == 0, result.stderr
    return str(json.loads(result.stdout)["handle"])


# (command line, exit code); "{FAILED}" etc. stand for a fake job's handle with that fate.
CASES: list[tuple[tuple[str, ...], int]] = [
    (("validate", DIGITS), 0),
    (("validate", "no-such.yaml"), 2),
    (("validate", DIGITS, "--set", "trainer.epochs=-1"), 2),
    (("schema", "--bogus"), 2),
    (("plan", DIGITS, "-p", "nope"), 2),
    (("plan", DIGITS, "-p", "fake", "--set", "trainer.epoch=1"), 2),
    (("plan", DIGITS, "-p", "fake", "--backend", "moto"), 2),
    (("plan", DIGITS, "-p", "needs-sdk"), 3),
    (("cost", DIGITS, "--provider", "nope"), 2),
    (("submit", DIGITS, "-p", "fake", "--min-metric", "val_loss=1"), 2),
    (("submit", DIGITS, "-p", "fake", "--set", "env.FAKE_OUTCOME=REFUSE"), 3),
    (("submit", DIGITS, "-p", "fake", "--set", "env.FAKE_OUTCOME=CRASH"), 1),
    (("submit", DIGITS, "-p", "fake", "--set", "env.FAKE_OUTCOME=INTERRUPT"), 130),
    (("submit", DIGITS, "-p", "fake", "--wait", "--poll", "0.01", *GOOD), 0),
    (("submit", DIGITS, "-p", "fake", "--wait", *FAST, "--set", "env.FAKE_OUTCOME=FAILED"), 4),
    (("submit", DIGITS, "-p", "fake", "--wait", *FAST, "--max-metric", "val_loss=0.1", *GOOD), 4),
    (("tune", DIGITS, "-p", "fake", "--dry-run"), 2),
    (("status", "not a handle"), 2),
    (("status", "fake://zone-1/no-such-job"), 3),
    (("logs", "fake://zone-1/no-such-job"), 3),
    (("wait", "{FOREVER}", "--timeout", "soon"), 2),
    (("wait", "{FOREVER}", "--timeout", "0s", "--poll", "0.01"), 124),
    (("wait", "{FAILED}", "--poll", "0.01"), 4),
    (("wait", "{SUCCEEDED}", "--poll", "0.01", "--min-metric", "val_loss=0.5"), 4),
    (("cancel", "fake://zone-1/no-such-job"), 3),
    (("download", "{SUCCEEDED}"), 3),
    (("download", "local:///no/such/run"), 3),
    (("report", "{SUCCEEDED}"), 3),
    (("report", "a", "b"), 2),
    (("list", "-p", "nope"), 2),
    (("list", "-p", "fake", "--since", "yesterday-ish"), 2),
    (("list", "-p", "fake", "--backend", "moto"), 2),
    (("providers", "extra"), 2),
    (("catalog", "--provider", "nope"), 2),
    (("config", "from-terraform", "no-such-dir"), 2),
    (("completion", "tcsh"), 2),
    (("servers", "stop", "no-such-backend"), 2),
    (("data", "upload", "no-such-path", "s3://bucket/data/"), 2),
    (("init", DIGITS), 2),  # exists: init never overwrites without --force
    (("no-such-command",), 2),
]


@pytest.fixture(autouse=True)
def provider_without_its_sdk(monkeypatch: pytest.MonkeyPatch) -> None:
    info = registry.ProviderInfo(
        "needs-sdk", "tests.cli.fakes:FakeProvider", "nope", ("no_such_sdk_module",), "needs one"
    )
    monkeypatch.setitem(registry.BUILTINS, "needs-sdk", info)


@pytest.mark.parametrize(("args", "code"), CASES, ids=[" ".join(a)[:60] for a, _ in CASES])
def test_each_failure_ends_with_the_readme_exit_code(
    invoke: Invoke, args: tuple[str, ...], code: int
) -> None:
    fates = {f"{{{fate}}}": fate for fate in ("SUCCEEDED", "FAILED", "FOREVER")}
    line = [_submitted(invoke, fates[arg]) if arg in fates else arg for arg in args]
    result = invoke(*line)
    assert result.exit_code == code, result.stderr
    assert "Traceback" not in result.stderr
    if code in (2, 3, 4, 124):
        assert result.stderr.count("cloudgd: error: ") == 1, result.stderr


def test_every_command_has_a_failure_mode_in_the_table() -> None:
    tested = {args[0] for args, code in CASES if code != 0}
    assert set(COMMANDS) - tested == set()


def test_the_readme_defines_each_code_the_table_uses() -> None:
    text = README.read_text(encoding="utf-8")
    for code in sorted({code for _, code in CASES}):
        assert f"`{code}`" in text, f"README does not define exit code {code}"
