"""Fill ``secrets:`` from the cloud's secret store when the trainer starts.

cloudgd never puts a secret's value in a cloud request (anyone who can read the job
could read it). Each secret travels as a reference, ``CLOUDGD_SECRET_<NAME>=<ref>``;
here, inside the job and with the job's own identity, the reference becomes the
variable ``<NAME>`` the user asked for (``HF_TOKEN`` and the like), before anything
reads it:

* SageMaker: Secrets Manager ``GetSecretValue`` through boto3 (the job's role).
* Vertex AI: Secret Manager ``versions:access`` over REST, with the token of the
  job's service account from the metadata server.
* Azure ML: Key Vault ``GET <secret URL>`` over REST, with a managed-identity token
  from the compute's identity endpoint (``MSI_ENDPOINT``/``MSI_SECRET``).

A variable already set is left alone (a launcher resolved it, or the user set it).
Values are never printed; a failure names the secret and the reference. Test
endpoints (``AWS_ENDPOINT_URL``, ``GCE_METADATA_HOST``,
``CLOUDSDK_API_ENDPOINT_OVERRIDES_SECRETMANAGER``, a Key Vault URL) may be plain
http only on 127.0.0.1, so a token never crosses a network unencrypted.
"""

from __future__ import annotations

import base64
import json
import os
import re
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping, MutableMapping
from typing import Any

from trainers.errors import ConfigError

PREFIX = "CLOUDGD_SECRET_"
TIMEOUT_S = 15.0
_GCP_NAME = re.compile(r"^projects/[^/]+/secrets/[^/]+(/versions/[^/]+)?$")
_LOCAL_HOSTS = ("127.0.0.1", "localhost")


def resolve_secrets(platform: str, env: MutableMapping[str, str] | None = None) -> list[str]:
    """Set ``<NAME>`` for every ``CLOUDGD_SECRET_<NAME>`` not yet set; returns the names set."""
    env = os.environ if env is None else env
    wanted = {
        key[len(PREFIX) :]: ref
        for key, ref in sorted(env.items())
        if key.startswith(PREFIX) and key[len(PREFIX) :] and not env.get(key[len(PREFIX) :])
    }
    if not wanted:
        return []
    fetch = {"sagemaker": _aws, "vertex": _gcp, "azureml": _azure}.get(platform)
    if fetch is None:
        names = ", ".join(sorted(wanted))
        raise ConfigError(
            f"secrets {names}: only a SageMaker, Vertex AI or Azure ML job reads them from "
            f"its cloud's store (this run is {platform})",
            hint="set the variables themselves to run here",
        )
    for name, ref in wanted.items():
        try:
            env[name] = fetch(ref, env)
        except ConfigError as exc:
            raise ConfigError(f"secrets.{name}: {exc.message}", hint=exc.hint) from None
        except Exception as exc:  # the store's own error, never the value
            raise ConfigError(
                f"secrets.{name}: could not read {ref!r}: {type(exc).__name__}: {exc}",
                hint="the job's identity needs read access to the secret",
            ) from None
    return sorted(wanted)


def is_secret_manager_name(ref: str) -> bool:
    """``projects/<p>/secrets/<name>[/versions/<v>]``: what a Vertex job can read."""
    return bool(_GCP_NAME.match(ref))


def is_key_vault_url(ref: str) -> bool:
    """``https://<vault>.<suffix>/secrets/<name>[/<version>]``: what an Azure ML job can read."""
    return urllib.parse.urlsplit(ref).scheme == "https" and _key_vault_path(ref) is not None


def _key_vault_path(ref: str) -> list[str] | None:
    """``[secrets, <name>(, <version>)]`` of a Key Vault secret URL (any scheme), else None."""
    parts = urllib.parse.urlsplit(ref)
    segments = [s for s in parts.path.split("/") if s]
    if parts.hostname and len(segments) in (2, 3) and segments[0] == "secrets":
        return segments
    return None


# -- AWS -------------------------------------------------------------------------------


def _aws(ref: str, env: Mapping[str, str]) -> str:
    try:
        import boto3
    except ImportError:
        raise ConfigError(
            f"secret {ref!r}: reading AWS Secrets Manager needs boto3 in the image",
            hint="the SageMaker PyTorch images have it; add boto3 to a custom image",
        ) from None
    region = env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or env.get("SAGEMAKER_REGION")
    client = boto3.client("secretsmanager", region_name=region)
    found: dict[str, Any] = client.get_secret_value(SecretId=ref)
    if "SecretString" in found:
        return str(found["SecretString"])
    return bytes(found["SecretBinary"]).decode("utf-8")


# -- Google Cloud ----------------------------------------------------------------------


def _gcp(ref: str, env: Mapping[str, str]) -> str:
    if not is_secret_manager_name(ref):
        raise ConfigError(
            f"secret {ref!r} is not a Secret Manager name",
            hint="use projects/<project>/secrets/<name>[/versions/<version>]",
        )
    name = ref if "/versions/" in ref else f"{ref}/versions/latest"
    # The metadata server is link-local and speaks plain http (google-auth asks it the same
    # way, and honours the same GCE_METADATA_HOST override).
    metadata = env.get("GCE_METADATA_HOST") or "metadata.google.internal"
    token_url = f"http://{metadata}/computeMetadata/v1/instance/service-accounts/default/token"
    token = _json(_get(token_url, {"Metadata-Flavor": "Google"}))["access_token"]
    base = env.get("CLOUDSDK_API_ENDPOINT_OVERRIDES_SECRETMANAGER") or (
        "https://secretmanager.googleapis.com/"
    )
    url = urllib.parse.urljoin(base.rstrip("/") + "/", f"v1/{name}:access")
    _check_transport(url)
    answer = _json(_get(url, {"Authorization": f"Bearer {token}"}))
    return base64.b64decode(answer["payload"]["data"]).decode("utf-8")


# -- Azure -----------------------------------------------------------------------------


def _azure(ref: str, env: Mapping[str, str]) -> str:
    segments = _key_vault_path(ref)
    if segments is None:
        raise ConfigError(
            f"secret {ref!r} is not a Key Vault secret URL",
            hint="use https://<vault>.vault.azure.net/secrets/<name>[/<version>]",
        )
    _check_transport(ref)
    endpoint, secret = env.get("MSI_ENDPOINT"), env.get("MSI_SECRET")
    if not (endpoint and secret):
        raise ConfigError(
            f"secret {ref!r}: the compute has no managed identity (MSI_ENDPOINT is not set)",
            hint="give the Azure ML compute cluster a managed identity with Key Vault access",
        )
    _check_transport(endpoint)
    parts = urllib.parse.urlsplit(ref)
    host = str(parts.hostname)
    audience = "https://" + (host.split(".", 1)[1] if host.count(".") >= 2 else host)
    params = {"api-version": "2017-09-01", "resource": audience}
    if env.get("DEFAULT_IDENTITY_CLIENT_ID"):  # Azure ML's user-assigned identity
        params["clientid"] = env["DEFAULT_IDENTITY_CLIENT_ID"]
    token_url = f"{endpoint}?{urllib.parse.urlencode(params)}"
    token = _json(_get(token_url, {"secret": secret}))["access_token"]
    url = urllib.parse.urlunsplit(
        (parts.scheme, parts.netloc, "/" + "/".join(segments), "api-version=7.4", "")
    )
    return str(_json(_get(url, {"Authorization": f"Bearer {token}"}))["value"])


# -- plumbing --------------------------------------------------------------------------


def _check_transport(url: str) -> None:
    parts = urllib.parse.urlsplit(url)
    if parts.scheme == "https" or (parts.scheme == "http" and parts.hostname in _LOCAL_HOSTS):
        return
    raise ConfigError(f"{url!r}: a token is only sent over https (or to 127.0.0.1)")


def _get(url: str, headers: dict[str, str]) -> bytes:
    request = urllib.request.Request(url, headers=headers, method="GET")
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_S) as answer:
            return bytes(answer.read())
    except urllib.error.HTTPError as exc:
        detail = exc.read(300).decode("utf-8", "replace").strip()
        raise ConfigError(
            f"GET {urllib.parse.urlsplit(url).path}: HTTP {exc.code} {detail}".rstrip(),
            hint="the job's identity needs read access to the secret",
        ) from None


def _json(data: bytes) -> dict[str, Any]:
    parsed = json.loads(data)
    if not isinstance(parsed, dict):
        raise ValueError("expected a JSON object")
    return parsed
