"""Secrets reach the job as references (CLOUDGD_SECRET_<NAME>=<ref>); the trainer turns
each into <NAME> from the cloud's store, with the job's identity, before training.

The stores are moto (Secrets Manager) and a small server on 127.0.0.1 that answers as
the GCE metadata server, Secret Manager, an Azure ML identity endpoint and Key Vault.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import boto3
import pytest
from moto import mock_aws

from tests.support.serving import serving
from trainers.__main__ import main
from trainers.errors import ConfigError
from trainers.secrets import resolve_secrets

TOKEN = "token-for-the-job"


class _Store(BaseHTTPRequestHandler):
    """Metadata token, Secret Manager access, Azure ML MSI token and Key Vault GET."""

    seen: list[dict[str, Any]] = []

    def log_message(self, *args: Any) -> None:
        pass

    def _send(self, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        self.seen.append({"path": url.path, "query": query, "headers": dict(self.headers)})
        bearer = self.headers.get("Authorization") == f"Bearer {TOKEN}"
        if url.path.endswith("/service-accounts/default/token"):
            ok = self.headers.get("Metadata-Flavor") == "Google"
            self._send(200 if ok else 403, {"access_token": TOKEN, "expires_in": 3599})
        elif url.path == "/msi/token":
            ok = self.headers.get("secret") == "msi-secret"
            self._send(200 if ok else 401, {"access_token": TOKEN, "expires_on": "1"})
        elif url.path == "/v1/projects/p/secrets/hf/versions/latest:access" and bearer:
            data = base64.b64encode(b"hf-from-gcp").decode()
            self._send(200, {"name": "projects/p/secrets/hf/versions/3", "payload": {"data": data}})
        elif url.path == "/secrets/hf" and bearer and query.get("api-version") == "7.4":
            self._send(200, {"value": "hf-from-keyvault", "id": "https://v/secrets/hf/1"})
        else:
            self._send(403, {"error": {"code": 403, "message": "permission denied"}})


@pytest.fixture
def store() -> Iterator[str]:
    _Store.seen = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Store)
    with serving(server):
        yield f"127.0.0.1:{server.server_address[1]}"


def test_sagemaker_reads_secrets_manager_with_the_jobs_role(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for var, value in (("AWS_ACCESS_KEY_ID", "x"), ("AWS_SECRET_ACCESS_KEY", "x")):
        monkeypatch.setenv(var, value)
    with mock_aws():
        boto3.client("secretsmanager", region_name="eu-west-1").create_secret(
            Name="prod/hf", SecretString="hf-from-aws"
        )
        env = {"CLOUDGD_SECRET_HF_TOKEN": "prod/hf", "AWS_REGION": "eu-west-1"}
        assert resolve_secrets("sagemaker", env) == ["HF_TOKEN"]
    assert env["HF_TOKEN"] == "hf-from-aws"


def test_vertex_reads_secret_manager_with_the_service_accounts_token(store: str) -> None:
    env = {
        "CLOUDGD_SECRET_HF_TOKEN": "projects/p/secrets/hf",
        "GCE_METADATA_HOST": store,
        "CLOUDSDK_API_ENDPOINT_OVERRIDES_SECRETMANAGER": f"http://{store}/",
    }
    assert resolve_secrets("vertex", env) == ["HF_TOKEN"]
    assert env["HF_TOKEN"] == "hf-from-gcp"  # a version-less name reads the latest


def test_azure_ml_reads_key_vault_with_the_computes_managed_identity(store: str) -> None:
    env = {
        "CLOUDGD_SECRET_HF_TOKEN": f"http://{store}/secrets/hf",
        "MSI_ENDPOINT": f"http://{store}/msi/token",
        "MSI_SECRET": "msi-secret",
        "DEFAULT_IDENTITY_CLIENT_ID": "client-1",
    }
    assert resolve_secrets("azureml", env) == ["HF_TOKEN"]
    assert env["HF_TOKEN"] == "hf-from-keyvault"
    token_call = next(s for s in _Store.seen if s["path"] == "/msi/token")
    assert token_call["query"]["clientid"] == "client-1"
    assert token_call["query"]["api-version"] == "2017-09-01"


def test_a_variable_already_set_is_left_alone_and_nothing_is_fetched(store: str) -> None:
    env = {"CLOUDGD_SECRET_HF_TOKEN": "projects/p/secrets/hf", "HF_TOKEN": "mine"}
    assert resolve_secrets("vertex", env) == []
    assert env["HF_TOKEN"] == "mine" and _Store.seen == []


def test_a_denied_secret_names_the_secret_and_never_a_value(store: str) -> None:
    env = {
        "CLOUDGD_SECRET_DB_PASSWORD": "projects/p/secrets/db",
        "GCE_METADATA_HOST": store,
        "CLOUDSDK_API_ENDPOINT_OVERRIDES_SECRETMANAGER": f"http://{store}/",
    }
    with pytest.raises(ConfigError) as caught:
        resolve_secrets("vertex", env)
    assert caught.value.message.startswith("secrets.DB_PASSWORD: GET /v1/projects/p/secrets/db")
    assert "HTTP 403" in caught.value.message
    assert "DB_PASSWORD" not in env


@pytest.mark.parametrize(
    ("platform", "ref", "expected"),
    [
        ("vertex", "hf-token", "is not a Secret Manager name"),
        ("azureml", "hf-token", "is not a Key Vault secret URL"),
        ("azureml", "http://vault.example.com/secrets/hf", "only sent over https"),
    ],
)
def test_references_of_the_wrong_shape_are_refused_before_any_call(
    platform: str, ref: str, expected: str
) -> None:
    env = {"CLOUDGD_SECRET_HF_TOKEN": ref, "MSI_ENDPOINT": "https://x", "MSI_SECRET": "s"}
    with pytest.raises(ConfigError, match=expected):
        resolve_secrets(platform, env)


def test_a_run_outside_the_clouds_stops_with_exit_2(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CLOUDGD_SECRET_HF_TOKEN", "prod/hf")
    monkeypatch.delenv("HF_TOKEN", raising=False)
    assert main(["--config", "/nonexistent.yaml"]) == 2
    err = capsys.readouterr().err
    assert "secrets HF_TOKEN: only a SageMaker, Vertex AI or Azure ML job reads them" in err
