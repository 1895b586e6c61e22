"""The ``cloudgd`` command: a lazy click group and the one error boundary.

Commands live one per module and load on demand, so ``cloudgd --help`` and
``cloudgd plan`` import no cloud SDK and no torch. To add a command, add one line
to COMMANDS: ``"name": "module:attribute"`` naming a ``click.Command``.

Exit codes: 0 ok, 1 internal error, 2 bad spec/flag/argument, 3 provider or API
error, 4 job failed or was cancelled, 124 ``wait --timeout`` expired, 130 interrupted.
"""

from __future__ import annotations

import difflib
import errno
import importlib
import os
import sys
import traceback
from collections.abc import Sequence
from typing import Any, NoReturn

import click

from cloudgd import __version__
from cloudgd.cli.options import Settings, quiet_callback, verbose_callback, verbosity_params
from cloudgd.errors import CloudgdError

# Order is the order `cloudgd --help` lists them: the loop first, then job commands.
COMMANDS: dict[str, str] = {
    "init": "cloudgd.cli.init:command",
    "validate": "cloudgd.cli.validate:command",
    "schema": "cloudgd.cli.schema:command",
    "plan": "cloudgd.cli.plan:command",
    "cost": "cloudgd.cli.cost:command",
    "submit": "cloudgd.cli.submit:command",
    "tune": "cloudgd.cli.tune:command",
    "status": "cloudgd.cli.status:command",
    "logs": "cloudgd.cli.logs:command",
    "wait": "cloudgd.cli.wait:command",
    "cancel": "cloudgd.cli.cancel:command",
    "download": "cloudgd.cli.download:command",
    "report": "cloudgd.cli.report:command",
    "list": "cloudgd.cli.list_jobs:command",
    "providers": "cloudgd.cli.providers_list:command",
    "catalog": "cloudgd.cli.catalog:command",
    "config": "cloudgd.cli.config:command",
    "data": "cloudgd.cli.data:command",
    "completion": "cloudgd.cli.completion:command",
    "servers": "cloudgd.cli.servers:command",
}

EXIT_INTERRUPTED = 130
EXIT_ENVIRONMENT = 2  # a path the user chose cannot be written: theirs to fix, like bad input
_ENVIRONMENT_ERRNOS = frozenset(
    {errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM, errno.ENAMETOOLONG}
)


def _error(line: str) -> None:
    click.echo(click.style("cloudgd: error: ", fg="red", bold=True) + line, err=True)


def _hint(line: str) -> None:
    click.echo(click.style("hint: ", fg="yellow") + line, err=True)


class CloudgdGroup(click.Group):
    """A click group that imports commands on demand and owns the error boundary."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return [*COMMANDS, *(name for name in super().list_commands(ctx) if name not in COMMANDS)]

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = COMMANDS.get(cmd_name)
        if target is None:
            return super().get_command(ctx, cmd_name)
        module_name, _, attribute = target.partition(":")
        command = getattr(importlib.import_module(module_name), attribute)
        if not isinstance(command, click.Command):
            raise TypeError(f"{target} is not a click command")
        return with_verbosity(command)

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        name = args[0]
        if not name.startswith("-") and self.get_command(ctx, name) is None:
            close = difflib.get_close_matches(name, self.list_commands(ctx), n=1)
            tip = f"; did you mean {close[0]!r}?" if close else ""
            raise click.UsageError(f"no such command {name!r}{tip}", ctx)
        return super().resolve_command(ctx, args)

    def main(  # type: ignore[override]
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        """Run the command; map every failure to one message and an exit code.

        (A closed stdout pipe, ``cloudgd logs H | head``, click itself ends quietly, exit 1.)
        """
        settings = extra.setdefault("obj", Settings())
        try:
            result = super().main(
                args, prog_name or "cloudgd", complete_var, standalone_mode=False, **extra
            )
            code = result if isinstance(result, int) else 0
        except BaseException as error:  # the boundary: everything ends here, once
            code = report(error, debug=settings.debug or bool(os.environ.get("CLOUDGD_DEBUG")))
        finally:
            from cloudgd.cli.verbosity import reset

            reset()
        if standalone_mode:
            sys.exit(code)
        return code


def with_verbosity(command: click.Command) -> click.Command:
    """``command`` (and a group's subcommands) taking ``-v``/``-q`` after its name too."""
    if not any(param.name == "verbose" for param in command.params):
        command.params.extend(verbosity_params())
    if isinstance(command, click.Group):
        for sub in command.commands.values():
            with_verbosity(sub)
    return command


def report(error: BaseException, *, debug: bool) -> int:
    """Print ``error`` the way users should see it; return the exit code."""
    if isinstance(error, SystemExit):
        if error.code is None or isinstance(error.code, int):
            return error.code or 0
        click.echo(str(error.code), err=True)
        return 1
    if isinstance(error, click.Abort | KeyboardInterrupt):
        click.echo("cloudgd: interrupted", err=True)
        return EXIT_INTERRUPTED
    if debug:
        traceback.print_exception(error, file=sys.stderr)
    if isinstance(error, CloudgdError):
        for line in error.lines():
            _error(line)
        if error.hint:
            _hint(error.hint)
        return error.exit_code
    if isinstance(error, OSError) and error.errno in _ENVIRONMENT_ERRNOS:
        # the machine, not cloudgd: a full disk, a read-only or forbidden path
        where = f": {error.filename}" if error.filename else ""
        _error(f"{error.strerror or error}{where}")
        _hint("free space or fix the permissions there (CLOUDGD_HOME, the runs dir, --out)")
        return EXIT_ENVIRONMENT
    if isinstance(error, click.ClickException):
        _error(error.format_message())
        if isinstance(error, click.UsageError) and error.ctx is not None:
            _hint(f"see '{error.ctx.command_path} --help'")
        return error.exit_code
    if not isinstance(error, Exception):
        raise error
    message = f"{type(error).__name__}: {error}".rstrip(": ")
    click.echo(
        click.style("cloudgd: internal error: ", fg="red", bold=True)
        + message
        + ("" if debug else " (run with --debug for the traceback)"),
        err=True,
    )
    return 1


@click.group(
    name="cloudgd",
    cls=CloudgdGroup,
    invoke_without_command=True,
    context_settings={"help_option_names": ["-h", "--help"]},
)
@click.option(
    "--output",
    "-o",
    type=click.Choice(["text", "json"]),
    default="text",
    envvar="CLOUDGD_OUTPUT",
    show_default=True,
    help="json: plan, submit, status, list, cost and download print exactly one JSON document "
    "on stdout.",
)
@click.option("--debug", is_flag=True, help="Show tracebacks for errors.")
@click.option(
    "-v",
    "--verbose",
    count=True,
    expose_value=False,
    callback=verbose_callback,
    help="More detail on stderr (repeatable: -vv debug, -vvv the cloud SDKs too). "
    "Also accepted after the command name.",
)
@click.option(
    "-q",
    "--quiet",
    is_flag=True,
    expose_value=False,
    callback=quiet_callback,
    help="Only results and errors: no progress lines on stderr. Also after the command name.",
)
@click.version_option(__version__, "--version", prog_name="cloudgd")
@click.pass_context
def cli(ctx: click.Context, output: str, debug: bool) -> None:
    """cloudgd: one job spec for gradient-descent training on SageMaker, Vertex AI,
    Azure ML, or this machine.

    \b
    The loop:  cloudgd init → validate job.yaml → plan job.yaml -p aws
               → cost job.yaml → submit job.yaml -p aws --wait → logs HANDLE
    """
    settings = ctx.ensure_object(Settings)
    settings.output = output
    settings.debug = debug
    if ctx.invoked_subcommand is None:
        click.echo(ctx.get_help())


def main(argv: Sequence[str] | None = None) -> NoReturn:
    """Console-script entry point."""
    cli.main(args=argv, prog_name="cloudgd")
    raise SystemExit(0)  # cli.main exits itself; this keeps type checkers honest
