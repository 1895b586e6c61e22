"""A study's status, typed: its trials, their counts and the best one.

Every provider's tuning status is a ``JobStatus`` whose ``extra`` carries the study
(``kind: tuning``), so ``--output json`` prints the same document for every cloud.
Providers write that part with :meth:`StudyStatus.to_extra` and readers (the CLI, the
Python API, ``report``) read it back with :meth:`StudyStatus.of`; no one handles the
keys by hand. Only the fields a provider knows are written: SageMaker's trials carry a
``message``, Azure ML's a ``raw_state``, a local study's a ``number`` and the
``intermediate`` values its pruner saw.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from cloudgd.plan import JobStatus

KIND = "kind"
STUDY = "tuning"
TRIAL = "trial"
_MODEL = ConfigDict(frozen=True, extra="forbid")

Value = int | float | None  # as the service reported it (a local study keeps ints as ints)


class TrialStatus(BaseModel):
    """One trial of a study, as the study's status lists it."""

    model_config = _MODEL

    name: str | None = Field(
        default=None, description="The cloud's name (a training job, trial-<id> on Vertex AI)."
    )
    number: int | None = Field(default=None, description="The trial's number (local studies).")
    handle: str | None = Field(default=None, description="The handle that follows the trial.")
    state: str | None = Field(
        default=None,
        description="cloudgd's state word, or the cloud's own (SageMaker's Completed).",
    )
    raw_state: str | None = Field(default=None, description="The provider's own state string.")
    params: dict[str, Any] | None = Field(
        default=None, description="The trial's values by trainer path, where the service says."
    )
    value: Value = Field(default=None, description="The objective's final value.")
    message: str | None = Field(default=None, description="Why it failed or stopped.")
    intermediate: dict[str, float] | None = Field(
        default=None, description="The objective at each epoch (local studies, for pruning)."
    )

    @property
    def label(self) -> str:
        """How a trial is named to people: the cloud's name, or ``#n`` for local trials."""
        if self.name:
            return self.name
        return f"#{self.number}" if self.number is not None else "?"


class BestTrial(BaseModel):
    """The study's best trial so far."""

    model_config = _MODEL

    name: str | None = Field(default=None, description="The best trial's name (clouds).")
    trial: int | None = Field(default=None, description="The best trial's number (local).")
    params: dict[str, Any] | None = Field(default=None, description="Its values.")
    value: Value = Field(default=None, description="Its objective value.")
    run: str | None = Field(default=None, description="Its run's handle (local studies).")

    @property
    def label(self) -> str:
        """The name the trials table gives this trial."""
        return TrialStatus(name=self.name, number=self.trial).label


class StudyStatus(BaseModel):
    """The study part of a tuning job's status (``JobStatus.extra`` with ``kind: tuning``)."""

    model_config = _MODEL

    trial_counts: dict[str, int] = Field(
        default_factory=dict, description="Trials in each state (the service's words)."
    )
    best: BestTrial | None = Field(default=None, description="The best trial so far, if any.")
    trials: list[TrialStatus] | None = Field(
        default=None, description="Every trial; None where the backend cannot list them."
    )
    metric: str | None = Field(default=None, description="The objective's metric name.")
    note: str | None = Field(default=None, description="What people should know about trials.")
    study_dir: str | None = Field(default=None, description="A local study's directory.")

    @field_validator("best", mode="before")
    @classmethod
    def _no_best(cls, value: Any) -> Any:
        return value or None  # {} on the wire: none yet

    def to_extra(self) -> dict[str, Any]:
        """The ``JobStatus.extra`` keys of this study (only those its provider set)."""
        document = self.model_dump(exclude_unset=True)
        if "best" in self.model_fields_set and self.best is None:
            document["best"] = {}
        return {KIND: STUDY, **document}

    @classmethod
    def of(cls, status: JobStatus) -> StudyStatus | None:
        """The study a status reports, or None when it is no study's."""
        if status.extra.get(KIND) != STUDY:
            return None
        return cls.model_validate({k: v for k, v in status.extra.items() if k in cls.model_fields})


class TrialOfStudy(BaseModel):
    """The trial part of one trial's status, where a trial is no job of its own (Vertex AI)."""

    model_config = _MODEL

    study: str = Field(description="The whole study's handle.")
    params: dict[str, Any] | None = Field(default=None, description="The trial's values.")

    def to_extra(self) -> dict[str, Any]:
        """The ``JobStatus.extra`` of the trial's status."""
        return {KIND: TRIAL, **self.model_dump()}

    @classmethod
    def of(cls, status: JobStatus) -> TrialOfStudy | None:
        """The study trial a status reports, or None."""
        if status.extra.get(KIND) != TRIAL:
            return None
        return cls.model_validate({k: v for k, v in status.extra.items() if k in cls.model_fields})
