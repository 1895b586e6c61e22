"""Tabular files (csv, parquet, jsonl) opened as a row count and a stream of pieces, for
``data_rank.py``. Parquet's count is in its footers; CSV's and JSON Lines' is counted from
newlines (numpy, over a reused buffer), which the parse of the pieces then checks.

A piece is one ~4 MB segment of text, parsed by the multi-threaded reader, or one row
group of a Parquet file, whose columns are read one at a time when asked for: the
Parquet reader decodes whole row groups (a file written in one group is decoded whole by
``iter_batches``; with memory mapping every page read stays resident too), so reading
a column at a time, unmapped, is what keeps a rank's peak near its own rows (measured on
the 1M x 32 file of ``bench/data_load.py``: 17-31 MiB against 100-380 MiB for the
batches, at the same CPU).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from trainers.data_tabular import (
    SUFFIXES,
    _check_types,
    _csv_segments,
    _first_line,
    csv_files,
    csv_tables,
    data_files,
    parquet_files,
    pyarrow_modules,
)
from trainers.errors import DataError
from trainers.heap import release_free_memory

_COUNT_BUFFER = 1 << 18
_TRIM_EVERY = 8  # CSV pieces between hand-backs of freed memory (each costs ~1-3 ms)


@dataclass
class Piece:
    """Consecutive rows of a source: how many, their target column (an arrow Array of its
    own), and each feature column by name (an arrow Array or ChunkedArray, read when asked;
    valid only during the call it is handed to)."""

    rows: int
    target: Any
    column: Callable[[str], Any]


Feed = Callable[[Callable[[Piece], None]], None]  # hands every piece, in file order, to a sink


@dataclass
class Source:
    """A tabular source opened for reading: its rows (known, or counted and to be checked),
    its feature columns, and ``feed``, one pass over its pieces."""

    where: Path
    target: str
    rows: int
    exact: bool  # whether ``rows`` is known (Parquet) or counted from newlines
    features: list[str]
    feed: Feed


def _table_piece(table: Any, target: str) -> Piece:
    pa = pyarrow_modules()
    # the target is copied out: the text under the table is about to be reused
    return Piece(table.num_rows, pa.concat_arrays(table.column(target).chunks), table.column)


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
    files, names = csv_files(location, target)

    def feed(add: Callable[[Piece], None]) -> None:
        pieces = 0
        for path in files:
            for _, table in csv_tables(path, names, target):
                if table.num_rows:  # (none: blank lines only)
                    add(_table_piece(table, target))
                del table
                pieces += 1
                if pieces % _TRIM_EVERY == 0:  # the reader's threads keep freed buffers
                    release_free_memory()

    rows = sum(_count_newlines(path, skip_header=True) for path in files)
    features = [n for n in names if n != target]
    return Source(location, target, rows, False, features, feed)


def _parquet_source(location: Path, target: str) -> Source:
    files, features = parquet_files(location, target, memory_map=False)

    def feed(add: Callable[[Piece], None]) -> None:
        for pf in files:
            for group in range(pf.num_row_groups):
                rows = pf.metadata.row_group(group).num_rows
                if not rows:
                    continue

                def column(name: str, pf: Any = pf, group: int = group) -> Any:
                    return pf.read_row_group(group, columns=[name], use_threads=False).column(0)

                add(Piece(rows, column(target).combine_chunks(), column))

    rows = sum(pf.metadata.num_rows for pf in files)
    return Source(location, target, rows, True, features, feed)


def _jsonl_source(location: Path, target: str) -> Source:
    pa = pyarrow_modules()
    import pyarrow.json as pajson

    files = data_files(location, SUFFIXES["jsonl"])
    features: list[str] = []

    def parse(path: Path, text: memoryview) -> Any:
        try:
            return pajson.read_json(pa.BufferReader(text))
        except pa.ArrowInvalid as exc:
            raise DataError(f"{path}: not JSON Lines ({_first_line(exc)})") from exc

    for path in files:  # the keys come from the first piece of the first file with rows
        text = next(iter(_csv_segments(path, header=False)), None)
        table = None if text is None else parse(path, text)
        if table is not None and table.num_rows:
            features = _check_types(table.schema, target, path)
            break
    if not features:
        raise DataError(f"data: {location} holds no JSON Lines rows")

    def feed(add: Callable[[Piece], None]) -> None:
        for path in files:
            for text in _csv_segments(path, header=False):
                table = parse(path, text)
                if table.num_rows == 0:  # blank lines only
                    continue
                if set(_check_types(table.schema, target, path)) != set(features):
                    raise DataError(
                        f"{path}: keys differ between lines",
                        hint=f"every line needs {sorted([*features, target])}",
                    )
                add(_table_piece(table, target))
                del table, text

    rows = sum(_count_newlines(path, skip_header=False) for path in files)
    return Source(location, target, rows, False, features, feed)


OPENERS = {"csv": _csv_source, "parquet": _parquet_source, "jsonl": _jsonl_source}
