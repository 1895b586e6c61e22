"""``cloudgd completion bash|zsh|fish``: the shell's tab-completion script, on stdout."""

from __future__ import annotations

import click

SHELLS = ("bash", "zsh", "fish")
COMPLETE_VAR = "_CLOUDGD_COMPLETE"  # click's variable for the cloudgd program


@click.command()
@click.argument("shell", type=click.Choice(SHELLS))
def command(shell: str) -> None:
    """Print the tab-completion script for SHELL.

    \b
    bash:  cloudgd completion bash > ~/.local/share/bash-completion/completions/cloudgd
    zsh:   cloudgd completion zsh > "${fpath[1]}/_cloudgd"
    fish:  cloudgd completion fish > ~/.config/fish/completions/cloudgd.fish

    Or load it for this shell only: eval "$(cloudgd completion bash)".
    Commands, options, choices (providers' --backend, --state, ...) and file names complete.
    """
    from click.shell_completion import get_completion_class

    from cloudgd.cli.main import cli

    completion = get_completion_class(shell)
    if completion is None:  # click ships all three; a broken install lacks one
        raise click.UsageError(f"no completion support for {shell} in this click")
    click.echo(completion(cli, {}, "cloudgd", COMPLETE_VAR).source())
