"""``cloudgd init --script train.py``: a job spec for a script that already exists.

What it can tell from the script's directory and source, it fills in: ``code:`` (the
script's directory, relative to the job file), ``entry_point``, a ``requirements.txt``
beside it, a ``data/`` directory beside it as the ``train`` channel, the metrics the
script prints as ``name=value`` (each becomes a regex), and its argparse options (listed
in a comment, for ``args:`` and tuning). The rest is the usual commented defaults.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from cloudgd.errors import UsageError

# `print(f"epoch={epoch} val_loss={v:.4f}")`, `"loss=%f" % x`, `f"acc={acc}"`.
_PRINTED = re.compile(r"(?<![A-Za-z0-9_])([A-Za-z][A-Za-z0-9_]{0,63})=(?:\{|%)")
_OPTION = re.compile(r"add_argument\(\s*[\"'](--[A-Za-z][A-Za-z0-9_-]*)")
_NAME = re.compile(r"[^a-z0-9-]+")


def _job_name(script: Path) -> str:
    stem = _NAME.sub("-", script.resolve().parent.name.lower()).strip("-")
    stem = stem if stem and stem[0].isalpha() else f"job-{stem}".strip("-")
    return stem[:40].rstrip("-") if len(stem) >= 2 else "my-script"


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def script_spec_text(script: Path, spec_path: Path) -> str:
    """The job spec (YAML text) for ``script``, to be written at ``spec_path``."""
    if not script.is_file():
        raise UsageError(f"--script: no such file: {script}")
    if script.suffix != ".py":
        raise UsageError(f"--script: {script} is not a .py file")
    code_dir = script.resolve().parent
    code = Path(os.path.relpath(code_dir, spec_path.resolve().parent)).as_posix()
    try:
        source = script.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"--script: cannot read {script}: {exc}") from None
    metrics = sorted(dict.fromkeys(_PRINTED.findall(source)))
    options = list(dict.fromkeys(_OPTION.findall(source)))
    lines = [
        f"# A job for your own script {script.name} (docs/scripts.md). It reads its data,",
        "# model, checkpoint and output directories from CLOUDGD_DATA_DIR, CLOUDGD_MODEL_DIR,",
        "# CLOUDGD_CHECKPOINT_DIR and CLOUDGD_OUTPUT_DIR (or ${data_dir}, ... in args).",
        f"name: {_job_name(script)}",
        f"code: {_quote(code)}",
        "script:",
        f"  entry_point: {_quote(script.name)}",
    ]
    if options:
        lines.append(f"  # its options: {' '.join(options)}")
    lines.append("  args: []")
    if (code_dir / "requirements.txt").is_file():
        lines.append("  requirements: requirements.txt")
    else:
        lines.append("  # requirements: requirements.txt   # what it imports besides torch")
    if (code_dir / "data").is_dir():
        data = Path(os.path.relpath(code_dir / "data", spec_path.resolve().parent)).as_posix()
        lines += ["  inputs:", f"    train: {_quote(data)}   # s3:// gs:// azureml:// on a cloud"]
    else:
        lines += ["  # inputs:", "  #   train: ./data   # s3:// gs:// azureml:// on a cloud"]
    lines += ["  metrics:", "    regex:"]
    if metrics:
        for name in metrics:
            pattern = "\\b" + name + "=([-+0-9.eE]+)"
            lines.append(f"      {name}: {_quote(pattern)}")
    else:
        lines.append("      val_loss: 'val_loss=([-+0-9.eE]+)'   # what your script prints")
    lines += [
        "resources:",
        "  accelerator: none     # e.g. T4:1, A100:8",
        "limits:",
        "  max_runtime: 1h",
        "",
    ]
    return "\n".join(lines)
