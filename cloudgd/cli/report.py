"""``cloudgd report HANDLE`` / ``cloudgd report --compare H1 H2 ...``: curves and a summary."""

from __future__ import annotations

import click

from cloudgd.cli.options import output_option, remote_endpoint_option, set_option


@click.command()
@output_option
@click.argument("handles", nargs=-1, required=True, metavar="HANDLE...")
@remote_endpoint_option
@click.option("--compare", is_flag=True, help="Overlay several runs in one figure and one table.")
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False),
    default="reports",
    show_default=True,
    help="Directory for the PNG and the Markdown.",
)
@click.option(
    "--spec",
    "spec_file",
    type=click.Path(dir_okay=False),
    default=None,
    help="The job file the run(s) came from: prices the run and names it in the report.",
)
@set_option
@click.option("--name", "stem", default=None, help="File name stem (default: the job name).")
def command(
    handles: tuple[str, ...],
    compare: bool,
    out_dir: str,
    spec_file: str | None,
    overrides: tuple[str, ...],
    stem: str | None,
) -> None:
    """Write a job's training curves and summary (PNG + Markdown).

    The summary has final and best metrics, duration, cost (estimated, and billed where
    the provider reports it) and carbon. Cloud jobs' metrics files are fetched from
    their output location.

    \b
    cloudgd report local:///home/me/.cloudgd/runs/digits-mlp-3f2a9c1d
    cloudgd report aws://us-east-1/digits-mlp-3f2a9c1d --spec job.yaml
    cloudgd report --compare HANDLE_SGD HANDLE_ADAM --out reports/
    cloudgd report 'local:///home/me/.cloudgd/runs/studies/digits-tune-05192779?kind=tuning'

    A tuning study's handle reports its best finished trials (up to 8), compared.
    """
    from pathlib import Path

    from cloudgd.cli.handles import open_handle
    from cloudgd.cli.options import settings
    from cloudgd.cli.output import emit_json, note
    from cloudgd.errors import UsageError
    from cloudgd.report.build import collect, write_report

    expanded, study = _expand_study(handles)
    if study is not None:
        handles, compare, stem = expanded, len(expanded) > 1, stem or study
    if len(handles) > 1 and not compare:
        raise UsageError(
            f"{len(handles)} handles given without --compare",
            hint="report one HANDLE, or overlay several with --compare H1 H2 ...",
        )
    if compare and len(handles) < 2:
        raise UsageError("--compare needs at least two handles")
    spec = None
    if spec_file is not None:
        from cloudgd.loader import load_spec

        spec = load_spec(spec_file, overrides, preflight=False).spec
    elif overrides:
        raise UsageError("--set applies to --spec; give the job file too")
    from cloudgd.report.runfiles import NoMetricsError

    reports = []
    for text in handles:
        provider, handle = open_handle(text)
        try:
            reports.append(collect(provider, handle, spec=spec))
        except NoMetricsError as missing:
            if study is None:
                raise
            note(f"skipped {text}: {missing}")  # a study's trial that logged nothing
    if not reports:
        raise NoMetricsError(f"no trial of study {study} has metrics files to report on")
    try:
        files = write_report(reports, Path(out_dir), stem=stem)
    except OSError as error:
        raise UsageError(
            f"--out {out_dir}: cannot write the report: {error.strerror or error}",
            hint="choose a writable directory",
        ) from None
    if settings().json:
        emit_json(
            {
                "figure": str(files.figure),
                "markdown": str(files.markdown),
                "runs": [
                    {"handle": r.handle, "job": r.run.label, "state": r.state} for r in reports
                ],
            }
        )
        return
    note(f"report for {', '.join(r.run.label for r in reports)}:")
    click.echo(str(files.figure))
    click.echo(str(files.markdown))


def _expand_study(handles: tuple[str, ...]) -> tuple[tuple[str, ...], str | None]:
    """One study handle stands for its best finished trials, compared in one report:
    (their handles, the study's name); anything else is returned as it is, with None."""
    from cloudgd.cli.handles import open_handle
    from cloudgd.cli.output import note
    from cloudgd.errors import UsageError
    from cloudgd.tuning.handle import is_tuning
    from cloudgd.tuning.trials import trial_handles

    if len(handles) != 1:
        return handles, None
    provider, handle = open_handle(handles[0])
    if not is_tuning(handle):
        return handles, None
    study = provider.status(handle)
    trials = trial_handles(study)
    if not trials:
        raise UsageError(
            f"study {study.name} has no finished trial to report on yet",
            hint=f"see `cloudgd status '{handle}'`",
        )
    note(f"study {study.name}: comparing its {len(trials)} best finished trial(s)")
    return tuple(trials), study.name
