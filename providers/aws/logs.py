"""Training job logs from CloudWatch Logs, across all of a job's streams.

SageMaker writes one stream per instance (``<job>/algo-<n>-<epoch>``) in the
``/aws/sagemaker/TrainingJobs`` group. :class:`LogCursor` reads each stream
from where it last stopped and merges the new events by timestamp, so a
multi-node job reads as one interleaved log. Streams are read one by one
(as the SageMaker SDK does) rather than with FilterLogEvents, whose ordering
across streams is not guaranteed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from providers.aws.client import Connection, error_code, sdk_errors

LOG_GROUP = "/aws/sagemaker/TrainingJobs"


@dataclass(frozen=True)
class LogEvent:
    """One log line of one instance."""

    timestamp: int
    stream: str
    message: str

    @property
    def host(self) -> str:
        """``algo-1`` from ``job/algo-1-1700000000``."""
        tail = self.stream.rsplit("/", 1)[-1]
        parts = tail.split("-")
        return "-".join(parts[:2]) if len(parts) >= 2 else tail


@dataclass
class LogCursor:
    """Incremental reader of every log stream of one training job."""

    logs: Any
    job_name: str
    conn: Connection
    tokens: dict[str, str | None] = field(default_factory=dict)

    def streams(self) -> list[str]:
        """Stream names of the job; empty before SageMaker has created any."""
        names: list[str] = []
        kwargs: dict[str, Any] = {
            "logGroupName": LOG_GROUP,
            "logStreamNamePrefix": f"{self.job_name}/",
        }
        with sdk_errors(f"listing log streams of {self.job_name}", self.conn):
            try:
                while True:
                    page = self.logs.describe_log_streams(**kwargs)
                    names += [s["logStreamName"] for s in page.get("logStreams", [])]
                    if not page.get("nextToken"):
                        break
                    kwargs["nextToken"] = page["nextToken"]
            except Exception as exc:
                if error_code(exc) == "ResourceNotFoundException":
                    return []
                raise
        return sorted(names)

    def _read(self, stream: str) -> list[LogEvent]:
        token = self.tokens.get(stream)
        events: list[LogEvent] = []
        with sdk_errors(f"reading log stream {stream}", self.conn):
            while True:
                kwargs: dict[str, Any] = {
                    "logGroupName": LOG_GROUP,
                    "logStreamName": stream,
                    "startFromHead": True,
                }
                if token:
                    kwargs["nextToken"] = token
                page = self.logs.get_log_events(**kwargs)
                batch = page.get("events", [])
                token = page.get("nextForwardToken", token)
                events += [LogEvent(e["timestamp"], stream, e["message"]) for e in batch]
                if not batch:
                    break
        self.tokens[stream] = token
        return events

    def poll(self) -> list[LogEvent]:
        """Events written since the previous poll, oldest first across streams."""
        events: list[LogEvent] = []
        for stream in self.streams():
            events += self._read(stream)
        return sorted(events, key=lambda e: (e.timestamp, e.stream))

    def lines(self, events: list[LogEvent]) -> list[str]:
        """Lines for people; each is prefixed with its host once the job has several."""
        several = len(self.tokens) > 1
        return [
            f"[{e.host}] {e.message.rstrip()}" if several else e.message.rstrip() for e in events
        ]
