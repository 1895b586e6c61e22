"""A plug-in provider brings its own ``providers.<name>`` block and runs end to end.

The ``toy`` provider (this package) is registered only through its entry point
(``site/cloudgd_toy-0.1.dist-info``); cloudgd knows nothing else about it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from cloudgd.cli.schema import job_schema
from tests.plugin_provider.conftest import SITE, Invoke

REPO = Path(__file__).resolve().parents[2]
JobFile = Callable[[str], str]
SLOW_QUEUE = "  toy: {queue: slow, priority: 2}\n"

pytestmark = pytest.mark.usefixtures("toy_installed")


def test_the_plugin_is_listed_as_a_provider(invoke: Invoke) -> None:
    rows = json.loads(invoke("-o", "json", "providers").stdout)["providers"]
    assert {"name": "toy", "description": "plug-in provider"}.items() <= next(
        row for row in rows if row["name"] == "toy"
    ).items()


def test_validate_accepts_the_plugins_own_options(invoke: Invoke, job_file: JobFile) -> None:
    result = invoke("validate", job_file(SLOW_QUEUE))
    assert result.exit_code == 0, result.stderr


@pytest.mark.parametrize(
    ("block", "problem"),
    [
        ("  toy: {queu: slow}\n", "providers.toy.queu: unknown field; did you mean 'queue'?"),
        ("  toy: {queue: medium}\n", "providers.toy.queue: must be one of fast, slow"),
        ("  toy: {priority: 12}\n", "providers.toy.priority: must be <= 9 (got 12)"),
        ("  tyo: {queue: slow}\n", "providers.tyo: unknown field; did you mean 'toy'?"),
    ],
)
def test_mistakes_in_the_plugins_block_name_the_field(
    invoke: Invoke, job_file: JobFile, block: str, problem: str
) -> None:
    result = invoke("validate", job_file(block))
    assert result.exit_code == 2
    assert problem in result.stderr
    assert "Traceback" not in result.stderr


def test_without_the_plugin_its_block_is_an_unknown_field(
    invoke: Invoke, job_file: JobFile, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "path", [p for p in sys.path if p != str(SITE)])
    result = invoke("validate", job_file(SLOW_QUEUE))
    assert result.exit_code == 2
    assert "providers.toy: unknown field" in result.stderr


def test_a_plugin_that_names_no_options_module_is_read_from_its_class(
    invoke: Invoke, job_file: JobFile, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The same distribution, registering only its provider class (the older form).
    site = tmp_path / "site"
    dist = site / "cloudgd_toy-0.1.dist-info"
    shutil.copytree(SITE / dist.name, dist)
    (dist / "entry_points.txt").write_text(
        "[cloudgd.providers]\ntoy = tests.plugin_provider.provider:ToyProvider\n",
        encoding="utf-8",
    )
    monkeypatch.setattr(sys, "path", [str(site) if p == str(SITE) else p for p in sys.path])
    assert invoke("validate", job_file(SLOW_QUEUE)).exit_code == 0
    typo = invoke("validate", job_file("  toy: {queu: slow}\n"))
    assert "providers.toy.queu: unknown field; did you mean 'queue'?" in typo.stderr
    blocks = job_schema()["$defs"]["ProviderBlocks"]["properties"]
    assert blocks["toy"]["description"] == "Toy queue settings (the test plug-in)."


def test_validate_imports_the_plugins_options_module_not_its_provider(
    job_file: JobFile, tmp_path: Path
) -> None:
    probe = (
        "import json, sys\n"
        "from cloudgd.cli.main import main\n"
        "try:\n"
        "    main(['validate', sys.argv[1]])\n"
        "except SystemExit as done:\n"
        "    loaded = [m for m in sys.modules if m.startswith('tests.plugin_provider')]\n"
        "    print(json.dumps({'code': done.code, 'loaded': sorted(loaded)}))\n"
    )
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(REPO), str(SITE)]),
        "CLOUDGD_HOME": str(tmp_path / "home"),
    }
    result = subprocess.run(
        [sys.executable, "-c", probe, job_file(SLOW_QUEUE)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report == {
        "code": 0,
        "loaded": ["tests.plugin_provider", "tests.plugin_provider.options"],
    }, result.stderr


def test_the_schema_describes_the_plugins_block() -> None:
    schema = job_schema()
    blocks = schema["$defs"]["ProviderBlocks"]["properties"]
    assert blocks["toy"]["description"] == "Toy queue settings (the test plug-in)."
    options = schema["$defs"]["ToyOptions"]["properties"]
    assert options["queue"] == {
        "default": "fast",
        "description": "Which queue runs the job.",
        "enum": ["fast", "slow"],
        "title": "Queue",
        "type": "string",
    }
    # The built-in blocks keep their descriptions next to the plug-in's.
    assert blocks["aws"]["description"] == "AWS SageMaker settings."
    assert "role_arn" in schema["$defs"]["AwsOptions"]["properties"]


def test_plan_renders_the_request_from_the_plugins_options(
    invoke: Invoke, job_file: JobFile
) -> None:
    result = invoke("-o", "json", "plan", job_file(SLOW_QUEUE), "-p", "toy")
    assert result.exit_code == 0, result.stderr
    plan = json.loads(result.stdout)
    assert plan["operation"] == "toy:Enqueue"
    assert {k: plan["request"][k] for k in ("queue", "priority", "epochs")} == {
        "queue": "slow",
        "priority": 2,
        "epochs": 2,
    }
    assert plan["handle"].startswith("toy://slow/toy-job-")


def test_set_overrides_reach_the_plugins_block(invoke: Invoke, job_file: JobFile) -> None:
    path = job_file(SLOW_QUEUE)
    result = invoke("-o", "json", "plan", path, "-p", "toy", "--set", "providers.toy.priority=7")
    assert json.loads(result.stdout)["request"]["priority"] == 7
    typo = invoke("plan", path, "-p", "toy", "--set", "providers.toy.prio=7")
    assert typo.exit_code == 2
    assert "did you mean 'priority'?" in typo.stderr


def test_the_user_config_holds_defaults_for_the_plugin(
    invoke: Invoke, job_file: JobFile, cloudgd_home: Path
) -> None:
    cloudgd_home.mkdir(parents=True)
    (cloudgd_home / "config.yaml").write_text(
        "providers:\n  toy: {owner: team-a, queue: fast}\n", encoding="utf-8"
    )
    result = invoke("-o", "json", "plan", job_file(SLOW_QUEUE), "-p", "toy")
    request = json.loads(result.stdout)["request"]
    assert (request["owner"], request["queue"]) == ("team-a", "slow")  # the spec wins
    (cloudgd_home / "config.yaml").write_text("providers:\n  toy: {ownr: x}\n", encoding="utf-8")
    broken = invoke("plan", job_file(SLOW_QUEUE), "-p", "toy")
    assert broken.exit_code == 2
    assert "config.yaml: providers.toy.ownr: Extra inputs are not permitted" in broken.stderr


def test_terraform_outputs_fill_the_plugins_block(
    invoke: Invoke, job_file: JobFile, tmp_path: Path, cloudgd_home: Path
) -> None:
    outputs = tmp_path / "outputs.json"
    document = {"cloudgd_provider": "toy", "owner": "team-b", "queue_url": "https://q.example"}
    outputs.write_text(json.dumps({k: {"value": v} for k, v in document.items()}))
    written = invoke("config", "from-terraform", str(outputs), "--format", "user")
    assert written.exit_code == 0, written.stderr
    assert "updated providers.toy" in written.stderr
    result = invoke("-o", "json", "plan", job_file(SLOW_QUEUE), "-p", "toy")
    assert json.loads(result.stdout)["request"]["owner"] == "team-b"


def test_submit_status_logs_cancel_and_list(invoke: Invoke, job_file: JobFile) -> None:
    path = job_file(SLOW_QUEUE)
    submitted = invoke("-o", "json", "submit", path, "-p", "toy")
    assert submitted.exit_code == 0, submitted.stderr
    handle = json.loads(submitted.stdout)["handle"]
    assert json.loads(submitted.stdout)["state"] == "PENDING"

    states = [json.loads(invoke("-o", "json", "status", handle).stdout)["state"] for _ in range(3)]
    assert states == ["PENDING", "RUNNING", "SUCCEEDED"]
    assert invoke("logs", handle).stdout.splitlines() == ["queued on slow", "epoch 1 loss=0.5"]

    other = invoke("-o", "json", "submit", path, "-p", "toy", "--set", "trainer.epochs=3")
    other_handle = json.loads(other.stdout)["handle"]
    cancelled = invoke("-o", "json", "cancel", other_handle)
    assert cancelled.exit_code == 0, cancelled.stderr
    assert json.loads(cancelled.stdout)["state"] == "CANCELLED"

    listed = json.loads(invoke("-o", "json", "list", "-p", "toy").stdout)
    assert [(job["handle"], job["state"]) for job in listed["jobs"]] == [
        (other_handle, "CANCELLED"),
        (handle, "SUCCEEDED"),
    ]


def test_a_fresh_process_finds_the_plugin_through_its_entry_point(
    job_file: JobFile, tmp_path: Path
) -> None:
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(REPO), str(SITE)]),
        "CLOUDGD_HOME": str(tmp_path / "home"),
    }
    result = subprocess.run(
        [sys.executable, "-m", "cloudgd", "-o", "json", "plan", job_file(SLOW_QUEUE), "-p", "toy"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["request"]["queue"] == "slow"
