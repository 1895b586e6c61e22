"""The one place that decides what is a credential and hides it from everything cloudgd shows.

Secrets passed properly (``secrets:``) never have a value in a plan: only a
reference. But people also paste tokens into ``env:``; those values must still
reach the job, yet never appear in plan output (text or JSON), ``--out`` files,
run directories, logs or summaries. An ``env`` entry is a credential when its
*name* says so (``*_TOKEN``, ``*_SECRET``, ``PASSWORD``, ``API_KEY``, ...) or its
*value* has the shape of a well-known credential (AWS access key IDs, GitHub,
Slack and OpenAI-style tokens, JWTs, private keys, Azure connection strings).

Redaction works on values, not on request layout: every string in a rendered
request that contains a credential value has it replaced, so each provider's
shape (SageMaker ``Environment``, Vertex ``env`` lists, Azure
``environment_variables``, local ranks) is covered without knowing it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, TypeVar

from cloudgd.plan import Plan

REDACTED = "<redacted>"
# Shorter values are not worth hiding and replacing them would mangle unrelated text.
MIN_VALUE_LENGTH = 4

_NAME_WORDS = re.compile(
    r"(^|_)(TOKEN|SECRET|SECRETS|PASSWORD|PASSWD|PWD|PASS|PASSPHRASE|CREDENTIAL|CREDENTIALS|"
    r"APIKEY|PRIVATE|AUTH|SAS|SIGNATURE|COOKIE|SESSION)($|_)"
    r"|(^|_)(API|ACCESS|SECRET|PRIVATE|ACCOUNT|MASTER|CLIENT|SIGNING|ENCRYPTION)_?KEY($|_)"
    r"|CONNECTION_?STRING|DSN$",
    re.IGNORECASE,
)
_VALUE_SHAPES = re.compile(
    r"\b(AKIA|ASIA)[0-9A-Z]{16}\b"  # AWS access key ID
    r"|\bgh[pousr]_[A-Za-z0-9]{30,}"  # GitHub tokens
    r"|\bgithub_pat_[A-Za-z0-9_]{30,}"
    r"|\bxox[abposr]-[A-Za-z0-9-]{10,}"  # Slack
    r"|\bsk-[A-Za-z0-9_-]{20,}"  # OpenAI-style secret keys
    r"|\bhf_[A-Za-z0-9]{30,}"  # Hugging Face
    r"|\bAIza[0-9A-Za-z_-]{35}"  # Google API key
    r"|\beyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}"  # JWT
    r"|-----BEGIN [A-Z ]*PRIVATE KEY-----"
    r"|AccountKey=|SharedAccessKey=|SharedAccessSignature=|\bsig=[A-Za-z0-9%/+=]{20,}"
    r"|://[^/\s:@]+:[^/\s@]+@"  # credentials in a URL
)

T = TypeVar("T")


def looks_like_credential(name: str, value: str) -> bool:
    """True when an environment variable ``name=value`` should be treated as a secret."""
    if len(value) < MIN_VALUE_LENGTH:
        return False
    return bool(_NAME_WORDS.search(name) or _VALUE_SHAPES.search(value))


def credential_values(env: Mapping[str, str]) -> dict[str, str]:
    """The entries of ``env`` that look like credentials (name -> value)."""
    return {name: value for name, value in env.items() if looks_like_credential(name, value)}


def scrub_text(text: str, values: Mapping[str, str] | list[str]) -> str:
    """``text`` with every occurrence of each value replaced by ``<redacted>``."""
    secrets = sorted(
        {v for v in (values.values() if isinstance(values, Mapping) else values)},
        key=len,
        reverse=True,  # longest first, so a value containing another is hidden whole
    )
    for value in secrets:
        if len(value) >= MIN_VALUE_LENGTH and value in text:
            text = text.replace(value, REDACTED)
    return text


def scrub(data: T, values: Mapping[str, str] | list[str]) -> T:
    """A copy of JSON-like ``data`` (dicts, lists, strings) with the values hidden in strings."""
    if not values:
        return data
    result: Any
    if isinstance(data, str):
        result = scrub_text(data, values)
    elif isinstance(data, Mapping):
        result = {scrub_text(str(k), values): scrub(v, values) for k, v in data.items()}
    elif isinstance(data, list | tuple):
        result = [scrub(item, values) for item in data]
    else:
        result = data
    return result  # type: ignore[no-any-return]


def redact_plan(plan: Plan, env: Mapping[str, str]) -> Plan:
    """The plan as it may be shown: credential values from ``env`` hidden everywhere in it.

    ``env`` is the job's ``env`` block; the plan that is *submitted* keeps the values.
    """
    values = credential_values(env)
    if not values:
        return plan
    return plan.model_copy(
        update={"request": scrub(plan.request, values), "summary": scrub(plan.summary, values)}
    )
