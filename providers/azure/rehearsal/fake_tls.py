"""TLS for the fake Azure ML service: a throw-away certificate made at start.

Why TLS at all: azure-core refuses to send a bearer token to a non-https URL,
and several MLClient operations (workspace GET, discovery, run history) send
one. Rather than patch or bypass that check, the fake speaks real TLS with a
self-signed certificate for 127.0.0.1, and cloudgd's client trusts exactly that
certificate (``connection_verify=<pem>``). The same port also answers plain
http (the first byte of a TLS connection is 0x16), so the health probe of
:mod:`cloudgd.servers` and the certificate download keep working. Both halves are
here: the server's certificate, and :func:`fake_certificate`, the client's copy of it.
"""

from __future__ import annotations

import hashlib
import ipaddress
import ssl
import tempfile
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

from cloudgd.errors import ProviderError
from cloudgd.home import servers_dir
from providers.azure.rehearsal.fake_common import CERT_ROUTE

TLS_HANDSHAKE = 0x16


def make_certificate() -> tuple[bytes, bytes]:
    """(certificate PEM, private key PEM) for 127.0.0.1/localhost, valid for 30 days."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "cloudgd fake Azure ML")])
    now = datetime.now(UTC)
    public = key.public_key()
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=30))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]
            ),
            critical=False,
        )
        # A self-signed CA that is also the server certificate: strict verifiers
        # (OpenSSL 3 with VERIFY_X509_STRICT) want these extensions present.
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(public), critical=False)
        .add_extension(
            x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False
        )
        .sign(key, hashes.SHA256())
    )
    cert_pem = cert.public_bytes(serialization.Encoding.PEM)
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return cert_pem, key_pem


def server_context(cert_pem: bytes, key_pem: bytes) -> ssl.SSLContext:
    """A server-side TLS context holding the certificate (files live only during loading)."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    with tempfile.TemporaryDirectory() as tmp:
        cert_file, key_file = Path(tmp, "cert.pem"), Path(tmp, "key.pem")
        cert_file.write_bytes(cert_pem)
        key_file.write_bytes(key_pem)
        key_file.chmod(0o600)
        context.load_cert_chain(cert_file, key_file)
    return context


def fake_certificate(endpoint: str) -> Path:
    """The fake's certificate, fetched over its plain-http side and kept per port."""
    split = urlsplit(endpoint)
    plain = f"http://{split.hostname}:{split.port}"
    try:
        with urllib.request.urlopen(plain + CERT_ROUTE, timeout=10) as response:
            pem: bytes = response.read()
    except OSError as exc:
        raise ProviderError(
            f"the fake Azure ML service at {plain} does not answer ({exc})",
            hint="start it again with `cloudgd submit --backend fake`, or check --endpoint",
        ) from None
    path = servers_dir() / f"azure-fake-{split.port}-{hashlib.sha256(pem).hexdigest()[:12]}.pem"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_bytes(pem)
        tmp.replace(path)
    return path
