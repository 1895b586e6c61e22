"""The record of what a job reports, which submit leaves in ``$CLOUDGD_HOME/jobs`` for a
later ``cloudgd wait HANDLE --min-metric``: found by the job's address, whatever the
handle's query; never read through a symlink; pruned; never a reason for submit to fail."""

from __future__ import annotations

import json
import os
from pathlib import Path

from cloudgd.ci.reported import JobReports, prune_records, record, record_path, recorded
from cloudgd.plan import JobHandle

SCRIPT = JobReports.script(["val_acc"], any_name=False)


def test_a_record_is_found_by_the_jobs_address_whatever_the_query() -> None:
    record("aws://us-east-1/byo-3f2a9c?backend=moto&endpoint=http://127.0.0.1:5000", SCRIPT)
    # a later step's handle: another endpoint port, or none (as `cloudgd list` prints it)
    assert recorded(JobHandle.parse("aws://us-east-1/byo-3f2a9c?backend=moto")) == SCRIPT
    assert recorded(JobHandle.parse("aws://us-east-1/byo-3f2a9c")) == SCRIPT
    assert recorded(JobHandle.parse("aws://eu-west-1/byo-3f2a9c")) is None
    assert recorded(JobHandle.parse("gcp://proj/us-central1/byo-3f2a9c")) is None


def test_a_symlink_in_place_of_a_record_is_not_followed(tmp_path: Path) -> None:
    handle = JobHandle.parse("azure://sub/rg/ws/byo-3f2a9c")
    elsewhere = tmp_path / "elsewhere.json"
    path = record(handle, SCRIPT)
    assert path is not None
    elsewhere.write_bytes(path.read_bytes())
    path.unlink()
    path.symlink_to(elsewhere)
    assert recorded(handle) is None
    record(handle, JobReports.trainer())  # writing replaces the link, not what it points to
    assert recorded(handle) == JobReports.trainer()
    assert json.loads(elsewhere.read_text())["reports"]["runner"] == "script"


def test_old_records_are_pruned_and_other_files_left_alone(cloudgd_home: Path) -> None:
    handles = [JobHandle.parse(f"fake://zone-1/job-{n}") for n in range(5)]
    for age, handle in enumerate(handles):  # job-0 the newest
        path = record(handle, SCRIPT)
        assert path is not None
        os.utime(path, (1_000_000 - age, 1_000_000 - age))
    mine = cloudgd_home / "jobs" / "notes.txt"
    mine.write_text("not cloudgd's")
    prune_records(cloudgd_home / "jobs", keep=3)
    assert [recorded(h) is not None for h in handles] == [True, True, True, False, False]
    assert mine.read_text() == "not cloudgd's"


def test_a_home_where_no_record_can_be_written_does_not_fail_the_record(
    cloudgd_home: Path,
) -> None:
    cloudgd_home.mkdir(parents=True)
    (cloudgd_home / "jobs").write_text("a file where the folder would go")
    handle = JobHandle.parse("fake://zone-1/job")
    assert record(handle, SCRIPT) is None
    assert recorded(handle) is None
    assert record_path(handle).parent == cloudgd_home / "jobs"
