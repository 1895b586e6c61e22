"""Speed settings: each default applied and recorded; the input feed; host reads per step."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import torch
from trainer_helpers import make_trainer, read_metrics, read_summary, tiny

from trainers.config import TrainConfig
from trainers.distributed import unwrap
from trainers.loop import Trainer
from trainers.speed import COMPILE_MIN_STEPS, compile_rule, cpu_threads

IMAGES = {"source": "digits"}


def test_cpu_run_records_every_setting_and_why(run_trainer) -> None:
    code, run = run_trainer(tiny())
    assert code == 0
    perf = read_summary(run)["performance"]
    assert perf["tf32"].startswith("not applicable: cpu device")
    assert perf["cudnn_benchmark"].startswith("not applicable: cpu device")
    assert perf["channels_last"] == "not applicable: mlp is not convolutional"
    assert perf["compile"] == "off (auto: cpu device; compiles on CUDA only)"
    assert perf["prefetch"] == "off (auto: data resident on the device)"
    assert perf["background_checkpoints"] == "on"


def test_explicit_settings_are_recorded_as_given(run_trainer) -> None:
    perf = {"prefetch": True, "background_checkpoints": False}
    code, run = run_trainer(tiny(performance=perf, compile=False))
    assert code == 0
    recorded = read_summary(run)["performance"]
    assert (recorded["prefetch"], recorded["background_checkpoints"]) == ("on", "off")
    assert recorded["compile"] == "off"


def test_compile_auto_needs_cuda_and_a_long_enough_run() -> None:
    assert compile_rule("mlp", "cuda", COMPILE_MIN_STEPS) == (True, "2000 planned steps >= 2000")
    assert compile_rule("mlp", "cuda", COMPILE_MIN_STEPS - 1)[0] is False
    assert compile_rule("resnet", "cpu", 10**6)[0] is False
    assert compile_rule("custom", "cuda", 10**6) == (
        False,
        "custom models are not compiled automatically",
    )


def test_channels_last_is_applied_to_conv_models_when_asked(tmp_path: Path) -> None:
    trainer = make_trainer(
        tmp_path,
        model={"kind": "cnn", "hidden": [4, 8]},
        data=IMAGES,
        performance={"channels_last": True},
    )
    convs = [m for m in unwrap(trainer.s.model).modules() if isinstance(m, torch.nn.Conv2d)]
    assert convs and all(c.weight.is_contiguous(memory_format=torch.channels_last) for c in convs)
    assert trainer.s.speed.record["channels_last"] == "on"
    auto = make_trainer(tmp_path / "auto", model={"kind": "cnn", "hidden": [4]}, data=IMAGES)
    assert auto.s.speed.record["channels_last"] == "off (auto: cnn on cpu)"


def test_cudnn_benchmark_cannot_be_forced_with_deterministic() -> None:
    with pytest.raises(ValueError, match="cudnn_benchmark"):
        TrainConfig.model_validate(tiny(deterministic=True, performance={"cudnn_benchmark": True}))


def test_prefetched_batches_train_exactly_like_inline_ones(run_trainer) -> None:
    cfg = tiny(grad_accum_steps=2, epochs=3, checkpoint={"every_steps": 2})
    code_a, inline = run_trainer({**cfg, "performance": {"prefetch": False}}, name="inline")
    code_b, ahead = run_trainer({**cfg, "performance": {"prefetch": True}}, name="ahead")
    assert (code_a, code_b) == (0, 0)
    a = torch.load(inline / "model" / "model_final.pt", weights_only=True)
    b = torch.load(ahead / "model" / "model_final.pt", weights_only=True)
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_data_wait_is_in_every_step_line_and_the_summary(run_trainer) -> None:
    code, run = run_trainer(tiny())
    assert code == 0
    steps = [r for r in read_metrics(run) if r["kind"] == "step"]
    assert steps and all(0.0 <= r["data_wait"] <= 1.0 for r in steps)
    assert 0.0 <= read_summary(run)["data_wait_fraction"] <= 1.0


@contextmanager
def counting_host_reads(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Count every tensor-to-Python read (each one is a host sync on a GPU)."""
    reads: list[str] = []
    for name in ("item", "__float__", "__bool__", "__int__", "tolist"):
        original = getattr(torch.Tensor, name)

        def counted(self: torch.Tensor, *a: object, _o=original, _n=name) -> object:
            reads.append(_n)
            return _o(self, *a)

        monkeypatch.setattr(torch.Tensor, name, counted)
    yield reads
    monkeypatch.undo()


def run_steps(trainer: Trainer, n: int, log_every: int) -> None:
    for step in range(n):
        batch = trainer.s.train.batch(torch.arange(32))
        trainer.train_step([batch], log_now=(step + 1) % log_every == 0)


def test_fused_optimizer_steps_read_nothing_back_between_log_lines(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # CPU has fused AdamW kernels too: the same sync-free guard as on CUDA runs here.
    from trainers import setup as setup_module
    from trainers.optim import build_optimizer

    monkeypatch.setattr(
        setup_module,
        "build_optimizer",
        lambda cfg, model, lr, fused=False: build_optimizer(cfg, model, lr, fused=True),
    )
    trainer = make_trainer(tmp_path, optimizer={"name": "adamw", "lr": 0.01})
    monkeypatch.undo()
    assert trainer.stepper.device_guard
    with counting_host_reads(monkeypatch) as reads:
        run_steps(trainer, 20, log_every=10)
    assert reads.count("__float__") == 2  # the grad norm, read for the two log lines only
    assert "item" not in reads


def test_non_fused_cpu_steps_read_one_scalar_each(tmp_path: Path, monkeypatch) -> None:
    # SGD: Adam's for-loop kernel also reads its CPU-side step counters, which are no sync.
    trainer = make_trainer(tmp_path, optimizer={"name": "sgd", "lr": 0.1})
    with counting_host_reads(monkeypatch) as reads:
        run_steps(trainer, 20, log_every=10)
    assert reads.count("item") == 20 + 2  # the loss per step, the grad norm per log line


def test_under_ddp_the_grad_norm_is_computed_only_for_log_lines(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    trainer = make_trainer(tmp_path)
    trainer.s.ddp = True  # one rank: the all-reduces are no-ops, the step logic is DDP's
    norms: list[int] = []
    original = torch.nn.utils.get_total_norm

    def counted(*args: object, **kwargs: object) -> torch.Tensor:
        norms.append(1)
        return original(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(torch.nn.utils, "get_total_norm", counted)
    run_steps(trainer, 20, log_every=10)
    assert len(norms) == 2


def test_under_ddp_a_non_finite_gradient_is_skipped(tmp_path: Path) -> None:
    trainer = make_trainer(tmp_path, max_bad_steps=5)
    trainer.s.ddp = True
    x, y = trainer.s.train.batch(torch.arange(32))
    x = x.clone()
    x[0, 0] = float("nan")
    before = [p.detach().clone() for p in trainer.params]
    trainer.train_step([(x, y)], log_now=False)
    assert trainer.progress.bad_steps == 1
    assert all(torch.equal(p, b) for p, b in zip(trainer.params, before, strict=True))


def test_ranks_sharing_a_cpu_node_split_its_cores_between_them() -> None:
    cfg = TrainConfig.model_validate(tiny(num_threads=None))
    cpu = torch.device("cpu")
    two_ranks = {"LOCAL_WORLD_SIZE": "2"}
    assert cpu_threads(cfg, cpu, two_ranks, cores=8) == (
        4,
        "4 (auto: 8 cores / 2 processes on this node)",
    )
    assert cpu_threads(cfg, cpu, {"LOCAL_WORLD_SIZE": "4"}, cores=2)[0] == 1


def test_thread_settings_the_user_or_launcher_chose_are_kept() -> None:
    cpu = torch.device("cpu")
    pinned = TrainConfig.model_validate(tiny(num_threads=3))
    assert cpu_threads(pinned, cpu, {"LOCAL_WORLD_SIZE": "2"}, cores=8) == (
        3,
        "3 (trainer.num_threads)",
    )
    cfg = TrainConfig.model_validate(tiny(num_threads=None))
    threads, why = cpu_threads(cfg, cpu, {"LOCAL_WORLD_SIZE": "2", "OMP_NUM_THREADS": "1"}, 8)
    assert threads is None and "OMP_NUM_THREADS=1" in why
    threads, why = cpu_threads(cfg, cpu, {}, cores=8)
    assert threads is None and why.endswith("(auto: one process on this node)")
    threads, why = cpu_threads(cfg, torch.device("meta"), {"LOCAL_WORLD_SIZE": "2"}, 8)
    assert threads is None and why.startswith("not applicable: meta device")


def test_the_summary_records_the_cpu_threads_decision(run_trainer) -> None:
    code, run = run_trainer(tiny())
    assert code == 0
    assert "cpu_threads" in read_summary(run)["performance"]
