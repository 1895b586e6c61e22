"""A handle's endpoint= stays on this machine unless the user says otherwise.

Rehearsal credentials and the fakes' tokens go to the endpoint, so a handle from
elsewhere naming a remote endpoint is refused (exit 2) before anything is sent.
Addresses used here are documentation ranges (TEST-NET); nothing connects.
"""

from __future__ import annotations

import pytest

from cloudgd.cli.handles import check_endpoint, is_loopback
from cloudgd.errors import UsageError
from tests.badinput.conftest import Invoke

JOBS = [
    "aws://us-east-1/job-1?backend=moto&endpoint={}",
    "gcp://proj/us-central1/123?backend=fake&endpoint={}",
    "azure://sub/rg/ws/job-1?backend=fake&endpoint={}",
]


@pytest.mark.parametrize("job", JOBS)
@pytest.mark.parametrize("command", ["status", "logs", "cancel", "wait", "report"])
def test_a_remote_endpoint_in_a_handle_is_refused(invoke: Invoke, job: str, command: str) -> None:
    result = invoke(command, job.format("http://192.0.2.7:4566"))
    assert result.exit_code == 2, result.output
    assert "handle endpoint= is not on this machine: 192.0.2.7" in result.output
    assert "--allow-remote-endpoint" in result.output


@pytest.mark.parametrize(
    ("endpoint", "message"),
    [
        ("http://127.0.0.1:99999", "bad port"),
        ("http://127.0.0.1:port", "bad port"),
        ("", "not an http(s) URL"),
        ("127.0.0.1:5000", "not an http(s) URL"),
        ("file:///etc/passwd", "not an http(s) URL"),
        ("http://:5000", "not an http(s) URL"),
    ],
)
def test_an_endpoint_that_is_no_url_or_has_a_bad_port_is_exit_2(
    invoke: Invoke, endpoint: str, message: str
) -> None:
    result = invoke("status", JOBS[0].format(endpoint))
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert "Traceback" not in result.output


def test_the_flag_lets_a_remote_endpoint_through(invoke: Invoke, tmp_path: object) -> None:
    # run= makes status follow a local run first: the refusal is gone, the missing run answers
    handle = JOBS[0].format("http://192.0.2.7:4566") + f"&run={tmp_path}/missing"
    result = invoke("status", "--allow-remote-endpoint", handle)
    assert result.exit_code == 3, result.output
    assert "no local run at" in result.output


@pytest.mark.parametrize("host", ["localhost", "LOCALHOST.", "127.0.0.1", "127.9.8.7", "::1"])
def test_loopback_hosts(host: str) -> None:
    assert is_loopback(host)
    check_endpoint(f"http://[{host}]:5000" if ":" in host else f"http://{host}:5000")


@pytest.mark.parametrize("host", ["10.0.0.1", "example.com", "localhost.example.com", "0.0.0.0"])
def test_other_hosts_are_remote(host: str) -> None:
    assert not is_loopback(host)
    with pytest.raises(UsageError):
        check_endpoint(f"http://{host}:5000")
    check_endpoint(f"http://{host}:5000", allow_remote=True)
