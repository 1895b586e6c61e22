"""Metric gates: fail a CI step when the trained model is worse than a threshold.

``--min-metric val_accuracy=0.95`` passes when the job's final ``val_accuracy`` is at
least 0.95; ``--max-metric val_loss=0.3`` when ``val_loss`` is at most 0.3. A metric
the job did not report fails its gate: a gate that cannot be checked must not pass.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from cloudgd.errors import UsageError

_FROZEN = ConfigDict(frozen=True, extra="forbid")


class MetricGate(BaseModel):
    """One threshold on one final metric."""

    model_config = _FROZEN

    metric: str = Field(description="Metric name as the job reports it, e.g. val_accuracy.")
    bound: Literal["min", "max"] = Field(description="min: value >= threshold; max: <=.")
    threshold: float = Field(description="The value the metric must reach.")

    @property
    def flag(self) -> str:
        """The command-line form, e.g. ``--min-metric val_accuracy=0.95``."""
        return f"--{self.bound}-metric {self.metric}={self.threshold:g}"

    @classmethod
    def parse(cls, text: str, bound: Literal["min", "max"]) -> MetricGate:
        """``NAME=VALUE`` from ``--min-metric``/``--max-metric``."""
        flag = f"--{bound}-metric"
        name, sep, value = text.partition("=")
        name = name.strip()
        if not sep or not name:
            raise UsageError(
                f"{flag} {text!r}: expected NAME=VALUE", hint=f"e.g. {flag} val_accuracy=0.95"
            )
        if any(ord(c) < 32 or ord(c) == 127 for c in name):
            raise UsageError(f"{flag} {text!r}: the name contains a control character")
        try:
            threshold = float(value)
        except ValueError:
            raise UsageError(f"{flag} {text!r}: {value.strip()!r} is not a number") from None
        if not math.isfinite(threshold):
            raise UsageError(f"{flag} {text!r}: the threshold must be a finite number")
        return cls(metric=name, bound=bound, threshold=threshold)

    def check(self, metrics: Mapping[str, float]) -> GateResult:
        """This gate against a job's final metrics."""
        value = metrics.get(self.metric)
        if value is None or math.isnan(value):
            passed = False
        elif self.bound == "min":
            passed = value >= self.threshold
        else:
            passed = value <= self.threshold
        return GateResult(gate=self, value=value, passed=passed)


class GateResult(BaseModel):
    """A gate and what the job scored on it."""

    model_config = _FROZEN

    gate: MetricGate = Field(description="The gate checked.")
    value: float | None = Field(description="The job's final value; None if not reported.")
    passed: bool = Field(description="Whether the job met the gate.")

    def line(self, reported: Iterable[str] = ()) -> str:
        """One line for people: what was measured against what was asked."""
        gate = self.gate
        if self.value is None:
            known = ", ".join(sorted(reported)) or "none"
            return f"{gate.flag}: the job reported no {gate.metric} (it reported: {known})"
        relation = {
            (True, "min"): "at least",
            (True, "max"): "at most",
            (False, "min"): "below",
            (False, "max"): "above",
        }[(self.passed, gate.bound)]
        return f"{gate.metric}={self.value:.6g} is {relation} {gate.threshold:g} ({gate.flag})"


def parse_gates(minimums: Iterable[str], maximums: Iterable[str]) -> list[MetricGate]:
    """All gates from the two repeatable flags, minimums first."""
    return [MetricGate.parse(text, "min") for text in minimums] + [
        MetricGate.parse(text, "max") for text in maximums
    ]


def check_gates(gates: Iterable[MetricGate], metrics: Mapping[str, float]) -> list[GateResult]:
    """Every gate against the job's final metrics, in order."""
    return [gate.check(metrics) for gate in gates]
