"""The one error boundary: one line + hint, distinct exit codes, no tracebacks unless asked."""

from __future__ import annotations

import pytest

from cloudgd import registry
from tests.cli.conftest import DIGITS, Invoke


def outcome(value: str) -> tuple[str, ...]:
    return ("submit", DIGITS, "-p", "fake", "--set", f"env.FAKE_OUTCOME={value}")


def test_provider_error_exits_3_with_message_and_hint(invoke: Invoke) -> None:
    result = invoke(*outcome("REFUSE"))
    assert result.exit_code == 3
    assert result.stderr == "cloudgd: error: fake cloud refused the job\nhint: it always does\n"


def test_unexpected_exception_is_an_internal_error_without_traceback(invoke: Invoke) -> None:
    result = invoke(*outcome("CRASH"))
    assert result.exit_code == 1
    assert result.stderr == (
        "cloudgd: internal error: RuntimeError: boom (run with --debug for the traceback)\n"
    )


def test_debug_shows_the_traceback(invoke: Invoke) -> None:
    result = invoke("--debug", *outcome("CRASH"))
    assert result.exit_code == 1
    assert "Traceback (most recent call last)" in result.stderr
    assert result.stderr.rstrip().endswith("cloudgd: internal error: RuntimeError: boom")


def test_debug_from_the_environment(invoke: Invoke, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLOUDGD_DEBUG", "1")
    assert "Traceback" in invoke(*outcome("CRASH")).stderr


def test_keyboard_interrupt_exits_130(invoke: Invoke) -> None:
    result = invoke(*outcome("INTERRUPT"))
    assert result.exit_code == 130
    assert "cloudgd: interrupted" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_provider_that_fails_to_import_exits_3(
    invoke: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(
        registry.BUILTINS,
        "broken",
        registry.ProviderInfo("broken", "tests.cli.no_such_module:P", None, (), "broken plug-in"),
    )
    result = invoke("plan", DIGITS, "-p", "broken")
    assert result.exit_code == 3
    assert (
        "cloudgd: error: provider 'broken' could not be loaded from tests.cli.no_such_module:P: "
        "No module named 'tests.cli.no_such_module'"
    ) in result.stderr


def test_unknown_command_suggests_the_closest(invoke: Invoke) -> None:
    result = invoke("sumbit")
    assert result.exit_code == 2
    assert "cloudgd: error: no such command 'sumbit'; did you mean 'submit'?" in result.stderr


def test_bad_option_is_a_usage_error_with_a_help_hint(invoke: Invoke) -> None:
    result = invoke("plan", DIGITS)
    assert result.exit_code == 2
    assert "cloudgd: error: Missing option '--provider'" in result.stderr
    assert "hint: see 'cloudgd plan --help'" in result.stderr


def test_help_lists_every_command_with_its_one_line_help(invoke: Invoke) -> None:
    from cloudgd.cli.main import COMMANDS

    result = invoke("--help")
    assert result.exit_code == 0
    listed = result.stdout.split("Commands:")[1].splitlines()
    names = [line.split()[0] for line in listed if line.strip()]
    assert names == list(COMMANDS)
    assert all(len(line.split()) > 2 for line in listed if line.strip())


def test_no_arguments_prints_help_and_exits_0(invoke: Invoke) -> None:
    result = invoke()
    assert result.exit_code == 0
    assert "Commands:" in result.stdout


def test_version(invoke: Invoke) -> None:
    from cloudgd import __version__

    assert invoke("--version").stdout.strip() == f"cloudgd, version {__version__}"
