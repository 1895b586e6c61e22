"""``cloudgd schema``: the JSON Schema of job specs, for editors and CI checks."""

from __future__ import annotations

from typing import Any

import click

DIALECT = "https://json-schema.org/draft/2020-12/schema"


def job_schema() -> dict[str, Any]:
    """JobSpec's JSON Schema (draft 2020-12), as pydantic validates it."""
    from cloudgd.spec import JobSpec

    return {"$schema": DIALECT, **JobSpec.model_json_schema(mode="validation")}


@click.command()
def command() -> None:
    """Print the job spec JSON Schema for editors and CI."""
    import json

    click.echo(json.dumps(job_schema(), indent=2, sort_keys=True))
