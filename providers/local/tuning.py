"""Local hyperparameter tuning: Optuna picks values, each trial is a real local run.

Every trial is the job itself with the trial's trainer values set, planned and
submitted through :class:`LocalProvider` (so it runs the real trainer under the
usual supervisor, in ``<study>/trials/``). Up to ``min(parallel_trials, CPUs)``
trials run at once (Optuna worker threads that each wait on a subprocess). With
``early_stopping`` each trial's epoch records are read from its metrics.jsonl as
they appear and reported to Optuna's median pruner; a pruned trial is cancelled.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

from cloudgd.errors import JobNotFoundError
from cloudgd.plan import JobHandle, JobState, JobStatus, Plan, RenderContext
from cloudgd.spec import JobSpec
from cloudgd.tuning.cost import require_tuning
from cloudgd.tuning.spec import TuningSpec
from cloudgd.tuning.validate import trial_trainer
from providers.local.logstream import read_lines
from providers.local.provider import LocalProvider
from providers.local.rundir import now_iso
from providers.local.study import StudyDir, study_handle, study_status
from providers.local.trust import mark_study, trusted_study

POLL_SECONDS = 0.3
METRICS = "metrics.jsonl"


# (job spec without tuning:, the trial's values, its context, its number) -> a local plan.
# A rehearsal passes the values the way its cloud does; the default writes them into
# the trainer config.
TrialPlanner = Callable[[JobSpec, dict[str, Any], RenderContext, int], Plan]


class TrialFailed(Exception):
    """A trial's run ended FAILED; Optuna records it and the study goes on."""


def workers(tuning: TuningSpec) -> int:
    """Trials at once: parallel_trials, bounded by this machine's CPUs."""
    return max(1, min(tuning.parallel_trials, os.cpu_count() or 1, tuning.trial_count))


def _sampler(tuning: TuningSpec) -> Any:
    import optuna

    if tuning.strategy == "grid":
        space = {p: r.candidates for p, r in sorted(tuning.parameters.items())}
        return optuna.samplers.GridSampler(space, seed=0)
    if tuning.strategy == "random":
        return optuna.samplers.RandomSampler(seed=0)
    return optuna.samplers.TPESampler(seed=0)


def _suggest(trial: Any, tuning: TuningSpec) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for path, rng in sorted(tuning.parameters.items()):
        if rng.type == "choice":
            values[path] = trial.suggest_categorical(path, rng.candidates)
        elif rng.type == "int_uniform":
            values[path] = trial.suggest_int(path, int(rng.low), int(rng.high))
        else:
            values[path] = trial.suggest_float(
                path, rng.low, rng.high, log=rng.type == "log_uniform"
            )
    return values


def epoch_values(metrics_file: Path, metric: str) -> list[tuple[int, float]]:
    """(epoch, value) of every epoch record that has ``metric`` (a half-written line is skipped)."""
    found: list[tuple[int, float]] = []
    try:
        lines = metrics_file.read_text(encoding="utf-8").splitlines()
    except OSError:
        return found
    for line in lines:
        try:
            record = json.loads(line)
        except ValueError:
            continue
        value = record.get(metric)
        if record.get("kind") == "epoch" and isinstance(value, int | float):
            found.append((int(record.get("epoch", len(found) + 1)), float(value)))
    return found


class LocalStudy:
    """Runs one study in this process; ``cancel_study`` from any process stops it."""

    def __init__(
        self,
        spec: JobSpec,
        study_dir: Path,
        *,
        name: str,
        now: datetime,
        on_event: Callable[[str], None] | None = None,
        plan_trial: TrialPlanner | None = None,
        spec_dir: str | None = None,
    ) -> None:
        self.spec = spec
        self.tuning = require_tuning(spec)
        self.study = StudyDir(study_dir)
        self.name = name
        self.now = now
        self.spec_dir = spec_dir
        self.on_event = on_event or (lambda line: None)
        self.provider = LocalProvider(runs_dir=str(self.study.trials_dir))
        self.handle = study_handle(self.study.path)
        self.plan_trial = plan_trial

    # -- bookkeeping ---------------------------------------------------------------
    def _event(self, line: str) -> None:
        self.study.log(line)
        self.on_event(line)

    def _record(self, number: int, **fields: Any) -> None:
        def change(state: dict[str, Any]) -> None:
            trials = state.setdefault("trials", [])
            entry = next((t for t in trials if t["number"] == number), None)
            if entry is None:
                entry = {"number": number}
                trials.append(entry)
            entry.update(fields)
            trials.sort(key=lambda t: t["number"])

        self.study.update(change)

    # -- one trial -----------------------------------------------------------------
    def _objective(self, trial: Any) -> float:
        import optuna

        if self.study.cancel_requested():
            trial.study.stop()
            raise optuna.TrialPruned("study cancelled")
        values = _suggest(trial, self.tuning)
        ctx = RenderContext(
            now=self.now,
            idempotency_key=f"{self.name}-trial-{trial.number}",
            runs_dir=str(self.study.trials_dir),
            spec_dir=self.spec_dir,
        )
        if self.plan_trial is not None:  # the cloud's own way of passing the values
            plan = self.plan_trial(
                self.spec.model_copy(update={"tuning": None}), values, ctx, trial.number
            )
        elif self.spec.script is not None:  # a script job: the values are its arguments
            from cloudgd.script_tuning import trial_script

            script = trial_script(self.spec.script, values)
            spec = self.spec.model_copy(update={"script": script, "tuning": None})
            plan = self.provider.plan(spec, ctx)
        else:
            trainer = trial_trainer(self.spec.trainer, values)
            spec = self.spec.model_copy(update={"trainer": trainer, "tuning": None})
            plan = self.provider.plan(spec, ctx)
        status = self.provider.submit(plan)
        handle = JobHandle.parse(status.handle)
        self._record(trial.number, state="RUNNING", params=values, handle=str(handle))
        shown = ", ".join(
            f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in values.items()
        )
        self._event(f"trial {trial.number} started: {shown}")
        return self._follow(trial, handle)

    def _follow(self, trial: Any, handle: JobHandle) -> float:
        import optuna

        metric = self.tuning.metric.name
        reported: set[int] = set()
        while True:
            status = self.provider.status(handle)
            output = (status.extra.get("artifacts") or {}).get("output_dir")
            if output:
                for epoch, value in epoch_values(Path(output) / METRICS, metric):
                    if epoch not in reported:
                        reported.add(epoch)
                        trial.report(value, epoch)
                        self._record(trial.number, intermediate={str(epoch): value})
            if status.state.terminal:
                break
            stop = self.study.cancel_requested()
            if stop or (self.tuning.early_stopping and reported and trial.should_prune()):
                self.provider.cancel(handle)
                state = "CANCELLED" if stop else "PRUNED"
                self._record(trial.number, state=state)
                self._event(
                    f"trial {trial.number} {state.lower()} after epoch {max(reported, default=0)}"
                )
                if stop:
                    trial.study.stop()
                raise optuna.TrialPruned(state)
            time.sleep(POLL_SECONDS)
        if status.state is not JobState.SUCCEEDED:
            self._record(trial.number, state=status.state.value, message=status.message)
            self._event(
                f"trial {trial.number} {status.state.value}: {status.message or ''}".rstrip(": ")
            )
            if status.state is JobState.CANCELLED:
                raise optuna.TrialPruned("cancelled")
            raise TrialFailed(status.message or status.state.value)
        final: float | None = status.metrics.get(metric)
        if final is None:
            history = epoch_values(Path(output) / METRICS, metric) if output else []
            if not history:
                self._record(trial.number, state="FAILED", message=f"no {metric} reported")
                raise TrialFailed(f"the trial reported no {metric}")
            final = history[-1][1]
        self._record(trial.number, state="SUCCEEDED", value=final)
        self._event(f"trial {trial.number} finished: {metric}={final:.6g}")
        return float(final)

    # -- the study -----------------------------------------------------------------
    def run(self) -> JobStatus:
        """Run every trial (or until cancelled); write results.csv and best.json."""
        import optuna

        optuna.logging.set_verbosity(optuna.logging.WARNING)
        tuning = self.tuning
        mark_study(self.study.path, self.name)
        self.study.update(
            lambda s: s.update(
                name=self.name,
                state="RUNNING",
                pid=os.getpid(),
                created_at=s.get("created_at") or now_iso(),
                metric=tuning.metric.name,
                goal=tuning.metric.goal,
                max_trials=tuning.trial_count,
                parallel=workers(tuning),
                trials=s.get("trials", []),
            )
        )
        pruner = (
            optuna.pruners.MedianPruner(n_startup_trials=1, n_warmup_steps=0)
            if tuning.early_stopping
            else optuna.pruners.NopPruner()
        )
        study = optuna.create_study(
            study_name=self.name,
            direction=tuning.metric.goal,
            sampler=_sampler(tuning),
            pruner=pruner,
        )
        self._event(
            f"study {self.name}: {tuning.trial_count} trials, {workers(tuning)} at once, "
            f"{tuning.strategy}, {tuning.metric.goal} {tuning.metric.name}"
        )
        message = None
        try:
            study.optimize(
                self._objective,
                n_trials=tuning.trial_count,
                n_jobs=workers(tuning),
                catch=(TrialFailed,),
            )
        except BaseException:
            self.study.request_cancel()
            self._stop_trials()
            message = "interrupted"
            raise
        finally:
            self._finish(message)
        return study_status(self.study, self.handle)

    def _stop_trials(self) -> None:
        for trial in self.study.read().get("trials", []):
            if trial.get("state") == "RUNNING" and trial.get("handle"):
                self.provider.cancel(JobHandle.parse(trial["handle"]))
                self._record(trial["number"], state="CANCELLED")

    def _finish(self, message: str | None) -> None:
        state = self.study.read()
        trials = state.get("trials", [])
        done = [t for t in trials if t.get("state") == "SUCCEEDED" and t.get("value") is not None]
        pick = min if self.tuning.metric.goal == "minimize" else max
        best = pick(done, key=lambda t: t["value"]) if done else None
        cancelled = self.study.cancel_requested()
        final = "CANCELLED" if cancelled else ("SUCCEEDED" if done else "FAILED")
        best_doc = (
            {
                "trial": best["number"],
                "value": best["value"],
                "params": best["params"],
                "run": best["handle"],
            }
            if best
            else None
        )
        self.study.update(
            lambda s: s.update(
                state=final,
                ended_at=now_iso(),
                best=best_doc,
                message=message or (None if done else "no trial succeeded"),
            )
        )
        self.study.write_results(trials, best_doc)
        if best_doc:
            self._event(
                f"best: trial {best_doc['trial']} "
                f"{self.tuning.metric.name}={best_doc['value']:.6g} {best_doc['params']}"
            )
        self._event(f"study {final.lower()}")


# -- following a study from any process ------------------------------------------------
def _study(handle: JobHandle) -> StudyDir:
    study = StudyDir(trusted_study(handle.parts[0]))
    if not study.exists():
        raise JobNotFoundError(f"no local study at {study.path}")
    return study


def status(handle: JobHandle) -> JobStatus:
    """The study's state with per-trial status."""
    return study_status(_study(handle), str(handle))


def logs(handle: JobHandle, *, follow: bool = False) -> Iterator[str]:
    """The study's progress lines; with ``follow``, until it ends."""
    study = _study(handle)
    return read_lines(study.log_file, follow=follow, done=lambda: status(handle).state.terminal)


def cancel(handle: JobHandle, *, wait: float = 30.0) -> JobStatus:
    """Ask the driver to stop; cancel running trials here too; wait for the study to end."""
    study = _study(handle)
    if status(handle).state.terminal:
        return status(handle)
    study.request_cancel()
    provider = LocalProvider(runs_dir=str(study.trials_dir))
    for trial in study.read().get("trials", []):
        if trial.get("state") == "RUNNING" and trial.get("handle"):
            provider.cancel(JobHandle.parse(trial["handle"]))
    deadline = time.monotonic() + wait
    pid = study.read().get("pid")
    while time.monotonic() < deadline and not status(handle).state.terminal:
        if pid and not _alive(int(pid)):
            study.update(
                lambda s: s.update(
                    state="CANCELLED",
                    ended_at=now_iso(),
                    message="cancelled; the driver was not running",
                )
            )
            break
        time.sleep(0.2)
    return status(handle)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
