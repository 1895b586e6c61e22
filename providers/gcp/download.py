"""``cloudgd download`` for Vertex AI jobs: ``<baseOutputDirectory>/model/`` and
``/output/`` from Cloud Storage into DEST/model and DEST/output (:mod:`cloudgd.download`);
and the metrics files alone (``cloudgd report``: :func:`download_run_files`).

Vertex sets AIP_MODEL_DIR to ``<base>/model/``; the trainer writes its outputs (metrics
included) to ``<base>/output/`` beside it.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from cloudgd.errors import ProviderError
from cloudgd.plan import JobHandle
from providers.gcp.states import state_name


def download_job(
    api: Any,
    job: dict[str, Any],
    handle: JobHandle,
    dest: Path,
    progress: Callable[[str, int], None] | None = None,
) -> list[Path]:
    """The files written under ``dest``; ProviderError when the job left none (yet)."""
    from cloudgd.download import check_free

    base = ((job.get("jobSpec") or {}).get("baseOutputDirectory") or {}).get("outputUriPrefix")
    if not base:
        raise ProviderError(
            f"Vertex AI job {handle.job} has no baseOutputDirectory",
            hint="jobs cloudgd submits always set one; was this job created elsewhere?",
        )
    check_free(dest)
    project = job["name"].split("/")[1]
    written: list[Path] = []
    for part in ("model", "output"):
        prefix = f"{base.rstrip('/')}/{part}/"
        for relative, path in api.download_tree(prefix, dest / part, project):
            written.append(path)
            if progress is not None:
                progress(f"{part}/{relative}", path.stat().st_size)
    if not written:
        raise ProviderError(
            f"{handle.job}: nothing to download yet (nothing under {base.rstrip('/')}/model/ "
            f"or /output/; job state {state_name(job.get('state'))})",
            hint=f"the trainer writes them as it runs; see cloudgd status '{handle}'",
        )
    return written


def download_run_files(
    api: Any, job: dict[str, Any], spec_key: str, under: str, dest: Path, handle: JobHandle
) -> Path:
    """metrics.jsonl and summary.json from ``<baseOutputDirectory>/<under>`` of a Vertex
    job (``spec_key``: ``jobSpec`` of a custom job, ``trialJobSpec`` of a tuning job)."""
    from cloudgd.report.runfiles import RUN_FILES, NoMetricsError, clear_run_files

    base = ((job.get(spec_key) or {}).get("baseOutputDirectory") or {}).get("outputUriPrefix")
    if not base:
        raise ProviderError(
            f"Vertex AI job {handle.job} has no baseOutputDirectory",
            hint="jobs cloudgd submits always set one; was this job created elsewhere?",
        )
    prefix = base.rstrip("/") + "/" + under
    clear_run_files(dest)
    if not api.download_files(prefix, RUN_FILES, dest, job["name"].split("/")[1]):
        raise NoMetricsError(
            f"{handle.job}: no metrics yet (nothing under {prefix}; job state "
            f"{state_name(job.get('state'))})",
            hint=f"follow the job with: cloudgd logs --follow '{handle}'",
        )
    return dest
