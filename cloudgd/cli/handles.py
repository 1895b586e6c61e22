"""Turn a HANDLE argument into (provider, JobHandle) with no local database.

A handle is a URI (``aws://us-east-1/job?backend=moto&endpoint=...``); its query
carries what a fresh process needs to reconnect. For local runs the run
directory, or a run's name under the runs directory, is accepted as well.
The functions live in :mod:`cloudgd.runner`, shared with the Python API.
"""

from __future__ import annotations

from cloudgd.handles import check_endpoint, is_loopback
from cloudgd.runner import check_outcome, default_poll, open_handle, parse_handle

__all__ = [
    "check_endpoint",
    "check_outcome",
    "default_poll",
    "is_loopback",
    "open_handle",
    "parse_handle",
]
