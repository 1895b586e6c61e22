"""The golden-file check every plan test uses: it fails on one changed byte, and on a
missing file, and writes the file only when CLOUDGD_UPDATE_GOLDEN is exactly 1."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.golden import assert_golden


def test_a_changed_line_fails_and_shows_the_diff(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CLOUDGD_UPDATE_GOLDEN", raising=False)
    golden = tmp_path / "plan.json"
    golden.write_text('{\n "epochs": 2\n}\n')
    assert_golden(golden, '{\n "epochs": 2\n}\n')
    with pytest.raises(
        AssertionError, match=r'(?s)plan\.json differs.*-\s*"epochs": 2.*\+\s*"epochs": 3'
    ):
        assert_golden(golden, '{\n "epochs": 3\n}\n')


def test_a_missing_golden_file_fails(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CLOUDGD_UPDATE_GOLDEN", raising=False)
    with pytest.raises(AssertionError, match="missing golden"):
        assert_golden(tmp_path / "absent.json", "{}\n")


@pytest.mark.parametrize("value", ["0", "yes"])
def test_only_update_golden_1_rewrites_the_file(
    value: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    golden = tmp_path / "new" / "plan.json"
    monkeypatch.setenv("CLOUDGD_UPDATE_GOLDEN", value)
    with pytest.raises(AssertionError, match="missing golden"):
        assert_golden(golden, "{}\n")
    monkeypatch.setenv("CLOUDGD_UPDATE_GOLDEN", "1")
    assert_golden(golden, "{}\n")
    assert golden.read_text() == "{}\n"
