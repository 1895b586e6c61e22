"""What a streamed Parquet source holds, and reading any run of its rows.

The source is indexed from the files' footers only (no data pages are read): every row
group becomes a ``Piece`` (file, row group, first row, end row). A split is a list of
pieces; the order of one epoch is a permutation of them, and a reader turns a run of
positions in that order into float32 features and raw targets, decoding only the row
groups the run touches.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from trainers.errors import DataError

SUFFIXES = (".parquet", ".pq")


@dataclass(frozen=True)
class Piece:
    """Rows [lo, hi) of one row group of one file."""

    file: int
    group: int
    lo: int
    hi: int

    @property
    def rows(self) -> int:
        return self.hi - self.lo


def _pq() -> Any:
    try:
        import pyarrow.parquet as pq
    except ImportError as exc:  # the trainer image may lack it; the error names the fix
        raise DataError(
            "data.source=parquet needs pyarrow", hint="pip install pyarrow in the image"
        ) from exc
    return pq


def parquet_files(location: Path) -> list[Path]:
    """The Parquet files of a file or directory (recursively, sorted)."""
    if location.is_file():
        return [location]
    if location.is_dir():
        found = sorted(p for p in location.rglob("*") if p.is_file() and p.suffix in SUFFIXES)
        if found:
            return found
        raise DataError(f"data: no *.parquet files in {location}")
    raise DataError(f"data: not found: {location}")


class ParquetIndex:
    """The row groups of a set of Parquet files with one schema: feature columns are
    every column but ``target``."""

    def __init__(self, files: list[Path], target: str) -> None:
        pq = _pq()
        self.files = files
        self.target = target
        self.pieces: list[Piece] = []
        names: list[str] | None = None
        for i, path in enumerate(files):
            try:
                meta = pq.ParquetFile(path).metadata
            except Exception as exc:  # pyarrow raises several types for a bad footer
                raise DataError(f"{path}: not a readable Parquet file ({exc})") from exc
            these = list(meta.schema.to_arrow_schema().names)
            if names is None:
                names = these
            elif these != names:
                raise DataError(f"{path}: columns differ from {files[0]}'s")
            for g in range(meta.num_row_groups):
                rows = meta.row_group(g).num_rows
                if rows:
                    self.pieces.append(Piece(i, g, 0, rows))
        if names is None or not self.pieces:
            raise DataError(f"data: {files[0].parent if files else 'source'} holds no rows")
        if target not in names:
            raise DataError(f"data.target: column {target!r} not in {files[0]}", hint=f"{names}")
        self.features = [n for n in names if n != target]
        if not self.features:
            raise DataError(f"data: {files[0]} has no feature columns besides {target!r}")
        self.rows = sum(p.rows for p in self.pieces)

    def truncate(self, rows: int) -> None:
        """Keep only the first ``rows`` rows in file order (``data.limit``)."""
        kept: list[Piece] = []
        left = rows
        for p in self.pieces:
            if left <= 0:
                break
            kept.append(p if p.rows <= left else Piece(p.file, p.group, p.lo, p.lo + left))
            left -= kept[-1].rows
        self.pieces, self.rows = kept, min(rows, self.rows)

    def split(self, n_val: int) -> tuple[list[Piece], list[Piece]]:
        """(train, val): the last ``n_val`` rows in file order are the validation rows."""
        cut = self.rows - n_val
        train: list[Piece] = []
        val: list[Piece] = []
        seen = 0
        for p in self.pieces:
            if seen + p.rows <= cut:
                train.append(p)
            elif seen >= cut:
                val.append(p)
            else:
                mid = p.lo + (cut - seen)
                train.append(Piece(p.file, p.group, p.lo, mid))
                val.append(Piece(p.file, p.group, mid, p.hi))
            seen += p.rows
        return train, val


_OPEN_FILES = 4  # Parquet files a reader keeps open
_COLUMNS_AT_ONCE = 16  # feature columns decoded together (4 MB at 65,536 rows)


class PieceReader:
    """Reads runs of rows of an ordered list of pieces; keeps the last row group decoded
    (a run often ends inside one and the next run starts there)."""

    def __init__(self, index: ParquetIndex, pieces: list[Piece]) -> None:
        self.index = index
        self.use(pieces)
        self._files: dict[int, Any] = {}
        self._cached: tuple[tuple[int, int], np.ndarray, np.ndarray] | None = None
        # Reused for every row group: a fresh 32 MB array costs ~6 ms of page faults,
        # as much as the transpose that fills it; reused buffers also keep the peak
        # resident memory the same from one run (and data size) to the next.
        # Sized for the largest row group at once: sized by the first one decoded, they
        # grew when a larger one came, at a point that depended on the shuffled order.
        largest = max((p.rows for p in pieces), default=0) * len(index.features)
        self._scratch = np.empty(largest, dtype=np.float32)
        self._rows = np.empty(largest, dtype=np.float32)
        self._joined = np.empty(0, dtype=np.float32)  # a run across row groups

    def reserve_run(self, rows: int) -> None:
        """Allocate (and write) the buffer of a run of ``rows`` rows across row groups now,
        not when the first such run comes: that depends on the shuffled order (a short
        row group shifts every later run off the group boundaries), and the peak memory
        with it."""
        size = rows * len(self.index.features)
        if self._joined.size < size:
            self._joined = np.empty(size, dtype=np.float32)
            self._joined.fill(0)

    def use(self, pieces: list[Piece]) -> None:
        """Read runs of ``pieces`` from now on (the next epoch's order); the buffers and
        the cached row group are kept."""
        self.pieces = pieces
        self.starts = np.cumsum([0] + [p.rows for p in pieces])

    def _open(self, file: int) -> Any:
        """File ``file`` opened; the few used last stay open (a source of thousands of
        files held them all, with their footers, and as many descriptors)."""
        parquet = self._files.pop(file, None)
        if parquet is None:
            parquet = _pq().ParquetFile(self.index.files[file])
        self._files[file] = parquet  # dicts keep insertion order: the last is the newest
        while len(self._files) > _OPEN_FILES:
            oldest = self._files.pop(next(iter(self._files)))
            oldest.close()
        return parquet

    def _group(self, file: int, group: int) -> tuple[np.ndarray, np.ndarray]:
        key = (file, group)
        if self._cached is not None and self._cached[0] == key:
            return self._cached[1], self._cached[2]
        parquet, path = self._open(file), self.index.files[file]
        n = parquet.metadata.row_group(group).num_rows
        width = len(self.index.features)
        if self._rows.size < n * width:
            self._scratch = np.empty(n * width, dtype=np.float32)
            self._rows = np.empty(n * width, dtype=np.float32)
        columns = self._scratch[: n * width].reshape(width, n)
        # A few columns decoded at a time, each copied into its row of `columns` and let
        # go: the whole row group decoded at once (32 MB at 65,536 x 128) was a transient
        # on top of everything else, and the run's peak memory came from it.
        for at in range(0, width, _COLUMNS_AT_ONCE):
            names = self.index.features[at : at + _COLUMNS_AT_ONCE]
            table = parquet.read_row_group(group, columns=names)
            for i, name in enumerate(names):
                columns[at + i] = _float_column(table, name, path)
            del table
        x = self._rows[: n * width].reshape(n, width)
        # Stacked as rows of columns, then transposed in one copy: ~8x faster than stacking
        # along axis 1, which writes every value with a stride of the row width.
        np.copyto(x, columns.T)
        target = parquet.read_row_group(group, columns=[self.index.target])
        y = target.column(self.index.target).to_numpy(zero_copy_only=False)
        self._cached = (key, x, y)
        return x, y

    def read(self, start: int, stop: int) -> tuple[np.ndarray, np.ndarray]:
        """Rows at positions [start, stop) of the piece order: (x float32, y raw). The
        features may be a view of the reader's row group buffer, valid until the next
        call: copy them before reading again."""
        first = int(np.searchsorted(self.starts, start, side="right")) - 1
        p = self.pieces[first]
        lo = p.lo + (start - int(self.starts[first]))
        if stop - int(self.starts[first]) <= p.rows:  # within one row group: a view
            x, y = self._group(p.file, p.group)
            return x[lo : lo + stop - start], y[lo : lo + stop - start]
        # Across row groups: each part is copied out before the next group overwrites it.
        width = len(self.index.features)
        if self._joined.size < (stop - start) * width:
            self._joined = np.empty((stop - start) * width, dtype=np.float32)
        out = self._joined[: (stop - start) * width].reshape(stop - start, width)
        ys = []
        at, i = start, first
        while at < stop:
            p = self.pieces[i]
            x, y = self._group(p.file, p.group)
            lo = p.lo + (at - int(self.starts[i]))
            hi = p.lo + min(stop - int(self.starts[i]), p.rows)
            out[at - start : at - start + hi - lo] = x[lo:hi]
            ys.append(y[lo:hi])
            at += hi - lo
            i += 1
        return out, np.concatenate(ys)


def _float_column(table: Any, name: str, path: Path) -> np.ndarray:
    """One feature column of a pyarrow table as float32 (a view where it already is)."""
    try:
        return table.column(name).to_numpy(zero_copy_only=False).astype(np.float32, copy=False)
    except (ValueError, TypeError) as exc:
        raise DataError(
            f"{path}: a feature column is not numeric ({exc})", hint="encode it"
        ) from exc
