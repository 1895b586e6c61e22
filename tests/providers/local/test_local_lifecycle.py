"""A local job's life with real processes: success, failure, cancel, orphan, retries.

Each rank's command is a tiny script (see conftest ``scripted``); everything else
(run dir, supervisor, env, logs, state) is the real thing.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from local_support import FIXED_NOW, ScriptPlan, bounded_until, load_spec, text_of, wait_done

from cloudgd.errors import JobNotFoundError, SpecError
from cloudgd.plan import JobHandle, JobState, RenderContext
from providers.local import procs
from providers.local.provider import LocalProvider
from providers.local.rundir import RunDir

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[3]


def test_success_records_state_logs_and_exit_code(
    provider: LocalProvider, ctx: RenderContext, scripted: ScriptPlan
) -> None:
    plan = scripted(provider.plan(load_spec(), ctx), "print('epoch=1 loss=0.5', flush=True)")
    first = provider.submit(plan)
    assert first.handle == plan.handle
    assert first.state in (JobState.STARTING, JobState.RUNNING, JobState.SUCCEEDED)
    final = wait_done(provider, first)
    assert final.state is JobState.SUCCEEDED
    assert final.exit_code == 0
    assert final.created_at and final.started_at and final.ended_at
    assert final.created_at <= final.started_at <= final.ended_at
    handle = JobHandle.parse(plan.handle)
    assert "epoch=1 loss=0.5" in list(provider.logs(handle))
    run = RunDir(plan.request["run_dir"])
    state = json.loads(run.state_file.read_text())
    assert state["state"] == "succeeded"
    assert state["ranks"][0]["exit_code"] == 0
    assert state["supervisor"]["pid"] > 0
    assert run.rank_log(0).read_text() == "epoch=1 loss=0.5\n"
    assert json.loads(run.config_file.read_text())["epochs"] == 1
    assert (run.path / "code" / "trainers" / "__init__.py").is_file()


def test_failure_reports_exit_code_and_log_tail(
    provider: LocalProvider, ctx: RenderContext, scripted: ScriptPlan
) -> None:
    script = "import sys\nprint('loading data')\nprint('ValueError: bad column', file=sys.stderr)\n"
    plan = scripted(provider.plan(load_spec(), ctx), script + "sys.exit(3)\n")
    final = wait_done(provider, provider.submit(plan))
    assert final.state is JobState.FAILED
    assert final.exit_code == 3
    assert final.message is not None
    assert final.message.startswith("rank 0 failed (exit code 3)")
    assert "ValueError: bad column" in final.message


def test_sagemaker_failure_file_becomes_the_reason(
    provider: LocalProvider, ctx: RenderContext, scripted: ScriptPlan
) -> None:
    spec = load_spec(providers={"local": {"emulate": "aws"}})
    script = (
        "import os, sys\n"
        "open(os.environ['SAGEMAKER_BASE_DIR'] + '/output/failure', 'w').write('CUDA OOM')\n"
        "sys.exit(1)\n"
    )
    final = wait_done(provider, provider.submit(scripted(provider.plan(spec, ctx), script)))
    assert final.state is JobState.FAILED
    assert final.message == "AlgorithmError: CUDA OOM"


def test_cancel_stops_a_rank_that_ignores_sigterm_with_sigkill(
    provider: LocalProvider, ctx: RenderContext, scripted: ScriptPlan
) -> None:
    spec = load_spec(providers={"local": {"grace_period": 1}})
    script = (
        "import signal, time\nsignal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
        "print('ready', flush=True)\ntime.sleep(120)\n"
    )
    plan = scripted(provider.plan(spec, ctx), script)
    run = RunDir(plan.request["run_dir"])
    handle = JobHandle.parse(provider.submit(plan).handle)
    assert bounded_until(lambda: "ready" in text_of(run.rank_log(0)))
    rank = (run.read_state() or {})["ranks"][0]
    final = provider.cancel(handle)
    assert final.state is JobState.CANCELLED
    assert final.message == "cancelled (SIGKILL after the grace period)"
    assert final.exit_code == 128 + signal.SIGKILL
    assert not procs.alive(rank["pid"], rank["start_time"])
    log = "\n".join(provider.logs(handle))
    assert "sending SIGTERM" in log and "sending SIGKILL" in log


def test_cancel_lets_a_rank_exit_cleanly_on_sigterm(
    provider: LocalProvider, ctx: RenderContext, scripted: ScriptPlan, tmp_path: Path
) -> None:
    marker = tmp_path / "checkpointed"
    script = (
        "import signal, sys, time\n"
        "def stop(*_):\n"
        f"    open({str(marker)!r}, 'w').write('saved')\n"
        "    sys.exit(143)\n"
        "signal.signal(signal.SIGTERM, stop)\nprint('ready', flush=True)\ntime.sleep(120)\n"
    )
    plan = scripted(provider.plan(load_spec(), ctx), script)
    run = RunDir(plan.request["run_dir"])
    handle = JobHandle.parse(provider.submit(plan).handle)
    assert bounded_until(lambda: "ready" in text_of(run.rank_log(0)))
    final = provider.cancel(handle)
    assert final.state is JobState.CANCELLED
    assert final.message == "cancelled"
    assert final.exit_code == 143
    assert marker.read_text() == "saved"
    again = provider.cancel(handle)  # idempotent on an ended job
    assert again.state is JobState.CANCELLED and again.ended_at == final.ended_at


def test_cancel_of_a_finished_job_changes_nothing(
    provider: LocalProvider, ctx: RenderContext, scripted: ScriptPlan
) -> None:
    plan = scripted(provider.plan(load_spec(), ctx), "pass\n")
    done = wait_done(provider, provider.submit(plan))
    after = provider.cancel(JobHandle.parse(plan.handle))
    assert after.state is JobState.SUCCEEDED and after.ended_at == done.ended_at


def test_killed_supervisor_reads_as_failed_and_its_ranks_stop(
    provider: LocalProvider, ctx: RenderContext, scripted: ScriptPlan
) -> None:
    script = "import time\nprint('ready', flush=True)\ntime.sleep(120)\n"
    plan = scripted(provider.plan(load_spec(), ctx), script)
    run = RunDir(plan.request["run_dir"])
    handle = JobHandle.parse(provider.submit(plan).handle)
    assert bounded_until(lambda: "ready" in text_of(run.rank_log(0)))
    state = run.read_state()
    assert state is not None
    rank = state["ranks"][0]
    os.kill(state["supervisor"]["pid"], signal.SIGKILL)
    assert bounded_until(lambda: provider.status(handle).state.terminal)
    final = provider.status(handle)
    assert final.state is JobState.FAILED
    assert final.message is not None and "died without recording an exit code" in final.message
    # the rank got SIGTERM (parent-death signal or the status check) and is gone
    assert bounded_until(lambda: not procs.alive(rank["pid"], rank["start_time"]))
    assert provider.status(handle).state is JobState.FAILED  # settled, stays FAILED


def test_status_logs_and_cancel_work_from_another_process(
    provider: LocalProvider, ctx: RenderContext, scripted: ScriptPlan, home: Path
) -> None:
    script = "import time\nprint('hello from rank', flush=True)\ntime.sleep(120)\n"
    plan = scripted(provider.plan(load_spec(), ctx), script)
    run = RunDir(plan.request["run_dir"])
    provider.submit(plan)
    assert bounded_until(lambda: "hello" in text_of(run.rank_log(0)))
    assert bounded_until(lambda: "hello" in text_of(run.job_log))
    code = (
        "import sys, json\n"
        "from cloudgd.plan import JobHandle\n"
        "from providers.local.provider import LocalProvider\n"
        "p = LocalProvider(); h = JobHandle.parse(sys.argv[1])\n"
        "print(json.dumps({'status': p.status(h).state.value, 'logs': list(p.logs(h)),"
        " 'cancel': p.cancel(h).state.value}))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    result = subprocess.run(
        [sys.executable, "-c", code, plan.handle],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    seen = json.loads(result.stdout)
    assert seen["status"] == "RUNNING"
    assert "hello from rank" in seen["logs"]
    assert seen["cancel"] == "CANCELLED"
    assert provider.status(JobHandle.parse(plan.handle)).state is JobState.CANCELLED


def test_resubmitting_the_same_plan_returns_the_existing_run(
    provider: LocalProvider, ctx: RenderContext, scripted: ScriptPlan
) -> None:
    plan = scripted(provider.plan(load_spec(), ctx), "print('once', flush=True)\n")
    first = wait_done(provider, provider.submit(plan))
    again = provider.submit(plan)
    assert again.handle == first.handle
    assert again.extra["existing"] is True
    assert again.state is JobState.SUCCEEDED
    assert again.extra["supervisor_pid"] == first.extra["supervisor_pid"]
    run = RunDir(plan.request["run_dir"])
    assert run.rank_log(0).read_text() == "once\n"  # ran exactly once


def test_two_ranks_rendezvous_with_torch_distributed(
    provider: LocalProvider, ctx: RenderContext, scripted: ScriptPlan, tmp_path: Path
) -> None:
    spec = load_spec(distributed={"processes_per_node": 2})
    script = (
        "import json, os, sys\n"
        "import torch, torch.distributed as dist\n"
        "dist.init_process_group('gloo', init_method='env://')\n"
        "t = torch.tensor([float(dist.get_rank() + 1)])\n"
        "dist.all_reduce(t)\n"
        "keys = ['MASTER_ADDR', 'MASTER_PORT', 'WORLD_SIZE', 'RANK', 'LOCAL_RANK',\n"
        "        'LOCAL_WORLD_SIZE', 'NODE_RANK', 'GROUP_RANK']\n"
        "out = {k: os.environ[k] for k in keys}\n"
        "out['sum'] = t.item()\n"
        f"open({str(tmp_path)!r} + f'/rank-{{dist.get_rank()}}.json', 'w').write(json.dumps(out))\n"
        "dist.destroy_process_group()\n"
    )
    final = wait_done(provider, provider.submit(scripted(provider.plan(spec, ctx), script)), 120)
    assert final.state is JobState.SUCCEEDED, final.message
    seen = [json.loads((tmp_path / f"rank-{r}.json").read_text()) for r in (0, 1)]
    assert [s["RANK"] for s in seen] == ["0", "1"]
    assert [s["LOCAL_RANK"] for s in seen] == ["0", "1"]
    assert {s["WORLD_SIZE"] for s in seen} == {"2"}
    assert {s["LOCAL_WORLD_SIZE"] for s in seen} == {"2"}
    assert {s["MASTER_ADDR"] for s in seen} == {"127.0.0.1"}
    assert len({s["MASTER_PORT"] for s in seen}) == 1
    assert {s["NODE_RANK"] for s in seen} == {s["GROUP_RANK"] for s in seen} == {"0"}
    assert {s["sum"] for s in seen} == {3.0}  # the all-reduce really met


def test_one_failing_rank_stops_the_others(
    provider: LocalProvider, ctx: RenderContext, scripted: ScriptPlan
) -> None:
    spec = load_spec(
        distributed={"processes_per_node": 2}, providers={"local": {"grace_period": 5}}
    )
    script = (
        "import os, sys, time\n"
        "if os.environ['RANK'] == '1':\n"
        "    print('rank 1 gives up', flush=True); sys.exit(5)\n"
        "time.sleep(120)\n"
    )
    final = wait_done(provider, provider.submit(scripted(provider.plan(spec, ctx), script)))
    assert final.state is JobState.FAILED
    assert final.exit_code == 5
    assert final.message is not None and final.message.startswith("rank 1 failed (exit code 5)")
    codes = {r["rank"]: r["exit_code"] for r in final.extra["ranks"]}
    assert codes == {0: 128 + signal.SIGTERM, 1: 5}


def test_max_runtime_stops_the_job(
    provider: LocalProvider, ctx: RenderContext, scripted: ScriptPlan
) -> None:
    spec = load_spec(limits={"max_runtime": "1s"}, providers={"local": {"grace_period": 1}})
    plan = scripted(provider.plan(spec, ctx), "import time\ntime.sleep(120)\n")
    final = wait_done(provider, provider.submit(plan))
    assert final.state is JobState.FAILED
    assert final.message == "limits.max_runtime (1s) reached; stopped"


def test_restarts_rerun_a_failed_attempt(
    provider: LocalProvider, ctx: RenderContext, scripted: ScriptPlan, tmp_path: Path
) -> None:
    marker = tmp_path / "first-attempt-done"
    script = (
        "import sys\nfrom pathlib import Path\n"
        f"m = Path({str(marker)!r})\n"
        "if not m.exists():\n"
        "    m.write_text('x'); print('attempt failed', flush=True); sys.exit(1)\n"
        "print('resumed', flush=True)\n"
    )
    spec = load_spec(scaling={"restarts": 2})
    plan = scripted(provider.plan(spec, ctx), script)
    final = wait_done(provider, provider.submit(plan))
    assert final.state is JobState.SUCCEEDED
    assert final.extra["attempt"] == 1
    log = list(provider.logs(JobHandle.parse(plan.handle)))
    assert "[cloudgd] rank 0 failed (exit code 1); restart 1 of 2" in log
    assert log.index("attempt failed") < log.index("resumed")


def test_logs_follow_yields_every_line_until_the_end(
    provider: LocalProvider, ctx: RenderContext, scripted: ScriptPlan
) -> None:
    script = (
        "import time\nfor i in range(5):\n    print(f'step={i}', flush=True)\n    time.sleep(0.1)\n"
    )
    plan = scripted(provider.plan(load_spec(), ctx), script)
    provider.submit(plan)
    lines = list(provider.logs(JobHandle.parse(plan.handle), follow=True))
    assert [line for line in lines if line.startswith("step=")] == [f"step={i}" for i in range(5)]
    assert lines[-1] == "[cloudgd] job succeeded"


def test_list_shows_runs_newest_first_and_filters_by_prefix(
    provider: LocalProvider, ctx: RenderContext, scripted: ScriptPlan
) -> None:
    first = scripted(provider.plan(load_spec(), ctx), "pass\n")
    wait_done(provider, provider.submit(first))
    other = load_spec(name="other-job")
    second = scripted(provider.plan(other, ctx), "pass\n")
    wait_done(provider, provider.submit(second))
    names = [s.name for s in provider.list()]
    assert names == [second.job_name, first.job_name]
    assert [s.name for s in provider.list(prefix="other")] == [second.job_name]


def test_platform_variables_from_the_shell_do_not_leak_into_the_job(
    provider: LocalProvider,
    ctx: RenderContext,
    scripted: ScriptPlan,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SM_MODEL_DIR", "/opt/ml/model")
    monkeypatch.setenv("RANK", "7")
    monkeypatch.setenv("AZUREML_RUN_ID", "stale")
    monkeypatch.setenv("CLOUDGD_MODEL_DIR", "/elsewhere")
    monkeypatch.setenv("KEEP_ME", "yes")
    out = tmp_path / "env.json"
    script = f"import json, os\nopen({str(out)!r}, 'w').write(json.dumps(dict(os.environ)))\n"
    wait_done(provider, provider.submit(scripted(provider.plan(load_spec(), ctx), script)))
    env = json.loads(out.read_text())
    for leaked in ("SM_MODEL_DIR", "RANK", "AZUREML_RUN_ID", "CLOUDGD_MODEL_DIR"):
        assert leaked not in env
    assert env["KEEP_ME"] == "yes"
    assert env["PYTHONUNBUFFERED"] == "1"
    assert env["OMP_NUM_THREADS"] == "1"


def test_secrets_reach_the_job_but_not_the_run_dir(
    provider: LocalProvider,
    ctx: RenderContext,
    scripted: ScriptPlan,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("MY_TOKEN", "s3cr3t-value")
    spec = load_spec(secrets={"API_TOKEN": {"source": "env", "ref": "MY_TOKEN"}})
    out = tmp_path / "token"
    script = f"import os\nopen({str(out)!r}, 'w').write(os.environ['API_TOKEN'])\n"
    plan = scripted(provider.plan(spec, ctx), script)
    wait_done(provider, provider.submit(plan))
    assert out.read_text() == "s3cr3t-value"
    run_dir = Path(plan.request["run_dir"])
    for path in run_dir.rglob("*"):
        if path.is_file() and not path.is_symlink():
            assert b"s3cr3t-value" not in path.read_bytes(), path


def test_missing_secret_or_data_fails_submit_before_writing_anything(
    provider: LocalProvider, ctx: RenderContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("NOT_SET_ANYWHERE", raising=False)
    spec = load_spec(secrets={"TOKEN": {"source": "env", "ref": "NOT_SET_ANYWHERE"}})
    plan = provider.plan(spec, ctx)
    with pytest.raises(SpecError, match=r"secrets\.TOKEN \(env: needs \$NOT_SET_ANYWHERE\)"):
        provider.submit(plan)
    assert not Path(plan.request["run_dir"]).exists()
    data_spec = load_spec(trainer={"data": {"source": "csv", "uri": "no/such/file.csv"}})
    data_plan = provider.plan(data_spec, ctx)
    with pytest.raises(SpecError, match=r"trainer\.data\.uri: no such file or directory"):
        provider.submit(data_plan)
    assert not Path(data_plan.request["run_dir"]).exists()


def test_unknown_handles_are_a_clear_error(provider: LocalProvider) -> None:
    with pytest.raises(JobNotFoundError, match="no local run at /nowhere/job-1"):
        provider.status(JobHandle.parse("local:///nowhere/job-1"))


def test_plan_for_another_provider_is_refused(provider: LocalProvider, ctx: RenderContext) -> None:
    plan = provider.plan(load_spec(), ctx).model_copy(update={"provider": "aws"})
    with pytest.raises(SpecError, match="not 'local'"):
        provider.submit(plan)


def test_fresh_provider_with_context_runs_dir(home: Path, scripted: ScriptPlan) -> None:
    ctx = RenderContext(now=FIXED_NOW)
    plan = scripted(LocalProvider().plan(load_spec(), ctx), "pass\n")
    assert plan.request["run_dir"].startswith(str(home / "runs"))
    assert wait_done(LocalProvider(), LocalProvider().submit(plan)).state is JobState.SUCCEEDED


def test_a_one_node_cpu_job_runs_one_process_using_every_core(
    provider: LocalProvider, ctx: RenderContext
) -> None:
    # On two CPU cores one process with two threads beat two gloo ranks 1.15x (issue 24):
    # without a GPU the default is one process, and the trainer keeps torch's default of
    # one thread per core for it (with several ranks it splits the cores between them).
    plan = provider.plan(load_spec(), ctx)
    assert plan.request["processes_per_node"] == 1
    (only,) = plan.request["ranks"]
    assert only["env"].get("LOCAL_WORLD_SIZE", "1") == "1"
