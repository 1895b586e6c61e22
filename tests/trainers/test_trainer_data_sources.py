"""The data sources beyond csv: Parquet, JSON Lines, image folders and a Dataset from the
job's own code, each read into memory, and the one-line errors their bad inputs give."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from trainer_helpers import read_summary

from trainers.config import DataConfig
from trainers.data import load_dataset
from trainers.errors import ConfigError, DataError

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")


def table(rows: int = 60, seed: int = 0) -> dict[str, list[float] | list[int]]:
    rng = np.random.default_rng(seed)
    a, b = rng.normal(size=rows), rng.normal(size=rows)
    return {"a": a.tolist(), "b": b.tolist(), "label": (a + b > 0).astype(int).tolist()}


def write_csv(path: Path, columns: dict[str, list[float] | list[int]]) -> None:
    lines = [",".join(columns)]
    lines += [",".join(repr(v) for v in row) for row in zip(*columns.values(), strict=True)]
    path.write_text("\n".join(lines) + "\n")


def test_parquet_file_and_directory_load_like_the_same_csv(tmp_path: Path) -> None:
    columns = table()
    write_csv(tmp_path / "train.csv", columns)
    parts = tmp_path / "parts"
    parts.mkdir()
    pq.write_table(pa.table({k: v[:25] for k, v in columns.items()}), parts / "part-0.parquet")
    pq.write_table(pa.table({k: v[25:] for k, v in columns.items()}), parts / "part-1.parquet")
    pq.write_table(pa.table(columns), tmp_path / "train.parquet")
    from_csv = load_dataset(DataConfig(source="csv", uri=str(tmp_path / "train.csv")), seed=3)
    for uri in (tmp_path / "train.parquet", parts):
        ds = load_dataset(DataConfig(source="parquet", uri=str(uri)), seed=3)
        assert ds.task == "classification" and ds.classes == ["0", "1"]
        torch.testing.assert_close(ds.x_train, from_csv.x_train)
        assert torch.equal(ds.y_train, from_csv.y_train)


def test_parquet_errors_name_the_column(tmp_path: Path) -> None:
    path = tmp_path / "d.parquet"
    pq.write_table(
        pa.table({"a": [1.0, 2.0, 3.0], "city": ["x", "y", "z"], "label": [0, 1, 0]}), path
    )
    with pytest.raises(DataError, match=r"column 'city' is not numeric \(string\)"):
        load_dataset(DataConfig(source="parquet", uri=str(path)), seed=0)
    with pytest.raises(DataError, match=r"data\.target: column 'y' not in"):
        load_dataset(DataConfig(source="parquet", uri=str(path), target="y"), seed=0)
    (tmp_path / "bad.parquet").write_text("not parquet")
    with pytest.raises(DataError, match=r"bad.parquet: not a Parquet file"):
        load_dataset(DataConfig(source="parquet", uri=str(tmp_path / "bad.parquet")), seed=0)


def test_jsonl_with_string_labels(tmp_path: Path) -> None:
    rows = [{"x1": i, "x2": i % 3 * 0.5, "animal": ["cat", "dog"][i % 2]} for i in range(20)]
    (tmp_path / "d.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    cfg = DataConfig(source="jsonl", uri=str(tmp_path / "d.jsonl"), target="animal")
    ds = load_dataset(cfg, seed=0)
    assert ds.classes == ["cat", "dog"] and ds.input_shape == (2,)
    assert ds.n_train + ds.n_val == 20


def test_jsonl_errors_name_the_file_or_key(tmp_path: Path) -> None:
    (tmp_path / "d.jsonl").write_text('{"a": 1, "label": 0}\n{"a": 2, "label": 1}\nnot json\n')
    with pytest.raises(DataError, match=r"d.jsonl: not JSON Lines"):
        load_dataset(DataConfig(source="jsonl", uri=str(tmp_path / "d.jsonl")), seed=0)
    (tmp_path / "d.jsonl").write_text('{"a": 1, "label": 0}\n{"label": 1}\n{"a": 3, "label": 0}\n')
    with pytest.raises(DataError, match="column 'a' has empty values"):
        load_dataset(DataConfig(source="jsonl", uri=str(tmp_path / "d.jsonl")), seed=0)


def write_images(root: Path, classes: dict[str, int], size: int = 12) -> None:
    from PIL import Image

    for index, (name, count) in enumerate(classes.items()):
        (root / name).mkdir(parents=True)
        for i in range(count):
            shade = 40 + 150 * index + i
            Image.new("RGB", (size, size + i), (shade, 255 - shade, 0)).save(
                root / name / f"{i}.png"
            )


@pytest.mark.parametrize("workers", [0, 2])
def test_image_folder_classes_come_from_the_directories(tmp_path: Path, workers: int) -> None:
    pytest.importorskip("PIL")
    write_images(tmp_path / "images", {"cat": 6, "dog": 4})
    cfg = DataConfig(
        source="image_folder",
        uri=str(tmp_path / "images"),
        image_size=8,
        image_mode="L",
        workers=workers,
        val_fraction=0.0,
        standardize=False,
    )
    ds = load_dataset(cfg, seed=0)
    assert ds.classes == ["cat", "dog"] and ds.input_shape == (1, 8, 8) and ds.n_train == 10
    assert ds.task == "classification" and sorted(ds.y_train.tolist()) == [0] * 6 + [1] * 4
    assert float(ds.x_train.min()) >= 0.0 and float(ds.x_train.max()) <= 1.0


def test_image_folder_errors_are_one_line(tmp_path: Path) -> None:
    pytest.importorskip("PIL")
    write_images(tmp_path / "images", {"cat": 3, "dog": 3})
    (tmp_path / "images" / "dog" / "broken.png").write_bytes(b"not an image")
    cfg = DataConfig(source="image_folder", uri=str(tmp_path / "images"), workers=2)
    with pytest.raises(DataError) as caught:
        load_dataset(cfg, seed=0)
    assert "broken.png: cannot decode the image" in caught.value.line()
    assert "\n" not in caught.value.line()
    (tmp_path / "one" / "cat").mkdir(parents=True)
    with pytest.raises(DataError, match="needs one sub-directory per class"):
        load_dataset(DataConfig(source="image_folder", uri=str(tmp_path / "one")), seed=0)


CODE = """
import torch
from torch.utils.data import Dataset, IterableDataset


class Squares(Dataset):
    def __init__(self, n):
        self.n = n

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        x = torch.tensor([i / self.n, (i % 5) / 5.0])
        return x, float((i / self.n) ** 2)


class Endless(IterableDataset):
    def __iter__(self):
        i = 0
        while True:
            yield torch.tensor([float(i % 7)]), i % 2
            i += 1


def squares(n=40):
    return Squares(n)


def endless():
    return Endless()


def not_a_dataset():
    return [1, 2, 3]
"""


@pytest.fixture
def code_dir(tmp_path: Path) -> Path:
    code = tmp_path / "code"
    code.mkdir()
    (code / "mydata.py").write_text(CODE)
    return code


def test_a_map_style_dataset_from_the_code_dir(code_dir: Path) -> None:
    cfg = DataConfig(entrypoint="mydata:squares", args={"n": 50}, val_fraction=0.2)
    assert cfg.source == "custom"
    ds = load_dataset(cfg, seed=0, code_dir=code_dir)
    assert ds.task == "regression" and ds.input_shape == (2,)
    assert (ds.n_train, ds.n_val) == (40, 10)


def test_an_iterable_dataset_is_read_up_to_the_limit(code_dir: Path) -> None:
    cfg = DataConfig(entrypoint="mydata:endless", limit=300, workers=0)
    ds = load_dataset(cfg, seed=0, code_dir=code_dir)
    assert ds.n_train + ds.n_val == 300 and ds.classes == ["0", "1"]


def test_entrypoint_errors_name_the_field(code_dir: Path) -> None:
    with pytest.raises(ConfigError, match=r"data\.entrypoint: cannot import 'nothere'"):
        load_dataset(DataConfig(entrypoint="nothere:f"), seed=0, code_dir=code_dir)
    with pytest.raises(ConfigError, match=r"data\.entrypoint: mydata has no callable 'nope'"):
        load_dataset(DataConfig(entrypoint="mydata:nope"), seed=0, code_dir=code_dir)
    with pytest.raises(ConfigError, match="returned list, not a torch Dataset"):
        load_dataset(DataConfig(entrypoint="mydata:not_a_dataset"), seed=0, code_dir=code_dir)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"source": "parquet"}, "data.source=parquet needs data.uri"),
        ({"source": "image_folder"}, "data.source=image_folder needs data.uri"),
        ({"source": "custom"}, "data.source=custom needs data.entrypoint"),
        ({"entrypoint": "my data:f"}, "data.entrypoint must look like 'module:function'"),
        ({"source": "csv", "uri": "x.csv", "entrypoint": "m:f"}, "data.entrypoint is for"),
        ({"entrypoint": "m:f", "uri": "d/"}, "data.uri is not read for data.source=custom"),
    ],
)
def test_bad_data_blocks_are_refused_with_the_field(data: dict[str, str], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        DataConfig(**data)


def test_the_trainer_runs_on_parquet_and_on_a_code_dataset(
    run_trainer, tmp_path: Path, code_dir: Path
) -> None:
    pq.write_table(pa.table(table(rows=120)), tmp_path / "train.parquet")
    job = {
        "model": {"kind": "mlp", "hidden": [8]},
        "optimizer": {"name": "adamw", "lr": 0.05},
        "epochs": 4,
        "batch_size": 16,
    }
    data = {"source": "parquet", "uri": str(tmp_path / "train.parquet")}
    code, run_dir = run_trainer({**job, "data": data}, name="parquet")
    assert code == 0 and read_summary(run_dir)["final"]["val_accuracy"] > 0.75
    custom = {"entrypoint": "mydata:squares", "args": {"n": 64}}
    code, run_dir = run_trainer({**job, "data": custom}, "--code-dir", str(code_dir), name="code")
    assert code == 0 and "val_r2" in read_summary(run_dir)["final"]
