"""``cloudgd config``: provider settings, filled from Terraform outputs.

``cloudgd config from-terraform terraform/examples/aws`` runs ``terraform output
-json`` in that directory (or reads a saved JSON file) and prints the
``providers.aws`` block for a job spec, or, with ``--format user``, merges it into
``$CLOUDGD_HOME/config.yaml``, which ``submit`` applies under every job spec.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import click

from cloudgd import tfconfig
from cloudgd.cli.outfile import write_user_file
from cloudgd.errors import UsageError

TERRAFORM_TIMEOUT_S = 120


@click.group(name="config")
def command() -> None:
    """Provider settings: fill them from Terraform outputs."""


@command.command(name="from-terraform")
@click.argument("path", type=click.Path(exists=True, path_type=Path))
@click.option(
    "--provider",
    metavar="NAME",
    default=None,
    # Not a click.Choice: the providers with a Terraform module are known only by
    # importing them, which `cloudgd --help` must not pay for.
    help="Which providers.<name> block the outputs fill: a provider with a Terraform module "
    "(aws, gcp, azure, or a plug-in's); default: the cloudgd_provider output, else guessed "
    "from the output names.",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["spec", "user"]),
    default="spec",
    show_default=True,
    help="spec: the providers block for a job spec; user: merge into the user config "
    "that submit applies to every job.",
)
@click.option(
    "--output-file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write here (spec: default stdout; user: default $CLOUDGD_HOME/config.yaml).",
)
@click.option(
    "--force", is_flag=True, help="With --format spec, overwrite an existing --output-file."
)
@click.option(
    "--terraform",
    "terraform_bin",
    default="terraform",
    show_default=True,
    envvar="CLOUDGD_TERRAFORM",
    help="Terraform or OpenTofu binary that reads a directory's outputs ($CLOUDGD_TERRAFORM).",
)
def from_terraform(
    path: Path,
    provider: str | None,
    fmt: str,
    output_file: Path | None,
    force: bool,
    terraform_bin: str,
) -> None:
    """Write provider settings from the outputs of a Terraform module in PATH.

    PATH is a directory where `terraform apply` ran (its outputs are read with
    `terraform output -json`) or a file holding that command's JSON.
    """
    source = str(path)
    text = _read_saved_outputs(path) if path.is_file() else _terraform_output(path, terraform_bin)
    outputs = tfconfig.parse_outputs(text, source=source)
    cloud = tfconfig.detect_provider(outputs, provider, source=source)
    block = tfconfig.block_from_outputs(outputs, cloud, source=source)

    if fmt == "spec":
        rendered = tfconfig.render_spec_block(block)
        if output_file is None:
            click.echo(rendered, nl=False)
        else:
            if output_file.exists() and not force:
                raise UsageError(
                    f"--output-file {output_file}: exists",
                    hint="pass --force to overwrite it, or paste the block printed without "
                    "--output-file into your job spec",
                )
            write_user_file(output_file, rendered, flag="--output-file", make_parents=True)
            click.echo(f"wrote providers.{cloud} to {output_file}", err=True)
    else:
        target = output_file or tfconfig.user_config_path()
        existing = (
            tfconfig.parse_user_config(target.read_text(encoding="utf-8"), source=str(target))
            if target.is_file()
            else None
        )
        document = tfconfig.merge_user_config(existing, block, source=str(target))
        rendered = tfconfig.render_user_config(document)
        write_user_file(target, rendered, flag="--output-file", make_parents=True)
        fields = ", ".join(block.values)
        click.echo(f"updated providers.{cloud} in {target}: {fields}", err=True)

    if block.ignored:
        click.echo(f"not providers.{cloud} fields, left out: {', '.join(block.ignored)}", err=True)


def _read_saved_outputs(path: Path) -> str:
    from cloudgd.loader import read_capped

    try:
        return read_capped(path, str(path)).decode("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"{path}: cannot read ({exc})") from None


def _terraform_output(directory: Path, terraform_bin: str) -> str:
    """stdout of `terraform output -json` run in ``directory``."""
    argv = [terraform_bin, f"-chdir={directory}", "output", "-json", "-no-color"]
    env = {**os.environ, "TF_IN_AUTOMATION": "1", "TF_INPUT": "0"}
    try:
        result = subprocess.run(
            argv,
            capture_output=True,
            text=True,
            env=env,
            timeout=TERRAFORM_TIMEOUT_S,
            check=False,
        )
    except FileNotFoundError:
        raise UsageError(
            f"{terraform_bin}: not found, cannot read the outputs of {directory}",
            hint="install Terraform (or pass --terraform tofu), or pass a file saved with "
            "`terraform output -json > outputs.json` where Terraform runs",
        ) from None
    except subprocess.TimeoutExpired:
        raise UsageError(
            f"{directory}: `terraform output` did not finish in {TERRAFORM_TIMEOUT_S}s",
            hint="check the state backend is reachable, or pass a saved outputs JSON file",
        ) from None
    if result.returncode != 0:
        detail = next(
            (line.strip(" │╷╵") for line in result.stderr.splitlines() if "Error" in line),
            result.stderr.strip().splitlines()[-1] if result.stderr.strip() else "no details",
        )
        raise UsageError(
            f"{directory}: `terraform output -json` failed: {detail}",
            hint="run `terraform init` and `terraform apply` in that directory first",
        )
    return result.stdout
