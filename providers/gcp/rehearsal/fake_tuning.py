"""HyperparameterTuningJobs in the fake Vertex AI service: a timeline and its trials.

A tuning job follows the same clock as a custom job (``JobStore``'s timeline:
QUEUED → PENDING → RUNNING → SUCCEEDED, a cancel goes CANCELLING → CANCELLED).
Its RUNNING phase is split into waves of ``parallelTrialCount`` trials, so
``trials`` in the body grows as the study runs: ACTIVE, then SUCCEEDED with a
``finalMeasurement``; a cancel leaves the running trials STOPPING, then INFEASIBLE.
The fake trains nothing: each trial's parameter values and objective are drawn
from a generator seeded by the job name and trial number, so reads are stable
and followers have real-shaped trials to show. A study logs to Cloud Logging as
an ``ml_job`` like a custom job: the service's job messages, and a start and an
end line per trial labelled ``ml.googleapis.com/trial_id``. Bounded; stdlib only.
"""

from __future__ import annotations

import math
import random
from typing import Any

from providers.gcp.rehearsal.fake_query import FakeError, parse_time, rfc3339
from providers.gcp.rehearsal.fake_store import JobStore, JobTable, _Job, validate_job

MAX_TUNING_JOBS = 200
MAX_TRIALS = 1000
TRIAL_LABEL = "ml.googleapis.com/trial_id"  # the label Vertex puts on a trial's log entries
# google.cloud.aiplatform.v1.Trial.State numbering (study.proto).
TRIAL_STATE_NUMBERS = {
    "STATE_UNSPECIFIED": 0,
    "REQUESTED": 1,
    "ACTIVE": 2,
    "STOPPING": 3,
    "SUCCEEDED": 4,
    "INFEASIBLE": 5,
}


def _bad(message: str) -> FakeError:
    return FakeError(400, "INVALID_ARGUMENT", message)


def validate_tuning_job(body: dict[str, Any]) -> None:
    """The service-side checks that catch a malformed CreateHyperparameterTuningJob body."""
    if not body.get("displayName"):
        raise _bad("HyperparameterTuningJob.display_name is required")
    study = body.get("studySpec") or {}
    if not study.get("metrics"):
        raise _bad("study_spec.metrics is required")
    if not study.get("parameters"):
        raise _bad("study_spec.parameters is required")
    trials, parallel = int(body.get("maxTrialCount") or 0), int(body.get("parallelTrialCount") or 0)
    if not 0 < trials <= MAX_TRIALS:
        raise _bad(f"max_trial_count must be between 1 and {MAX_TRIALS}")
    if parallel <= 0:
        raise _bad("parallel_trial_count must be positive")
    # The trial job spec must be a valid custom job's spec.
    validate_job({**body, "jobSpec": body.get("trialJobSpec") or {}})


def _value(spec: dict[str, Any], rng: random.Random) -> Any:
    """One value for a StudySpec.ParameterSpec, drawn the way its scale says."""
    if "doubleValueSpec" in spec:
        low, high = spec["doubleValueSpec"]["minValue"], spec["doubleValueSpec"]["maxValue"]
        if spec.get("scaleType") == "UNIT_LOG_SCALE":
            return math.exp(rng.uniform(math.log(low), math.log(high)))
        return rng.uniform(low, high)
    if "integerValueSpec" in spec:
        ints = spec["integerValueSpec"]
        return rng.randint(int(ints["minValue"]), int(ints["maxValue"]))
    if "discreteValueSpec" in spec:
        return rng.choice(spec["discreteValueSpec"]["values"])
    return rng.choice(spec["categoricalValueSpec"]["values"])


class TuningStore(JobTable):
    """Thread-safe, bounded tuning jobs on the clock and phases of a ``JobStore``."""

    kind = "HyperparameterTuningJob"
    collection = "hyperparameterTuningJobs"
    full = "at most {} studies"

    def __init__(self, jobs: JobStore) -> None:
        # One clock for both: a study's timeline is a custom job's.
        super().__init__(jobs.clock, first_id=int(jobs.clock() * 1000) * 1000 + 500_001)
        self.jobs = jobs
        jobs.log_sources.append(self.log_entries)

    def _limit(self) -> int:
        return MAX_TUNING_JOBS

    def _validate(self, body: dict[str, Any]) -> None:
        validate_tuning_job(body)

    def _timeline(self, job: _Job) -> dict[str, Any]:
        return self.jobs._timeline(job)

    # -- logs ------------------------------------------------------------------
    def log_entries(self) -> list[dict[str, Any]]:
        """Every study's log entries: the job's service messages and each trial's events."""
        with self._lock:
            studies = [(job, self._timeline(job)) for job in self._jobs.values()]
        entries: list[dict[str, Any]] = []
        for job, line in studies:
            entries += self.jobs._service_entries(job)
            metric = job.body["studySpec"]["metrics"][0]["metricId"]
            for trial in self._trials(job, line):
                entries += self._trial_entries(job, trial, metric)
        return entries

    def _trial_entries(self, job: _Job, trial: dict[str, Any], metric: str) -> list[dict[str, Any]]:
        number, labels = trial["id"], {TRIAL_LABEL: trial["id"]}
        values = ", ".join(f"{p['parameterId']}={p['value']}" for p in trial["parameters"])
        events = [(trial["startTime"], "INFO", f"Trial {number} started: {values}")]
        if "endTime" in trial:
            final = (trial.get("finalMeasurement") or {}).get("metrics") or []
            text = (
                f"Trial {number} succeeded: {metric}={final[0]['value']}"
                if final
                else f"Trial {number} stopped: {trial.get('infeasibleReason', '')}".rstrip()
            )
            events.append((trial["endTime"], "INFO", text))
        return [
            self.jobs._entry(job, parse_time(when), sev, text, f"trial-{number}-{i}", labels)
            for i, (when, sev, text) in enumerate(events)
        ]

    # -- views ---------------------------------------------------------------
    def _trials(self, job: _Job, line: dict[str, Any]) -> list[dict[str, Any]]:
        if line["start"] is None:
            return []
        body, now = job.body, self.clock()
        count, parallel = int(body["maxTrialCount"]), int(body["parallelTrialCount"])
        wave = self.jobs.phases.running / math.ceil(count / parallel)
        # Trials stop at a cancel (or a failure) even while the job is still CANCELLING;
        # a succeeded job has run every wave to its end.
        stopped_at = job.cancel_at if job.cancel_at is not None else math.inf
        if line["state"] == "JOB_STATE_FAILED":
            stopped_at = line["end"]
        if line["state"] == "JOB_STATE_SUCCEEDED":
            now = math.inf
        metric = body["studySpec"]["metrics"][0]["metricId"]
        trials = []
        for index in range(count):
            begin = line["start"] + (index // parallel) * wave
            end = begin + wave
            if begin > now or begin >= stopped_at:
                break
            rng = random.Random(f"{job.name}/{index + 1}")
            trial: dict[str, Any] = {
                "id": str(index + 1),
                "parameters": [
                    {"parameterId": p["parameterId"], "value": _value(p, rng)}
                    for p in body["studySpec"]["parameters"]
                ],
                "startTime": rfc3339(begin),
            }
            if end <= min(now, stopped_at):
                trial["state"] = "SUCCEEDED"
                trial["endTime"] = rfc3339(min(end, line["end"] or end))
                trial["finalMeasurement"] = {
                    "stepCount": "1",
                    "metrics": [{"metricId": metric, "value": round(rng.random(), 6)}],
                }
            elif now >= stopped_at:
                ended = line["end"] is not None
                trial["state"] = "INFEASIBLE" if ended else "STOPPING"
                if ended:
                    trial["endTime"] = rfc3339(line["end"])
                    trial["infeasibleReason"] = "the tuning job was stopped"
            else:
                trial["state"] = "ACTIVE"
            trials.append(trial)
        return trials

    def _more_view(self, job: _Job, line: dict[str, Any]) -> dict[str, Any]:
        trials = self._trials(job, line)
        return {"trials": trials} if trials else {}
