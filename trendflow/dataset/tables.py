"""Row-by-row reading of a user's CSV or Parquet table, with the location of every row for error reports.

    table = open_table("counters.csv", rename={"publish_time": "publishedAt"})
    table.columns                                   # ["video_id", "collected_at", "viewCount", ...]
    for n, row in table.rows():                     # (2, {"video_id": "abc", ...}), streamed
        print(table.where(n))                       # "line 2" (CSV) or "row 2" (Parquet)

CSV (`.csv`, `.csv.gz`; UTF-8, a header line) is read with the stdlib `csv` module, so a row's
location is its first physical line in the file (a quoted value may span lines) and every cell
is a string ("" = empty). Parquet (`.parquet`, `.pq`) is read in record batches with pyarrow;
a row's location is its 1-based row number and cells keep their Arrow types. An unreadable
file is a DatasetError naming it; a CSV row with the wrong number of fields is yielded with the
key `None` (too many) or `MISSING_CELL` values (too few) for the caller to report.
"""

from __future__ import annotations

import csv
import gzip
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

from trendflow.dataset.errors import DatasetError

CSV_SUFFIXES = (".csv", ".csv.gz")
PARQUET_SUFFIXES = (".parquet", ".pq")
MISSING_CELL = object()  # a CSV row shorter than the header


@dataclass
class Table:
    path: Path
    kind: str  # "csv" | "parquet"
    columns: list[str]
    rename: dict[str, str] = field(default_factory=dict)
    num_rows: int | None = None  # known up front for Parquet only

    def where(self, n: int) -> str:
        """A row's location as a person finds it in the file."""
        return f"{'line' if self.kind == 'csv' else 'row'} {n}"

    def rows(self) -> Iterator[tuple[int, dict[Any, Any]]]:
        """(line or row number, {column: value}) for every data row, in file order."""
        yield from (self._csv_rows() if self.kind == "csv" else self._parquet_rows())

    def _csv_rows(self) -> Iterator[tuple[int, dict[Any, Any]]]:
        with _open_text(self.path) as f:
            reader = csv.reader(f)
            next(reader, None)  # the header, read by open_table
            start = 2
            try:
                for cells in reader:
                    where, start = start, reader.line_num + 1
                    if not cells:  # a blank line is not a row
                        continue
                    row: dict[Any, Any] = dict(zip(self.columns, cells))
                    if len(cells) > len(self.columns):
                        row[None] = cells[len(self.columns):]
                    for name in self.columns[len(cells):]:
                        row[name] = MISSING_CELL
                    yield where, row
            except (csv.Error, UnicodeDecodeError) as e:
                raise DatasetError(f"{self.path}: line {start}: not readable as CSV: {e}") from None

    def _parquet_rows(self) -> Iterator[tuple[int, dict[Any, Any]]]:
        import pyarrow as pa
        import pyarrow.parquet as pq

        n = 0
        try:
            for batch in pq.ParquetFile(self.path).iter_batches(batch_size=65_536):
                for row in batch.to_pylist():
                    n += 1
                    yield n, {self.rename.get(k, k): v for k, v in row.items()}
        except (OSError, pa.ArrowException) as e:
            raise DatasetError(f"{self.path}: row {n + 1}: not readable as Parquet: {e}") from None


def _open_text(path: Path):
    # utf-8-sig: spreadsheet exports often start with a byte-order mark, which would rename the first column.
    if path.name.endswith(".gz"):
        return gzip.open(path, "rt", encoding="utf-8-sig", newline="")
    return open(path, encoding="utf-8-sig", newline="")


def open_table(path: str | Path, rename: dict[str, str] | None = None) -> Table:
    """The table's kind and column names (after `rename`); DatasetError when it cannot be read."""
    p = Path(path)
    rename = dict(rename or {})
    if not p.is_file():
        raise DatasetError(f"{p}: table not found (or not a file)")
    name = p.name.lower()
    if name.endswith(CSV_SUFFIXES):
        try:
            with _open_text(p) as f:
                header = next(csv.reader(f), None)
        except (csv.Error, UnicodeDecodeError, OSError) as e:
            raise DatasetError(f"{p}: not readable as CSV: {e}") from None
        if not header:
            raise DatasetError(f"{p}: empty file (a CSV table needs a header line)")
        columns = [rename.get(c.strip(), c.strip()) for c in header]
        table = Table(p, "csv", columns, rename)
    elif name.endswith(PARQUET_SUFFIXES):
        import pyarrow as pa
        import pyarrow.parquet as pq
        try:
            meta = pq.ParquetFile(p)
        except (OSError, pa.ArrowException) as e:
            raise DatasetError(f"{p}: not readable as Parquet: {e}") from None
        columns = [rename.get(c, c) for c in meta.schema_arrow.names]
        table = Table(p, "parquet", columns, rename, meta.metadata.num_rows)
    else:
        raise DatasetError(f"{p}: unknown table format; use {', '.join(CSV_SUFFIXES + PARQUET_SUFFIXES)}")
    dupes = sorted({c for c in columns if columns.count(c) > 1})
    if dupes:
        raise DatasetError(f"{p}: duplicated column names {dupes}")
    return table
