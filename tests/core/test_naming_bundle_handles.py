"""Determinism the rest of cloudgd relies on: job names, code bundles, handle URIs."""

from __future__ import annotations

import tarfile
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from cloudgd.bundle import build_bundle
from cloudgd.loader import load_spec
from cloudgd.naming import job_name, spec_hash
from cloudgd.plan import JobHandle
from cloudgd.planning import build_job_bundle, default_idempotency_key
from tests.core.conftest import REPO

DIGITS = REPO / "examples" / "digits.yaml"


def test_job_names_are_stable_and_keyed() -> None:
    spec = load_spec(DIGITS).spec
    again = load_spec(DIGITS).spec
    assert job_name(spec) == job_name(again)
    assert job_name(spec, "ci-1") != job_name(spec)
    assert job_name(spec, "ci-1") == job_name(again, "ci-1")
    assert job_name(load_spec(DIGITS, ["trainer.epochs=3"]).spec) != job_name(spec)
    assert job_name(spec).startswith("digits-mlp-") and len(job_name(spec)) == 19


def test_long_names_keep_the_whole_hash_within_the_limit() -> None:
    spec = load_spec(DIGITS, ["name=" + "a" * 40]).spec
    name = job_name(spec, max_len=32)
    assert len(name) <= 32 and name.endswith(spec_hash(spec)[:8])


def test_bundle_bytes_are_identical_across_builds(tmp_path: Path) -> None:
    code = tmp_path / "code"
    (code / "pkg").mkdir(parents=True)
    (code / "pkg" / "model.py").write_text("def build():\n    return None\n")
    first = build_bundle('{"epochs": 3}\n', code, tmp_path / "out1")
    second = build_bundle('{"epochs": 3}\n', code, tmp_path / "out2")
    assert Path(first.path).read_bytes() == Path(second.path).read_bytes()
    assert first.filename == second.filename == f"cloudgd-bundle-{first.sha256[:12]}.tar.gz"
    with tarfile.open(first.path) as archive:
        names = archive.getnames()
        assert {m.mtime for m in archive.getmembers()} == {315532800}
    assert "code/pkg/model.py" in names and "cloudgd-job.json" in names
    assert names == sorted(names)
    changed = build_bundle('{"epochs": 4}\n', code, tmp_path / "out3")
    assert changed.filename != first.filename


def test_the_cli_bundle_carries_the_trainer_config(tmp_path: Path, cloudgd_home: Path) -> None:
    loaded = load_spec(DIGITS)
    bundle = build_job_bundle(loaded, "sdist")
    assert Path(bundle.path).parent == cloudgd_home / "bundles"
    with tarfile.open(bundle.path) as archive:
        member = archive.extractfile("cloudgd_job-0.1.0/cloudgd-job.json")
        assert member is not None
        assert b'"epochs": 20' in member.read()
    assert build_job_bundle(loaded, "sdist").sha256 == bundle.sha256


def test_idempotency_key_defaults() -> None:
    assert default_idempotency_key(None, {}) is None
    assert default_idempotency_key(None, {"GITHUB_SHA": "abc"}) == "abc"
    ci = {"GITHUB_SHA": "abc", "GITHUB_RUN_ATTEMPT": "3"}
    assert default_idempotency_key(None, ci) == "abc-3"
    assert default_idempotency_key("mine", ci) == "mine"
    assert default_idempotency_key("", ci) is None


def test_handle_examples_round_trip() -> None:
    for text in [
        "aws://us-east-1/digits-3f2a9c",
        "gcp://proj/us-central1/123456",
        "azure://sub/rg/ws/digits-3f2a9c",
        "local:///home/me/.cloudgd/runs/digits-3f2a9c",
        "aws://us-east-1/job?backend=moto&endpoint=http%3A%2F%2F127.0.0.1%3A5000&run=%2Ftmp%2Fr",
    ]:
        assert str(JobHandle.parse(text)) == text


segment = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-_.", min_size=1, max_size=12)
param_values = st.text(min_size=1, max_size=20).filter(lambda v: v.strip() == v)


@settings(max_examples=200, deadline=None)
@given(
    st.sampled_from(["aws", "gcp", "azure", "fake"]),
    st.lists(segment, min_size=1, max_size=4),
    st.dictionaries(st.sampled_from(["backend", "endpoint", "run"]), param_values, max_size=3),
)
def test_cloud_handles_round_trip(provider: str, parts: list[str], params: dict[str, str]) -> None:
    handle = JobHandle(provider=provider, parts=tuple(parts), params=params)
    assert JobHandle.parse(str(handle)) == handle


@settings(max_examples=100, deadline=None)
@given(st.lists(segment, min_size=1, max_size=5))
def test_local_handles_round_trip(parts: list[str]) -> None:
    handle = JobHandle(provider="local", parts=("/" + "/".join(parts),))
    assert JobHandle.parse(str(handle)) == handle
