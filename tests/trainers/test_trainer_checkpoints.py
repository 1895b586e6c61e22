"""Checkpoints off the training thread, and a best model that is verified before publishing."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
import time
from collections import OrderedDict
from pathlib import Path

import pytest
import torch
from trainer_helpers import read_summary, subprocess_env, tiny

from trainers import checkpoint as ckpt
from trainers.ckpt_async import CheckpointWriter, HostSnapshot
from trainers.errors import EXIT_FAILED, EXIT_PREEMPTED, TrainerError


def test_a_snapshot_is_a_copy_taken_at_that_moment() -> None:
    weights = OrderedDict(w=torch.ones(3, 4), b=torch.zeros(4))
    weights._metadata = {"": {"version": 1}}  # type: ignore[attr-defined]
    snap = HostSnapshot(torch.device("cpu"))
    state = {"model": weights, "step": 7, "rng": (torch.arange(3), "x")}
    copy = snap.copy(state)
    weights["w"].add_(1.0)  # the optimizer moves on after the snapshot
    assert torch.equal(copy["model"]["w"], torch.ones(3, 4))
    assert copy["model"]._metadata == {"": {"version": 1}}
    assert copy["step"] == 7 and copy["rng"][1] == "x"
    again = snap.copy(state)  # the next snapshot reuses the same host buffers
    assert again["model"]["w"].data_ptr() == copy["model"]["w"].data_ptr()
    assert torch.equal(again["model"]["w"], torch.full((3, 4), 2.0))


def test_the_writer_blocks_only_while_the_previous_write_is_unfinished(tmp_path: Path) -> None:
    writer = CheckpointWriter(background=True)
    release = threading.Event()
    order: list[str] = []

    def slow() -> None:
        release.wait(timeout=10)
        order.append("first written")

    writer.submit(tmp_path / "a", slow)
    assert writer.busy  # submit returned while the write is still running
    order.append("training goes on")
    threading.Timer(0.05, release.set).start()
    writer.submit(tmp_path / "b", lambda: order.append("second written"))
    writer.wait()
    assert order == ["training goes on", "first written", "second written"]


def test_a_failed_background_write_surfaces_as_one_line(tmp_path: Path) -> None:
    writer = CheckpointWriter(background=True)

    def full_disk() -> None:
        raise OSError(28, "No space left on device")

    writer.submit(tmp_path / "ckpt-1.pt", full_disk)
    with pytest.raises(TrainerError, match=r"writing checkpoint .*ckpt-1.pt failed: No space"):
        writer.wait()
    writer.wait()  # reported once


def test_background_and_inline_checkpoints_hold_the_same_state(run_trainer) -> None:
    cfg = tiny(epochs=2, checkpoint={"every_steps": 3, "keep_last": 10})
    _, bg = run_trainer({**cfg, "performance": {"background_checkpoints": True}}, name="bg")
    _, inline = run_trainer({**cfg, "performance": {"background_checkpoints": False}}, name="in")
    a, b = ckpt.list_checkpoints(bg / "ckpt"), ckpt.list_checkpoints(inline / "ckpt")
    assert [s for s, _ in a] == [s for s, _ in b] and len(a) >= 4
    for (_, pa), (_, pb) in zip(a, b, strict=True):
        sa = torch.load(pa, weights_only=False)
        sb = torch.load(pb, weights_only=False)
        assert sa["progress"] == sb["progress"]
        assert all(torch.equal(sa["model"][k], sb["model"][k]) for k in sa["model"])


# A model big enough that a checkpoint takes a moment to write (~10 MB per file).
SLOW_TO_SAVE = tiny(
    model={"kind": "mlp", "hidden": [512, 1024]},
    data={"n_samples": 2000, "n_features": 256},
    epochs=50,
    batch_size=64,
    checkpoint={"every_steps": 5, "keep_last": 2},
    log_every_steps=1000,
)


def test_sigterm_finishes_the_last_write_and_exits_143(tmp_path: Path) -> None:
    (tmp_path / "job.json").write_text(json.dumps(SLOW_TO_SAVE))
    args = [sys.executable, "-m", "trainers", "--config", str(tmp_path / "job.json")]
    for flag in ("model", "output", "checkpoint"):
        args += [f"--{flag}-dir", str(tmp_path / flag)]
    proc = subprocess.Popen(
        args, cwd=tmp_path, env=subprocess_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    deadline = time.monotonic() + 300  # a start-up on a loaded 2-core machine can take minutes
    while not ckpt.list_checkpoints(tmp_path / "checkpoint"):
        assert proc.poll() is None, proc.stderr.read() if proc.stderr else b""
        if time.monotonic() > deadline:
            proc.kill()
            pytest.fail("no checkpoint within 300 s")
        time.sleep(0.01)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=60) == EXIT_PREEMPTED
    stopped_at = json.loads((tmp_path / "output" / "summary.json").read_text())["steps"]
    step, path = ckpt.list_checkpoints(tmp_path / "checkpoint")[-1]
    assert step == stopped_at
    state = torch.load(path, weights_only=False)  # whole, not a half-written file
    assert state["progress"]["step"] == stopped_at
    assert not list((tmp_path / "checkpoint").glob(".*tmp*"))


@pytest.mark.parametrize("damage", ["truncate", "flip a byte"])
def test_a_damaged_best_checkpoint_is_never_published(run_trainer, capsys, damage: str) -> None:
    cfg = tiny(epochs=3)
    code, run = run_trainer(cfg)
    assert code == 0 and read_summary(run)["model_weights"] == "best"
    best = run / "ckpt" / ckpt.BEST_NAME
    data = bytearray(best.read_bytes())
    if damage == "truncate":
        best.write_bytes(bytes(data[: len(data) // 2]))
    else:
        data[len(data) // 2] ^= 0xFF
        best.write_bytes(bytes(data))
    (run / "model" / "model.pt").unlink()
    capsys.readouterr()
    code, run = run_trainer(cfg)  # the finished run publishes its model again
    assert code == EXIT_FAILED
    assert not (run / "model" / "model.pt").exists()
    assert (run / "model" / "model_final.pt").exists()
    error = capsys.readouterr().err
    assert "error: the best checkpoint" in error and "best.pt is unusable" in error
    assert "Traceback" not in error


def test_an_intact_best_checkpoint_is_published_byte_for_byte(run_trainer) -> None:
    code, run = run_trainer(tiny(epochs=3))
    assert code == 0
    published = (run / "model" / "model.pt").read_bytes()
    assert published == (run / "ckpt" / ckpt.BEST_NAME).read_bytes()
    sidecar = run / "ckpt" / (ckpt.BEST_NAME + ckpt.DIGEST_SUFFIX)
    assert sidecar.read_text().strip() == ckpt.file_digest(run / "model" / "model.pt")


def test_a_full_disk_during_a_background_write_ends_the_run_in_one_line(
    run_trainer, capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_space(*args: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(ckpt, "save_checkpoint", no_space)
    code, run = run_trainer(tiny(checkpoint={"every_steps": 2}))
    assert code == EXIT_FAILED
    error = capsys.readouterr().err
    assert "error: writing checkpoint" in error and "No space left on device" in error
    assert "Traceback" not in error
    assert read_summary(run)["stopped_reason"] == "error"
