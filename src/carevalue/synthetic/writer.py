"""Stream feed tables to files, one file per feed, chunk after chunk.

CSV: a header once, then rows appended (strings quoted, blanks for null). Parquet: one row
group per chunk through a ParquetWriter. Neither holds more than a chunk in memory.

The CSV files are not neutralised against spreadsheet formulae the way exports are
(``carevalue.csv_export``): they are a trust's extract for CareValue's ingest to read, and
must hold exactly the values a trust's system would send: a leading quote would be part
of the value ingest reads (a code or an identifier would no longer match its code list or
its patient). Nor is there anything to neutralise: every value in them is generated here
from fixed vocabularies, none is taken from anyone's input.
"""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

FILE_FORMATS = ("csv", "parquet")


class FeedWriter:
    """Appends tables with one schema to one file."""

    def __init__(self, path: Path, schema: pa.Schema, file_format: str) -> None:
        self.path = path
        self.rows = 0
        if file_format == "csv":
            self._sink = pa.OSFile(str(path), "wb")
            self._writer = pacsv.CSVWriter(self._sink, schema)
        else:
            self._sink = None
            self._writer = pq.ParquetWriter(str(path), schema, compression="zstd")

    def write(self, table: pa.Table) -> None:
        if table.num_rows:
            self._writer.write_table(table)
            self.rows += table.num_rows

    def close(self) -> None:
        self._writer.close()
        if self._sink is not None:
            self._sink.close()


def feed_path(out_dir: Path, feed: str, file_format: str) -> Path:
    return out_dir / f"{feed}.{file_format}"
