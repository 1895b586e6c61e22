"""Tabular sources (csv, parquet, jsonl) read with pyarrow straight into float32 rows.

Features land in one preallocated row-major float32 array, filled one record batch at
a time while the batches already copied are released, so the peak is about one copy
of the features plus one batch (the CSV reader is multi-threaded; Parquet is read a
batch at a time from its row groups). The target stays a separate column: numbers
become float64, anything else strings (class names).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from trainers.errors import DataError
from trainers.heap import release_free_memory

# A CSV file is parsed a segment at a time, each in blocks on the reader's threads.
_CSV_SEGMENT = 4 << 20
_CSV_BLOCK = 512 << 10
_BATCH_ROWS = 1 << 16
SUFFIXES = {"csv": (".csv",), "parquet": (".parquet", ".pq"), "jsonl": (".jsonl", ".ndjson")}


def pyarrow_modules() -> Any:
    """``pyarrow`` (imported on first use: digits and synthetic runs never need it)."""
    try:
        import pyarrow
    except ImportError as exc:
        raise DataError(
            "reading csv, parquet or jsonl data needs pyarrow", hint="pip install pyarrow"
        ) from exc
    return pyarrow


def data_files(location: Path, suffixes: tuple[str, ...]) -> list[Path]:
    """``location`` itself, or the files under it with one of ``suffixes``, sorted."""
    if location.is_file():
        return [location]
    if location.is_dir():
        found = sorted(p for p in location.rglob("*") if p.is_file() and p.name.endswith(suffixes))
        if found:
            return found
        wanted = ", ".join(f"*{s}" for s in suffixes)
        raise DataError(f"data: no {wanted} files in {location}")
    raise DataError(f"data: not found: {location}")


def _check_types(schema: Any, target: str, where: Path) -> list[str]:
    """The feature column names (every column but the target), all numeric."""
    pa = pyarrow_modules()
    names = list(schema.names)
    if target not in names:
        raise DataError(f"data.target: column {target!r} not in {where}", hint=f"{names}")
    for name in names:
        kind = schema.field(name).type
        numeric = pa.types.is_integer(kind) or pa.types.is_floating(kind)
        if name != target and not (numeric or pa.types.is_boolean(kind) or pa.types.is_null(kind)):
            raise DataError(
                f"{where}: column {name!r} is not numeric ({kind})", hint="encode it first"
            )
    return [n for n in names if n != target]


def numeric_values(array: Any) -> np.ndarray:
    """A null-free numeric (or boolean) arrow Array as a numpy array, zero-copy where the
    types agree; not ``Array.to_numpy``, whose first call imports pandas (~40 MB)."""
    pa = pyarrow_modules()
    kind = array.type
    if pa.types.is_boolean(kind) or pa.types.is_null(kind):
        import pyarrow.compute as pc

        array = pc.cast(array, pa.uint8())
        kind = array.type
    if pa.types.is_floating(kind):
        dtype = np.dtype(f"f{kind.bit_width // 8}")
    elif pa.types.is_integer(kind):
        dtype = np.dtype(f"{'i' if pa.types.is_signed_integer(kind) else 'u'}{kind.bit_width // 8}")
    else:
        raise TypeError(f"not a numeric column: {kind}")
    data = array.buffers()[1]
    return np.frombuffer(data, dtype=dtype, count=len(array), offset=array.offset * dtype.itemsize)


def _target_values(chunks: list[Any], where: Path, target: str) -> np.ndarray:
    pa = pyarrow_modules()
    if any(chunk.null_count for chunk in chunks):
        raise DataError(f"{where}: the target column {target!r} has empty values")
    if not chunks:
        return np.zeros(0)
    kind = chunks[0].type
    if all(pa.types.is_integer(c.type) or pa.types.is_floating(c.type) for c in chunks):
        return np.concatenate([numeric_values(c) for c in chunks])
    if any(c.type != kind for c in chunks):  # pieces parsed apart took some labels for numbers
        kind = pa.string()
        chunks = [c.cast(kind) for c in chunks]
    if pa.types.is_boolean(kind):
        return np.where(np.concatenate([numeric_values(c) for c in chunks]), "true", "false")
    # class names: encode once in arrow, turn only the distinct values into Python strings
    encoded = pa.chunked_array(chunks).cast(pa.string()).dictionary_encode().combine_chunks()
    names = np.asarray(encoded.dictionary.to_pylist(), dtype=str)
    return names[numeric_values(encoded.indices)]


def feature_values(column: Any, name: str, where: Path) -> np.ndarray:
    """A feature column (an arrow Array, or a ChunkedArray: its chunks are joined) as a
    numpy array, or the one-line error for its empty values."""
    if column.null_count:
        raise DataError(
            f"{where}: column {name!r} has empty values", hint="fill or drop them first"
        )
    if not isinstance(column, pyarrow_modules().Array):
        column = column.combine_chunks()
    return numeric_values(column)


def copy_features(batch: Any, features: list[str], out: np.ndarray, where: Path) -> None:
    """``batch``'s feature columns, in ``features`` order, into the rows ``out``."""
    for j, name in enumerate(features):
        out[:, j] = feature_values(batch.column(name), name, where)


class RowSink:
    """Record batches copied into one growing row-major float32 array (x) and a target
    column (y). The array is allocated for ``capacity`` rows; pages never written are
    never resident, and growing it (a realloc of a large block) moves no data."""

    def __init__(self, features: list[str], target: str, where: Path, capacity: int) -> None:
        self.features, self.target, self.where = features, target, where
        self.x = np.empty((max(capacity, 1), len(features)), dtype=np.float32)
        self.n = 0
        self._targets: list[Any] = []

    def add(self, batch: Any, own_target: bool = False) -> None:
        """Copy ``batch``'s rows (``own_target``: copy its target out too, because the
        memory under the batch is about to be reused)."""
        rows = batch.num_rows
        if self.n + rows > len(self.x):
            self.x.resize((max(2 * len(self.x), self.n + rows), len(self.features)), refcheck=False)
        copy_features(batch, self.features, self.x[self.n : self.n + rows], self.where)
        target = batch.column(self.target)
        if own_target:
            target = pyarrow_modules().concat_arrays([target])
        self._targets.append(target)
        self.n += rows

    def result(self) -> tuple[np.ndarray, np.ndarray]:
        """(x, y), x cut to the rows written (its spare tail handed back: left mapped,
        the kernel may still fill it with huge pages)."""
        if len(self.x) != self.n:
            self.x.resize((self.n, len(self.features)), refcheck=False)
        return self.x, _target_values(self._targets, self.where, self.target)


def fill_rows(
    batches: Iterator[Any], n: int, features: list[str], target: str, where: Path
) -> tuple[np.ndarray, np.ndarray]:
    """Copy ``n`` rows of record batches into (x: n × features float32, y)."""
    sink = RowSink(features, target, where, n)
    for batch in batches:
        sink.add(batch)
    if sink.n != n:
        raise DataError(f"{where}: expected {n} rows, read {sink.n}")
    return sink.result()


def _drain(tables: list[Any]) -> Iterator[Any]:
    """The tables' record batches, each released (with its table) once consumed."""
    while tables:
        batches = tables.pop(0).to_batches()
        while batches:
            yield batches.pop(0)


def _csv_header(path: Path) -> list[str] | None:
    pa = pyarrow_modules()
    import pyarrow.csv as pacsv

    try:
        with pacsv.open_csv(path, read_options=pacsv.ReadOptions(block_size=1 << 16)) as reader:
            return list(reader.schema.names)
    except pa.ArrowInvalid as exc:
        if "Empty CSV file" in str(exc):
            return None
        raise DataError(f"{path}: {_first_line(exc)}") from exc


def _first_line(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


def _csv_segments(path: Path, header: bool = True) -> Iterator[memoryview]:
    """The file's lines (the first left out when it is a ``header``) in pieces of about
    ``_CSV_SEGMENT`` bytes, each ending at a line end, read into one reused buffer: each
    piece is parsed by the multi-threaded reader and released before the next is read,
    which bounds the reader's memory (given a whole file it reads far ahead of its
    parsing, and fresh buffers per piece fragment the heap)."""
    buf = bytearray(_CSV_SEGMENT)
    held = 0  # bytes of an unfinished line carried over from the previous read
    with path.open("rb") as fh:
        if header:
            fh.readline()
        while True:
            end = held + fh.readinto(memoryview(buf)[held:])
            if end < len(buf):  # the end of the file
                if end:
                    yield memoryview(buf)[:end]
                return
            cut = buf.rfind(b"\n", 0, end) + 1
            if cut == 0:  # one line longer than the buffer: make room for it
                buf = buf + bytearray(len(buf))
                held = end
                continue
            yield memoryview(buf)[:cut]
            buf[: end - cut] = buf[cut:end]
            held = end - cut


def csv_tables(path: Path, header: list[str], target: str) -> Iterator[tuple[int, Any]]:
    """Each piece of the CSV file ``path`` (see ``_csv_segments``) parsed by pyarrow, its
    features as float32: (the piece's size in bytes, its table). A parse error is one
    line naming the file, and the column when pyarrow says which."""
    pa = pyarrow_modules()
    import pyarrow.csv as pacsv

    types = {name: pa.float32() for name in header if name != target}
    read_options = pacsv.ReadOptions(column_names=header, block_size=_CSV_BLOCK, use_threads=True)
    convert = pacsv.ConvertOptions(column_types=types)
    for piece in _csv_segments(path):
        try:
            table = pacsv.read_csv(
                pa.BufferReader(piece),
                read_options=read_options,
                convert_options=convert,
                memory_pool=pa.system_memory_pool(),
            )
        except pa.ArrowInvalid as exc:
            raise _csv_error(path, header, exc) from exc
        size = len(piece)
        del piece  # the buffer is reused for the next piece
        yield size, table


def _read_csv_file(path: Path, header: list[str], sink: RowSink | None, target: str) -> RowSink:
    size = path.stat().st_size
    for piece_size, table in csv_tables(path, header, target):
        if sink is None:  # size the array from the first piece's rows per byte
            estimate = int(table.num_rows * size / piece_size * 1.05) + 1024
            sink = RowSink([n for n in header if n != target], target, path, estimate)
        for batch in table.to_batches():
            sink.add(batch, own_target=True)
        del table
    if sink is None:
        sink = RowSink([n for n in header if n != target], target, path, 0)
    return sink


def csv_files(location: Path, target: str) -> tuple[list[Path], list[str]]:
    """The CSV files of ``location`` that hold a header (each the same, naming
    ``target``), and that header."""
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
    return files, header


def read_csv(location: Path, target: str) -> tuple[np.ndarray, np.ndarray]:
    """One CSV file or a directory of them (same header in each) as (x float32, y)."""
    files, header = csv_files(location, target)
    sink: RowSink | None = None
    for path in files:
        sink = _read_csv_file(path, header, sink, target)
    if sink is None or sink.n == 0:
        raise DataError(f"data: {location} holds no CSV rows")
    sink.where = location
    release_free_memory()
    return sink.result()


def _csv_error(path: Path, header: list[str], exc: BaseException) -> DataError:
    text = _first_line(exc)
    column = re.search(r"CSV column #(\d+)", text)
    if column and "conversion error" in text and int(column.group(1)) < len(header):
        name = header[int(column.group(1))]
        return DataError(f"{path}: column {name!r} is not numeric", hint="encode it first")
    if "Expected" in text and "columns" in text:
        return DataError(f"{path}: rows have a different number of fields than the header")
    return DataError(f"{path}: {text}")


def parquet_files(
    location: Path, target: str, memory_map: bool = True
) -> tuple[list[Any], list[str]]:
    """The Parquet files at ``location`` (opened) and their feature columns."""
    pa = pyarrow_modules()
    import pyarrow.parquet as pq

    files = []
    features: list[str] | None = None
    for path in data_files(location, SUFFIXES["parquet"]):
        try:
            pf = pq.ParquetFile(path, memory_map=memory_map)
        except (pa.ArrowException, OSError) as exc:
            raise DataError(f"{path}: not a Parquet file ({_first_line(exc)})") from exc
        found = _check_types(pf.schema_arrow, target, path)
        if features is None:
            features = found
        elif set(found) != set(features):
            raise DataError(f"{path}: columns differ from the first Parquet file's")
        files.append(pf)
    assert features is not None  # data_files returned at least one file
    return files, features


def read_parquet(location: Path, target: str) -> tuple[np.ndarray, np.ndarray]:
    """One Parquet file or a directory of them, read a batch at a time, as (x float32, y)."""
    files, features = parquet_files(location, target)
    n = sum(pf.metadata.num_rows for pf in files)
    if n == 0:
        raise DataError(f"data: {location} holds no Parquet rows")
    columns = [*features, target]

    def batches() -> Iterator[Any]:
        for pf in files:
            yield from pf.iter_batches(batch_size=_BATCH_ROWS, columns=columns, use_threads=True)

    return fill_rows(batches(), n, features, target, location)


def read_jsonl(location: Path, target: str) -> tuple[np.ndarray, np.ndarray]:
    """JSON Lines (one flat object per line: numeric features and the target) as (x, y)."""
    pa = pyarrow_modules()
    import pyarrow.json as pajson

    tables = []
    features: list[str] | None = None
    for path in data_files(location, SUFFIXES["jsonl"]):
        try:
            table = pajson.read_json(path, read_options=pajson.ReadOptions(use_threads=True))
        except pa.ArrowInvalid as exc:
            raise DataError(f"{path}: not JSON Lines ({_first_line(exc)})") from exc
        if table.num_rows == 0:
            continue
        found = _check_types(table.schema, target, path)
        if features is None:
            features = found
        elif set(found) != set(features):
            raise DataError(f"{path}: keys differ from the first JSON Lines file's")
        tables.append(table)
    if features is None:
        raise DataError(f"data: {location} holds no JSON Lines rows")
    n = sum(t.num_rows for t in tables)
    return fill_rows(_drain(tables), n, features, target, location)


READERS = {"csv": read_csv, "parquet": read_parquet, "jsonl": read_jsonl}
