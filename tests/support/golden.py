"""Golden files: text a test renders, compared byte for byte with the file kept beside it.

``CLOUDGD_UPDATE_GOLDEN=1`` writes the rendered text over the golden file first (then the
diff under review is the change). Any other value compares only.
"""

from __future__ import annotations

import difflib
import os
from pathlib import Path

UPDATE_ENV = "CLOUDGD_UPDATE_GOLDEN"


def assert_golden(path: Path, text: str) -> None:
    """Fail unless ``text`` is exactly the content of the golden file ``path``."""
    if os.environ.get(UPDATE_ENV) == "1":
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    assert path.exists(), f"missing golden {path}; run with {UPDATE_ENV}=1"
    kept = path.read_text(encoding="utf-8")
    if text != kept:
        diff = difflib.unified_diff(
            kept.splitlines(), text.splitlines(), str(path), "rendered", lineterm="", n=2
        )
        shown = "\n".join(list(diff)[:60])
        raise AssertionError(f"{path.name} differs; {UPDATE_ENV}=1 to accept:\n{shown}")
