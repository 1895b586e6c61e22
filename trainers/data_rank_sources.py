"""Tabular files (csv, parquet, jsonl) opened as a stream of parsed pieces with a row count,
for ``data_rank.py``: Parquet's count is in its footers; CSV's and JSON Lines' is counted
from newlines (numpy, over a reused buffer), which the parse of the pieces then checks.
A piece is one ~4 MB segment of text, parsed by the multi-threaded reader, or one
Parquet batch of ~4 MB of features."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from trainers.data_tabular import (
    _CSV_BLOCK,
    SUFFIXES,
    _check_types,
    _csv_error,
    _csv_header,
    _csv_segments,
    _first_line,
    data_files,
    parquet_files,
    pyarrow_modules,
    release_free_memory,
)
from trainers.errors import DataError

_COUNT_BUFFER = 1 << 18
_PIECE_BYTES = 4 << 20  # float32 features per Parquet batch

Batches = Callable[[], Iterator[tuple[Any, bool]]]  # (record batch, whether to copy its target)


@dataclass
class Source:
    """A tabular source opened for reading: its rows (counted, or a count to check), its
    feature columns, and its record batches."""

    where: Path
    target: str
    rows: int
    exact: bool  # whether ``rows`` is known (Parquet) or counted from newlines
    features: list[str]
    batches: Batches


def _count_newlines(path: Path, skip_header: bool) -> int:
    """Newlines after the header, plus an unterminated last line: the rows, unless the
    file has blank lines or lone ``\\r`` line ends (the parse then says so)."""
    buf = bytearray(_COUNT_BUFFER)
    count, last = 0, 10
    with path.open("rb") as fh:
        if skip_header:
            fh.readline()
        while got := fh.readinto(buf):
            count += int(np.count_nonzero(np.frombuffer(buf, np.uint8, got) == 10))
            last = buf[got - 1]
    return count + (last != 10)  # 10: a newline


def _csv_source(location: Path, target: str) -> Source:
    pa = pyarrow_modules()
    import pyarrow.csv as pacsv

    files: list[Path] = []
    header: list[str] | None = None
    for path in data_files(location, SUFFIXES["csv"]):
        names = _csv_header(path)
        if names is None:
            continue
        if header is None:
            header = names
            if target not in header:
                raise DataError(
                    f"data.target: column {target!r} not in {location}", hint=f"{header}"
                )
        elif names != header:
            raise DataError(f"{path}: header differs from the first CSV file's")
        files.append(path)
    if header is None:
        raise DataError(f"data: {location} holds no CSV rows")
    names = header
    read_options = pacsv.ReadOptions(column_names=names, block_size=_CSV_BLOCK, use_threads=True)
    convert = pacsv.ConvertOptions(column_types={n: pa.float32() for n in names if n != target})

    def batches() -> Iterator[tuple[Any, bool]]:
        for path in files:
            for piece in _csv_segments(path):
                try:
                    table = pacsv.read_csv(
                        pa.BufferReader(piece),
                        read_options=read_options,
                        convert_options=convert,
                        memory_pool=pa.system_memory_pool(),
                    )
                except pa.ArrowInvalid as exc:
                    raise _csv_error(path, names, exc) from exc
                for batch in table.to_batches():
                    yield batch, True
                del table, piece  # the buffer is reused for the next piece
                release_free_memory()

    rows = sum(_count_newlines(path, skip_header=True) for path in files)
    features = [n for n in names if n != target]
    return Source(location, target, rows, False, features, batches)


def _parquet_source(location: Path, target: str) -> Source:
    files, features = parquet_files(location, target)
    columns = [*features, target]
    batch_rows = max(1024, _PIECE_BYTES // (4 * max(len(features), 1)))

    def batches() -> Iterator[tuple[Any, bool]]:
        for pf in files:
            for batch in pf.iter_batches(batch_size=batch_rows, columns=columns, use_threads=True):
                yield batch, False

    rows = sum(pf.metadata.num_rows for pf in files)
    return Source(location, target, rows, True, features, batches)


def _jsonl_source(location: Path, target: str) -> Source:
    pa = pyarrow_modules()
    import pyarrow.json as pajson

    files = data_files(location, SUFFIXES["jsonl"])
    features: list[str] = []

    def parse(path: Path, piece: memoryview) -> Any:
        try:
            return pajson.read_json(pa.BufferReader(piece))
        except pa.ArrowInvalid as exc:
            raise DataError(f"{path}: not JSON Lines ({_first_line(exc)})") from exc

    for path in files:  # the keys come from the first piece of the first file with rows
        piece = next(iter(_csv_segments(path, header=False)), None)
        table = None if piece is None else parse(path, piece)
        if table is not None and table.num_rows:
            features = _check_types(table.schema, target, path)
            break
    if not features:
        raise DataError(f"data: {location} holds no JSON Lines rows")

    def batches() -> Iterator[tuple[Any, bool]]:
        for path in files:
            for piece in _csv_segments(path, header=False):
                table = parse(path, piece)
                if table.num_rows == 0:  # blank lines only
                    continue
                if set(_check_types(table.schema, target, path)) != set(features):
                    raise DataError(
                        f"{path}: keys differ between lines",
                        hint=f"every line needs {sorted([*features, target])}",
                    )
                for batch in table.to_batches():
                    yield batch, True
                del table, piece

    rows = sum(_count_newlines(path, skip_header=False) for path in files)
    return Source(location, target, rows, False, features, batches)


OPENERS = {"csv": _csv_source, "parquet": _parquet_source, "jsonl": _jsonl_source}
