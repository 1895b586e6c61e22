"""Options shared by several commands, and the per-invocation settings.

Only click is imported here: command modules import this at the top, and
``cloudgd --help`` imports every command module.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import click

F = TypeVar("F", bound=Callable[..., Any])


@dataclass
class Settings:
    """Global options (``--output``, ``--debug``, ``-v``, ``-q``); filled in by callbacks."""

    output: str = "text"
    debug: bool = False
    verbose: int = 0
    quiet: bool = False
    allow_remote_endpoint: bool = False

    @property
    def json(self) -> bool:
        return self.output == "json"


def settings() -> Settings:
    """The current invocation's settings (defaults outside a command, e.g. from Python)."""
    ctx = click.get_current_context(silent=True)
    found = ctx.find_object(Settings) if ctx is not None else None
    return found if found is not None else Settings()


def _compose(*decorators: Callable[[F], F]) -> Callable[[F], F]:
    def apply(func: F) -> F:
        for decorator in reversed(decorators):
            func = decorator(func)
        return func

    return apply


def _output_here(ctx: click.Context, _param: click.Parameter, value: str | None) -> None:
    if value is not None:
        ctx.ensure_object(Settings).output = value


output_option = click.option(
    "--output",
    "-o",
    type=click.Choice(["text", "json"]),
    default=None,
    expose_value=False,
    callback=_output_here,
    help="Same as the global option: json prints one JSON document on stdout.",
)


def _allow_remote_here(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    if value:
        ctx.ensure_object(Settings).allow_remote_endpoint = True


remote_endpoint_option = click.option(
    "--allow-remote-endpoint",
    is_flag=True,
    expose_value=False,
    callback=_allow_remote_here,
    help="Follow a handle whose endpoint= is not on this machine (rehearsal credentials "
    "and tokens are sent there); by default only loopback endpoints are followed.",
)

handle_argument = _compose(click.argument("handle", metavar="HANDLE"), remote_endpoint_option)

spec_file = click.argument("file", metavar="FILE", type=click.Path(dir_okay=True, allow_dash=True))

set_option = click.option(
    "--set",
    "overrides",
    metavar="PATH=VALUE",
    multiple=True,
    help="Override a spec field, e.g. --set trainer.epochs=5 (repeatable; value read as YAML).",
)

provider_option = click.option(
    "--provider",
    "-p",
    required=True,
    metavar="NAME",
    help="Where to run: local, aws, gcp, azure, or a plug-in (see `cloudgd providers`).",
)

idempotency_option = click.option(
    "--idempotency-key",
    metavar="KEY",
    envvar="CLOUDGD_IDEMPOTENCY_KEY",
    default=None,
    help="Mixed into the job name so re-runs attach to the same job. Default in CI: "
    "commit-run-attempt (GitHub: $GITHUB_SHA-$GITHUB_RUN_ID-$GITHUB_RUN_ATTEMPT). "
    "Pass '' for none.",
)

backend_options = _compose(
    click.option(
        "--backend",
        default="cloud",
        show_default=True,
        metavar="NAME",
        help="cloud, or a rehearsal backend that needs no account: moto (aws), fake (gcp, azure).",
    ),
    click.option(
        "--endpoint",
        metavar="URL",
        default=None,
        help="Use this backend server instead of starting or finding one.",
    ),
)

poll_option = click.option(
    "--poll",
    type=click.FloatRange(min=0.01),
    default=None,
    metavar="SECONDS",
    help="Seconds between status checks (default: 1 for local jobs, 10 for clouds).",
)

planning_options = _compose(
    spec_file, provider_option, set_option, idempotency_option, output_option
)

gate_options = _compose(
    click.option(
        "--min-metric",
        "min_metrics",
        metavar="NAME=VALUE",
        multiple=True,
        help="Exit 4 unless the finished job's NAME is at least VALUE, "
        "e.g. val_accuracy=0.95 (repeatable).",
    ),
    click.option(
        "--max-metric",
        "max_metrics",
        metavar="NAME=VALUE",
        multiple=True,
        help="Exit 4 unless the finished job's NAME is at most VALUE, "
        "e.g. val_loss=0.3 (repeatable).",
    ),
)


def verbose_callback(ctx: click.Context, _param: click.Parameter, value: int) -> None:
    """``-v``: count it into the settings and show log records at that level."""
    if value:
        chosen = ctx.ensure_object(Settings)
        chosen.verbose += value
        from cloudgd.cli.verbosity import show_logs

        show_logs(chosen.verbose)


def quiet_callback(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    """``-q``: progress lines off."""
    if value:
        ctx.ensure_object(Settings).quiet = True


def verbosity_params() -> list[click.Parameter]:
    """``-v/--verbose`` (repeatable) and ``-q/--quiet``: new instances for one command.

    The group adds them to every command, so they work before or after its name.
    """
    return [
        click.Option(
            ["-v", "--verbose"],
            count=True,
            expose_value=False,
            callback=verbose_callback,
            help="More detail on stderr: -v what cloudgd does, -vv debug, -vvv the cloud SDKs too.",
        ),
        click.Option(
            ["-q", "--quiet"],
            is_flag=True,
            expose_value=False,
            callback=quiet_callback,
            help="Only results and errors: no progress lines on stderr.",
        ),
    ]
