"""Deterministic job names: the same spec (and idempotency key) always gives the same name.

That is what makes CI re-runs attach to an existing job instead of paying twice.
"""

from __future__ import annotations

import hashlib
import json
import re

from cloudgd.spec import JobSpec


def spec_hash(spec: JobSpec, idempotency_key: str | None = None) -> str:
    """Hex SHA-256 of the canonical spec JSON plus the idempotency key.

    Defaults are left out, so adding a field with a default to the spec (a new
    cloudgd version) does not rename every existing job.
    """
    canonical = json.dumps(
        spec.model_dump(mode="json", exclude_defaults=True), sort_keys=True, separators=(",", ":")
    )
    digest = hashlib.sha256(canonical.encode())
    if idempotency_key:
        digest.update(b"\0key\0" + idempotency_key.encode())
    return digest.hexdigest()


def job_name(
    spec: JobSpec,
    idempotency_key: str | None = None,
    *,
    max_len: int = 63,
    hash_len: int = 8,
    disallowed: str = r"[^a-z0-9-]",
) -> str:
    """``<spec.name>-<hash>`` cut to the cloud's length and character rules.

    SageMaker: 63 chars ``[a-zA-Z0-9](-*[a-zA-Z0-9])*``; Azure ML: 255 chars of
    letters, digits, '-' and '_'; Vertex display names: 128 chars. The spec name
    rule already fits all of them; the cut keeps the hash whole.
    """
    suffix = spec_hash(spec, idempotency_key)[:hash_len]
    base = re.sub(disallowed, "-", spec.name)
    base = base[: max_len - hash_len - 1].rstrip("-")
    return f"{base}-{suffix}"


def label_value(text: str, max_len: int = 63) -> str:
    """A value valid as a GCP label (lower-case letters, digits, '-', '_'; <= 63)."""
    value = re.sub(r"[^a-z0-9_-]", "-", text.lower())[:max_len]
    return value or "none"
