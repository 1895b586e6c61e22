"""The script: block of examples/byo-script, for tests that render it on a cloud."""

from __future__ import annotations

from typing import Any


def byo_script(inputs: dict[str, str], /, **fields: Any) -> dict[str, Any]:
    """The example's script block reading ``inputs`` (channel -> the cloud's URI), with
    ``fields`` (``inputs`` too) replacing its own."""
    block: dict[str, Any] = {
        "entry_point": "train.py",
        "args": ["--epochs", "3", "--data", "${data_dir}", "--model-dir", "${model_dir}"],
        "requirements": "requirements.txt",
        "inputs": inputs,
        "metrics": {"regex": {"val_loss": "val_loss=([-+0-9.eE]+)", "epoch": r"epoch=(\d+)"}},
    }
    block.update(fields)
    return block
