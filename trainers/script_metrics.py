"""Metrics of a user's script, collected in the trainer's format. Stdlib only.

The launcher (``trainers/script_launch.py``) hands every line the script prints to
:meth:`Collector.line`; each line that matches one of ``script.metrics.regex``
becomes one ``kind="epoch"`` record in ``<output>/metrics.jsonl`` (the file the
trainer writes), and a JSON-lines file the script writes itself
(``script.metrics.file``) is read the same way when the script ends. ``finish``
writes ``summary.json`` with the last value of each metric under ``final``, so
``cloudgd report``, CI gates and tuning objectives read scripts like the trainer.

A collected metric named ``epoch`` or ``step`` numbers the records (so a script
resumed from its checkpoint continues its numbering); otherwise records count up.
"""

from __future__ import annotations

import json
import math
import re
import time
from pathlib import Path
from typing import Any

METRICS_NAME = "metrics.jsonl"
SUMMARY_NAME = "summary.json"
_COUNTERS = ("epoch", "step")


def _number(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value


def _json_value(value: float) -> Any:
    if not math.isfinite(value):
        return str(value)  # strict JSON has no NaN/Infinity (the trainer writes them so)
    return int(value) if value.is_integer() and abs(value) < 2**53 else value


class Collector:
    """Turns matched lines and metric-file rows into metrics.jsonl records."""

    def __init__(
        self,
        output_dir: Path,
        regexes: dict[str, str],
        metrics_file: str | None = None,
        *,
        enabled: bool = True,
        sinks: list[Any] | None = None,
    ) -> None:
        self.output_dir = output_dir
        self.patterns = {name: re.compile(p) for name, p in sorted(regexes.items())}
        self.metrics_file = metrics_file
        self.enabled = enabled
        self.sinks = list(sinks or [])
        self.records = 0
        self.final: dict[str, float] = {}
        self.started = time.monotonic()
        if enabled:
            output_dir.mkdir(parents=True, exist_ok=True)

    @property
    def path(self) -> Path:
        return self.output_dir / METRICS_NAME

    def line(self, text: str) -> dict[str, Any] | None:
        """Match one printed line; the record written, or None."""
        values: dict[str, float] = {}
        for name, pattern in self.patterns.items():
            match = pattern.search(text)
            if match:
                value = _number(match.group(1))
                if value is not None:
                    values[name] = value
        return self.record(values) if values else None

    def record(self, values: dict[str, float]) -> dict[str, Any] | None:
        """Write one record of ``values`` (numbered by epoch/step when given)."""
        if not values:
            return None
        self.records += 1
        self.final.update(values)
        record: dict[str, Any] = {"kind": "epoch"}
        for counter in _COUNTERS:
            given = values.get(counter)
            record[counter] = int(given) if given is not None else self.records
        record.update({k: _json_value(v) for k, v in values.items() if k not in _COUNTERS})
        if self.enabled:
            with self.path.open("a", encoding="utf-8") as handle:
                handle.write(json.dumps(record) + "\n")
            for sink in self.sinks:
                sink.write(record)
        return record

    def read_metrics_file(self) -> int:
        """Collect the rows of the script's own metrics file; how many were read."""
        if not self.metrics_file:
            return 0
        path = self.output_dir / self.metrics_file
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except OSError:
            return 0
        read = 0
        for line in lines:
            try:
                row = json.loads(line)
            except ValueError:
                continue  # a half-written last line
            if not isinstance(row, dict):
                continue
            values = {
                str(k): float(v)
                for k, v in row.items()
                if isinstance(v, int | float) and not isinstance(v, bool)
            }
            if self.record(values):
                read += 1
        return read

    def finish(self, exit_code: int, *, platform: str, world_size: int) -> dict[str, Any]:
        """Write summary.json (rank 0) and return it."""
        summary: dict[str, Any] = {
            "stopped_reason": "completed" if exit_code == 0 else f"exit code {exit_code}",
            "exit_code": exit_code,
            "epochs": self.records,
            "final": {k: _json_value(v) for k, v in sorted(self.final.items())},
            "wall_time_s": round(time.monotonic() - self.started, 3),
            "world_size": world_size,
            "platform": platform,
            "runner": "script",
        }
        if self.enabled:
            tmp = self.output_dir / (SUMMARY_NAME + ".tmp")
            tmp.write_text(json.dumps(summary, indent=2, sort_keys=True) + "\n")
            tmp.replace(self.output_dir / SUMMARY_NAME)
        return summary
