"""validate's bf16 hint: a suggestion for fp32 runs on accelerators with bf16 tensor cores."""

from __future__ import annotations

import json

from tests.cli.conftest import DIGITS, Invoke


def test_fp32_on_an_a100_gets_a_bf16_hint_and_nothing_changes(invoke: Invoke) -> None:
    result = invoke("validate", DIGITS, "--set", "resources.accelerator=A100")
    assert result.exit_code == 0, result.stderr
    hint = [line for line in result.stdout.splitlines() if ": hint: " in line]
    assert hint == [
        f"{DIGITS}: hint: A100 supports bf16 (312 TFLOPS dense): "
        "trainer.precision: bf16 usually trains faster at the same accuracy"
    ]


def test_no_hint_for_bf16_runs_cpus_or_gpus_without_bf16(invoke: Invoke) -> None:
    for sets in (
        ["resources.accelerator=A100", "trainer.precision=bf16"],
        ["resources.accelerator=none"],
        ["resources.accelerator=T4"],  # no bf16 tensor cores (blank in accelerators.csv)
    ):
        args = [arg for s in sets for arg in ("--set", s)]
        result = invoke("validate", DIGITS, *args)
        assert result.exit_code == 0, result.stderr
        assert ": hint: " not in result.stdout


def test_json_output_lists_the_hints(invoke: Invoke) -> None:
    result = invoke("-o", "json", "validate", DIGITS, "--set", "resources.accelerator=TPU-v5e")
    assert result.exit_code == 0, result.stderr
    (entry,) = json.loads(result.stdout)["files"]
    assert entry["hints"] and entry["hints"][0].startswith("TPU-v5e supports bf16 (197 TFLOPS")
