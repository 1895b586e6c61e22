"""``cloudgd data upload``: which local files go where, the same on every cloud."""

from __future__ import annotations

from pathlib import Path

import pytest

from cloudgd.datafiles import upload_targets
from cloudgd.errors import SpecError


def test_a_file_goes_to_the_uri_or_keeps_its_name_under_a_folder_uri(tmp_path: Path) -> None:
    data = tmp_path / "train.csv"
    data.write_text("x,y\n")
    assert upload_targets(data, "gs://b/d/train-v2.csv") == [(data, "gs://b/d/train-v2.csv")]
    assert upload_targets(data, "s3://b/d/") == [(data, "s3://b/d/train.csv")]


def test_a_directory_uploads_its_files_by_relative_path_and_never_follows_links(
    tmp_path: Path,
) -> None:
    outside = tmp_path / "secret.txt"
    outside.write_text("not data")
    folder = tmp_path / "data"
    (folder / "part").mkdir(parents=True)
    (folder / "a.csv").write_text("1\n")
    (folder / "part" / "b.csv").write_text("2\n")
    (folder / "link.txt").symlink_to(outside)
    (folder / "linked-dir").symlink_to(tmp_path)
    targets = upload_targets(folder, "azureml://datastores/ws/paths/data")
    assert [uri for _, uri in targets] == [
        "azureml://datastores/ws/paths/data/a.csv",
        "azureml://datastores/ws/paths/data/part/b.csv",
    ]


def test_a_symlink_or_missing_path_is_refused(tmp_path: Path) -> None:
    (tmp_path / "link").symlink_to(tmp_path)
    for path in (tmp_path / "link", tmp_path / "missing"):
        with pytest.raises(SpecError, match="not a file or directory"):
            upload_targets(path, "s3://b/x/")
