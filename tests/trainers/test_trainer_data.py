"""Data sources, splitting, scaling, and the errors a user sees for bad data."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from trainer_helpers import read_summary

from trainers.batches import epoch_order, sampler_order
from trainers.config import DataConfig
from trainers.data import load_dataset, resolve_location
from trainers.errors import DataError


def write_csv(path: Path, rows: list[str], header: str = "a,b,label") -> None:
    path.write_text("\n".join([header, *rows]) + "\n")


def test_digits_are_images_with_ten_classes() -> None:
    ds = load_dataset(DataConfig(source="digits"), seed=0)
    assert ds.input_shape == (1, 8, 8) and ds.num_outputs == 10
    assert (ds.n_train, ds.n_val) == (1438, 359)
    assert ds.task == "classification" and ds.classes == [str(i) for i in range(10)]


def test_split_and_order_are_seeded() -> None:
    cfg = DataConfig(source="synthetic_regression", n_samples=50, n_features=3)
    a, b, c = (load_dataset(cfg, seed) for seed in (1, 1, 2))
    assert torch.equal(a.x_train, b.x_train) and not torch.equal(a.x_train, c.x_train)
    assert a.task == "regression" and a.y_train.shape == (40, 1)


def test_standardisation_uses_train_statistics_only() -> None:
    ds = load_dataset(DataConfig(source="synthetic_regression", n_samples=400), seed=0)
    torch.testing.assert_close(ds.x_train.mean(0), torch.zeros(20), atol=1e-5, rtol=0)
    assert float(ds.x_val.mean(0).abs().max()) > 1e-3  # type: ignore[union-attr]
    raw = load_dataset(DataConfig(source="synthetic_regression", standardize=False), seed=0)
    assert raw.mean is None


def test_csv_directory_with_string_labels(tmp_path: Path) -> None:
    write_csv(tmp_path / "part-0.csv", ["1,2,cat", "2,1,dog", "0,0,cat"])
    write_csv(tmp_path / "part-1.csv", ["3,3,dog", "1,1,bird"])
    cfg = DataConfig(source="csv", uri=str(tmp_path), val_fraction=0.0, standardize=False)
    ds = load_dataset(cfg, seed=0)
    assert ds.task == "classification" and ds.classes == ["bird", "cat", "dog"]
    assert ds.n_train == 5 and ds.input_shape == (2,)
    rows = {
        tuple(x.tolist()): ds.classes[int(y)] for x, y in zip(ds.x_train, ds.y_train, strict=True)
    }
    assert rows[(3.0, 3.0)] == "dog" and rows[(1.0, 1.0)] == "bird"


def test_csv_numeric_target_with_many_values_is_regression(tmp_path: Path) -> None:
    rows = [f"{i},{i * 2},{i * 0.5 + 0.1}" for i in range(60)]
    write_csv(tmp_path / "train.csv", rows)
    ds = load_dataset(DataConfig(source="csv", uri=str(tmp_path / "train.csv")), seed=0)
    assert ds.task == "regression" and ds.num_outputs == 1


def test_csv_errors_name_the_problem(tmp_path: Path) -> None:
    write_csv(tmp_path / "x.csv", ["1,a,0"])
    with pytest.raises(DataError, match="column 'b' is not numeric"):
        load_dataset(DataConfig(source="csv", uri=str(tmp_path / "x.csv")), seed=0)
    with pytest.raises(DataError, match="column 'y' not in"):
        load_dataset(DataConfig(source="csv", uri=str(tmp_path / "x.csv"), target="y"), seed=0)
    write_csv(tmp_path / "other.csv", ["1,2,0"], header="a,c,label")
    with pytest.raises(DataError, match="header differs"):
        load_dataset(DataConfig(source="csv", uri=str(tmp_path)), seed=0)
    with pytest.raises(DataError, match=r"no \*\.npz files"):
        load_dataset(DataConfig(source="npz", uri=str(tmp_path)), seed=0)


def test_npz_images_get_a_channel_axis(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    np.savez(tmp_path / "d.npz", x=rng.random((30, 5, 5)), y=np.arange(30) % 3)
    ds = load_dataset(DataConfig(source="npz", uri=str(tmp_path / "d.npz")), seed=0)
    assert ds.input_shape == (1, 5, 5) and ds.num_outputs == 3


def test_remote_uri_needs_a_mounted_channel(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="remote and no data channel"):
        resolve_location("s3://bucket/train.csv", None)
    (tmp_path / "train.csv").write_text("a,label\n1,0\n")
    assert resolve_location("s3://bucket/train.csv", tmp_path) == tmp_path / "train.csv"
    assert resolve_location("s3://bucket/prefix/", tmp_path) == tmp_path
    assert resolve_location("gs://bucket/x.csv", None) == Path("/gcs/bucket/x.csv")


def test_limit_takes_a_seeded_subset() -> None:
    ds = load_dataset(DataConfig(source="digits", limit=100, val_fraction=0.1), seed=0)
    assert (ds.n_train, ds.n_val) == (90, 10)


def test_sagemaker_channels_feed_train_and_validation(run_trainer, monkeypatch, tmp_path) -> None:
    """A SageMaker-shaped run: data from channel dirs, hyperparameters as overrides."""
    base = tmp_path / "opt" / "ml"
    train, val = base / "input" / "data" / "train", base / "input" / "data" / "validation"
    train.mkdir(parents=True)
    val.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for where, n in ((train, 120), (val, 40)):
        x = rng.normal(size=(n, 3))
        write_csv(where / "d.csv", [f"{a},{b},{int(a > 0)}" for a, b, _ in x])
    config = base / "input" / "config"
    config.mkdir(parents=True)
    (config / "hyperparameters.json").write_text('{"epochs": "8", "optimizer.lr": "0.1"}')
    monkeypatch.setenv("SAGEMAKER_BASE_DIR", str(base))
    cfg = {
        "data": {"source": "csv", "uri": "s3://bucket/data/"},
        "model": {"kind": "softmax"},
        "num_threads": 1,
    }
    code, run = run_trainer(cfg)
    assert code == 0
    summary = read_summary(run)
    assert summary["platform"] == "sagemaker" and summary["epochs"] == 8
    assert summary["base_lr"] == 0.1
    assert summary["final"]["val_accuracy"] > 0.8


@pytest.mark.parametrize(("n", "world"), [(10, 1), (10, 3), (7, 4), (3, 8), (1438, 2)])
def test_epoch_order_is_distributed_samplers_order(n: int, world: int) -> None:
    for epoch in (0, 5):
        for rank in range(world):
            ours = epoch_order(n, seed=3, epoch=epoch, rank=rank, world=world).tolist()
            assert ours == sampler_order(n, seed=3, epoch=epoch, rank=rank, world=world)
