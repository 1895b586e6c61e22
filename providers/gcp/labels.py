"""Labels on a Vertex CustomJob: the user's tags plus cloudgd's own, within GCP's label rules.

GCP labels: at most 64 per resource; keys 1-63 characters, starting with a
lower-case letter; keys and values use lower-case letters, digits, '_' and '-';
values may be empty. cloudgd's labels are what makes a resubmission find the job
it already created (Vertex job IDs are assigned by the service, and display names
are not unique), so they are exact, never sanitised guesses.
"""

from __future__ import annotations

import hashlib
import re

from cloudgd.errors import SpecError

MAX_LABELS = 64
PREFIX = "cloudgd-"
KEY_JOB = "cloudgd-job"
KEY_SPEC_HASH = "cloudgd-spec-hash"
KEY_IDEMPOTENCY = "cloudgd-key"
KEY_MANAGED = "cloudgd-managed"
KEY_VERSION = "cloudgd-version"

_KEY = re.compile(r"^[a-z][a-z0-9_-]{0,62}$")
_VALUE = re.compile(r"^[a-z0-9_-]{0,63}$")
_INVALID = re.compile(r"[^a-z0-9_-]")


def label_value(text: str) -> str:
    """``text`` as a label value: lower-cased, other characters as '-', cut to 63."""
    return _INVALID.sub("-", text.lower())[:63]


def key_label(idempotency_key: str | None) -> str:
    """The ``cloudgd-key`` value: the key itself when it is a valid label value, else a
    hash of it (so two different keys never share a label)."""
    if not idempotency_key:
        return "none"
    if _VALUE.match(idempotency_key):
        return idempotency_key
    return "sha256-" + hashlib.sha256(idempotency_key.encode()).hexdigest()[:48]


def user_labels(tags: dict[str, str]) -> dict[str, str]:
    """Job spec ``tags`` as labels; refuses a key no label can carry or a cloudgd key."""
    labels: dict[str, str] = {}
    for key, value in sorted(tags.items()):
        label_key = label_value(key)
        if not _KEY.match(label_key):
            raise SpecError(
                f"tags.{key}: a Vertex label key must start with a letter",
                hint="rename the tag, e.g. 't-" + label_key + "'",
            )
        if label_key.startswith(PREFIX):
            raise SpecError(f"tags.{key}: keys starting with '{PREFIX}' are cloudgd's own")
        if label_key in labels:
            raise SpecError(
                f"tags.{key}: becomes the label {label_key!r}, which another tag already has",
                hint="Vertex labels are lower-case; make the tag keys differ by more than case",
            )
        labels[label_key] = label_value(value)
    return labels


def job_labels(
    tags: dict[str, str],
    *,
    job_name: str,
    spec_hash: str,
    idempotency_key: str | None,
    version: str,
) -> dict[str, str]:
    """All labels of the job: the user's, then cloudgd's (which find it again)."""
    labels = user_labels(tags)
    labels.update(
        {
            KEY_MANAGED: "true",
            KEY_JOB: label_value(job_name),
            KEY_SPEC_HASH: spec_hash[:32],
            KEY_IDEMPOTENCY: key_label(idempotency_key),
            KEY_VERSION: label_value(version.replace(".", "-")),
        }
    )
    if len(labels) > MAX_LABELS:
        raise SpecError(
            f"tags: {len(labels) - 5} tags plus cloudgd's 5 labels exceed Vertex's "
            f"{MAX_LABELS} labels per job",
            hint="remove some tags",
        )
    return labels


def lookup_filter(labels: dict[str, str]) -> str:
    """The ListCustomJobs filter that finds jobs created from the same spec and key."""
    return " AND ".join(f'labels.{key}="{labels[key]}"' for key in (KEY_SPEC_HASH, KEY_IDEMPOTENCY))
