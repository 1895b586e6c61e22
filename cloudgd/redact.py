"""The one place that decides what is a credential and hides it from everything cloudgd shows.

Secrets passed properly (``secrets:``) never have a value in a plan: only a
reference. But people also paste tokens into ``env:``; those values must still
reach the job, yet never appear in plan output (text or JSON), ``--out`` files,
run directories, logs or summaries. An ``env`` entry is a credential when its
*name* says so (``*PASSWORD*``, ``*SECRET*``, ``*TOKEN*``, ``*KEY``, ``*CREDENTIAL*``,
``*WEBHOOK*``, ...) or its *value* has the shape of a well-known credential (AWS
access key IDs, GitHub, Slack, Stripe and OpenAI-style tokens, Slack/Discord/Teams
webhook URLs, bearer tokens, JWTs, private keys, ``password=`` in a DSN, Azure
connection strings). Shown plans also lose every credential-shaped substring,
wherever it sits.

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
    # anywhere in the name: PGPASSWORD, AWS_SECRET_ACCESS_KEY, MY_CREDENTIALS_JSON...
    r"PASSWORD|PASSWD|PASSPHRASE|SECRET|CREDENTIAL|WEBHOOK|TOKEN(?!IZ)"
    # KEY as a word or a suffix (AZURE_STORAGE_KEY, APIKEY), not KEYBOARD_LAYOUT
    r"|KEY($|_)"
    r"|(^|_)(PWD|PASS|PRIVATE|AUTH|SAS|SIGNATURE|COOKIE|SESSION)($|_)"
    r"|CONNECTION_?STRING|DSN$",
    re.IGNORECASE,
)
# Each alternative matches the whole credential, so it can be cut out of any text.
_VALUE_SHAPES = re.compile(
    r"\b(AKIA|ASIA)[0-9A-Z]{16}\b"  # AWS access key ID
    r"|\bgh[pousr]_[A-Za-z0-9]{30,}"  # GitHub tokens
    r"|\bgithub_pat_[A-Za-z0-9_]{30,}"
    r"|\bglpat-[A-Za-z0-9_-]{20,}"  # GitLab
    r"|\bxox[abposr]-[A-Za-z0-9-]{10,}"  # Slack tokens
    r"|https://hooks\.slack\.com/[A-Za-z0-9/_-]+"  # Slack webhooks
    r"|https://(ptb\.|canary\.)?discord(app)?\.com/api/webhooks/[A-Za-z0-9/_-]+"
    r"|https://[A-Za-z0-9.-]*webhook\.office\.com/[^\s\"']+"  # Teams webhooks
    r"|\b[sr]k_(live|test)_[A-Za-z0-9]{10,}|\bwhsec_[A-Za-z0-9]{10,}"  # Stripe
    r"|\bsk-[A-Za-z0-9_-]{20,}"  # OpenAI/Anthropic-style secret keys
    r"|\bhf_[A-Za-z0-9]{30,}"  # Hugging Face
    r"|\bnpm_[A-Za-z0-9]{30,}"  # npm
    r"|\bAIza[0-9A-Za-z_-]{35}"  # Google API key
    r"|\bya29\.[0-9A-Za-z_-]{20,}"  # Google OAuth access token
    r"|\bSG\.[A-Za-z0-9_-]{16,}\.[A-Za-z0-9_-]{16,}"  # SendGrid
    r"|\beyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}"  # JWT
    r"|-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?(-----END [A-Z ]*PRIVATE KEY-----|$)"
    r"|\bBearer\s+[A-Za-z0-9._~+/-]{8,}=*"  # an Authorization header's value
    r"|(AccountKey|SharedAccessKey|SharedAccessSignature)=[^;\s\"']+"  # Azure
    r"|\bsig=[A-Za-z0-9%/+=]{20,}"  # SAS signature
    # password=..., token: ... inside a DSN, a command line or a config string
    r"|\b(password|passwd|pwd|secret|token|api[_-]?key|access[_-]?key)\s*[=:]\s*[^\s&;,'\"]{4,}"
    r"|(?<=://)[^/\s:@]+:[^/\s@]+(?=@)",  # credentials in a URL
    re.IGNORECASE,
)
# Values a variable named like a secret may hold that are plainly settings, not secrets
# (hiding them would blank every "false" in the shown plan).
_NOT_SECRETS = frozenset({"true", "false", "yes", "no", "none", "null", "auto", "disabled"})

T = TypeVar("T")


def looks_like_credential(name: str, value: str) -> bool:
    """True when an environment variable ``name=value`` should be treated as a secret."""
    if len(value) < MIN_VALUE_LENGTH:
        return False
    if _VALUE_SHAPES.search(value):
        return True
    return bool(_NAME_WORDS.search(name)) and value.strip().lower() not in _NOT_SECRETS


def scrub_shapes(data: T) -> T:
    """A copy of JSON-like ``data`` with every credential-shaped substring replaced.

    For what is shown or stored only: a value found by its shape anywhere in a
    plan (an argument, a URL, a tag), not just in ``env``.
    """
    result: Any
    if isinstance(data, str):
        result = _VALUE_SHAPES.sub(REDACTED, data)
    elif isinstance(data, Mapping):
        result = {scrub_shapes(str(k)): scrub_shapes(v) for k, v in data.items()}
    elif isinstance(data, list | tuple):
        result = [scrub_shapes(item) for item in data]
    else:
        result = data
    return result  # type: ignore[no-any-return]


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
    request = scrub_shapes(scrub(plan.request, values))
    summary = scrub_shapes(scrub(plan.summary, values))
    if request == plan.request and summary == plan.summary:
        return plan
    return plan.model_copy(update={"request": request, "summary": summary})
