"""The jobs cloudgd created in one region: a SageMaker List call, filtered by tag.

Training and tuning jobs are listed the same way (newest first, optionally by name
prefix); SageMaker's List calls return no tags, so each candidate's tags are read
and only those carrying cloudgd's ``cloudgd:spec-hash`` are kept.
"""

from __future__ import annotations

from typing import Any

from providers.aws.client import Connection, sdk_errors

LIST_LIMIT = 100
CLOUDGD_TAG = "cloudgd:spec-hash"


def cloudgd_summaries(
    sagemaker: Any,
    conn: Connection,
    *,
    what: str,
    call: str,
    result_key: str,
    name_key: str,
    arn_key: str,
    prefix: str | None,
) -> list[tuple[dict[str, Any], list[dict[str, str]]]]:
    """(summary, tags) of each job ``call`` lists that cloudgd created, newest first;
    ``what`` names them in errors ("training jobs")."""
    kwargs: dict[str, Any] = {
        "SortBy": "CreationTime",
        "SortOrder": "Descending",
        "MaxResults": LIST_LIMIT,
    }
    if prefix:
        kwargs["NameContains"] = prefix
    with sdk_errors(f"listing {what}", conn):
        summaries = getattr(sagemaker, call)(**kwargs)[result_key]
    found = []
    for summary in summaries:
        name = summary[name_key]
        if prefix and not name.startswith(prefix):
            continue
        with sdk_errors(f"reading tags of {name}", conn):
            tags = sagemaker.list_tags(ResourceArn=summary[arn_key])["Tags"]
        if any(t["Key"] == CLOUDGD_TAG for t in tags):
            found.append((summary, tags))
    return found
