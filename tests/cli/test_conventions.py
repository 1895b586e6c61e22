"""CLI conventions: -v/--verbose and -q/--quiet on every command (before or after its name),
and `cloudgd completion bash|zsh|fish`."""

from __future__ import annotations

import logging

import pytest
from click.testing import CliRunner

from cloudgd.cli.main import COMMANDS, cli
from tests.cli.conftest import DIGITS, Invoke

SUBMIT = ("submit", DIGITS, "-p", "fake")


@pytest.mark.parametrize("name", list(COMMANDS))
def test_every_command_takes_verbose_and_quiet(invoke: Invoke, name: str) -> None:
    result = invoke(name, "--help")
    assert result.exit_code == 0
    assert "-v, --verbose" in result.stdout and "-q, --quiet" in result.stdout


def test_a_group_command_passes_them_to_its_subcommands(invoke: Invoke) -> None:
    assert "-q, --quiet" in invoke("config", "from-terraform", "--help").stdout


@pytest.mark.parametrize("where", ["before", "after"])
def test_quiet_keeps_only_the_result(invoke: Invoke, where: str) -> None:
    loud = invoke(*SUBMIT)
    assert "submitted digits-mlp" in loud.stderr and "follow it:" in loud.stderr
    args = ("-q", *SUBMIT) if where == "before" else (*SUBMIT, "--quiet")
    quiet = invoke(*args)
    assert quiet.exit_code == 0
    assert quiet.stderr == ""
    assert quiet.stdout == loud.stdout  # the handle, as before


def test_quiet_still_shows_errors(invoke: Invoke) -> None:
    result = invoke(*SUBMIT, "-q", "--set", "env.FAKE_OUTCOME=REFUSE")
    assert result.exit_code == 3
    assert "cloudgd: error: fake cloud refused the job" in result.stderr


@pytest.mark.parametrize("where", ["before", "after"])
def test_verbose_shows_what_cloudgd_does(invoke: Invoke, where: str) -> None:
    args = ("-v", *SUBMIT) if where == "before" else (*SUBMIT, "--verbose")
    result = invoke(*args)
    assert result.exit_code == 0
    assert "cloudgd: INFO cloudgd.runner: planning" in result.stderr
    assert "cloudgd: INFO cloudgd.runner: submitting digits-mlp-" in result.stderr
    assert "DEBUG" not in result.stderr
    assert "cloudgd.runner" not in invoke(*SUBMIT).stderr  # and only when asked


def test_verbosity_is_undone_when_the_command_ends(invoke: Invoke) -> None:
    def state() -> list[tuple[int, list[logging.Handler], bool]]:
        loggers = [logging.getLogger(name) for name in ("cloudgd", "providers", None)]
        return [(log.level, list(log.handlers), log.propagate) for log in loggers]

    before = state()
    assert "INFO cloudgd.runner: listing" in invoke("-vvv", "list", "-p", "fake").stderr
    assert state() == before


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_completion_prints_the_shells_script(invoke: Invoke, shell: str) -> None:
    result = invoke("completion", shell)
    assert result.exit_code == 0
    assert "_CLOUDGD_COMPLETE" in result.stdout
    assert f"{shell}_complete" in result.stdout


def test_the_script_completes_commands_and_choices() -> None:
    def complete(words: str) -> str:
        env = {
            "_CLOUDGD_COMPLETE": "bash_complete",
            "COMP_WORDS": words,
            "COMP_CWORD": str(len(words.split()) - 1),
        }
        return CliRunner().invoke(cli, [], env=env, prog_name="cloudgd").stdout

    assert "plain,submit" in complete("cloudgd sub")
    assert "plain,download" in complete("cloudgd down")
    assert "plain,zsh" in complete("cloudgd completion z")
