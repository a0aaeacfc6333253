"""Stream one feed file into a staging Parquet file of checked rows and one of problems.

Nothing here touches the warehouse, so a mistake found half-way through a file leaves
the warehouse as it was. NHS numbers are hashed here, before anything is written, and
never reach the staging files, the quarantine or the warehouse in clear.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from carevalue.sources.merge_feed import QUARANTINE_SCHEMA
from carevalue.sources.pseudonymise import keyed_hash, nhs_number_is_valid
from carevalue.sources.quarantine_guard import ProblemTally
from carevalue.sources.read_extract import FeedFile, stream_rows
from carevalue.sources.recode import recode_batch
from carevalue.sources.validate_rows import check_batch

# Ten digits, optionally spaced 3-3-4: what an NHS number looks like inside a raw line.
_NHS_NUMBER_LIKE = re.compile(r"(?<!\d)\d{3}[ -]?\d{3}[ -]?\d{4}(?!\d)")


@dataclass
class StagedFeed:
    feed_file: FeedFile
    good_path: Path
    quarantine_path: Path
    rows_read: int = 0
    rows_good: int = 0
    rows_bad: int = 0  # rows with at least one problem, malformed rows included
    tally: ProblemTally = field(default_factory=ProblemTally)


def stage_feed(
    feed_file: FeedFile,
    staging_dir: Path,
    *,
    key: bytes,
    load_id: str,
    on_bytes: Callable[[int], None] | None = None,
) -> StagedFeed:
    feed = feed_file.feed
    staged = StagedFeed(
        feed_file,
        staging_dir / f"{feed.name}.parquet",
        staging_dir / f"{feed.name}.quarantine.parquet",
    )
    good_writer: pq.ParquetWriter | None = None
    quarantine_writer = pq.ParquetWriter(staged.quarantine_path, QUARANTINE_SCHEMA.to_pyarrow())

    def quarantine(records: list[dict]) -> None:
        if records:
            quarantine_writer.write_table(
                pa.Table.from_pylist(records, schema=QUARANTINE_SCHEMA.to_pyarrow())
            )

    base = {
        "load_id": load_id,
        "feed": feed.name,
        "file": feed_file.name,
        "file_sha256": feed_file.sha256,
    }
    try:
        for raw, rows, malformed in stream_rows(feed_file, on_bytes=on_bytes):
            raw = raw.rename_columns(feed_file.contract_columns)
            recoded = recode_batch(feed, raw, feed_file.mapping)
            checked = check_batch(feed, recoded, rows, written=raw)
            staged.tally.add(checked.problems)
            for m in malformed:
                staged.tally.count(None, "malformed", None, f"row {m.row} {m.reason}")
            good = pseudonymise_table(checked.good, feed.pseudonymised, key)
            if good_writer is None:
                good_writer = pq.ParquetWriter(staged.good_path, good.schema)
            good_writer.write_table(good.cast(good_writer.schema))

            raw_by_row = _raw_rows_by_number(checked.bad_rows, feed.pseudonymised, key)
            quarantine(
                [
                    {
                        **base,
                        "row": p.row,
                        "column": p.column,
                        "value": _hide_if_pseudonymised(p.column, p.value, feed.pseudonymised, key),
                        "reason": f"{feed_file.name} row {p.row}: {p.reason}",
                        "raw_row": raw_by_row.get(p.row),
                    }
                    for p in checked.problems
                ]
            )
            quarantine(
                [
                    {
                        **base,
                        "row": m.row,
                        "column": None,
                        "value": None,
                        "reason": f"{feed_file.name} row {m.row}: {m.reason}",
                        "raw_row": _redact_line(m.text) if feed.pseudonymised else m.text,
                    }
                    for m in malformed
                ]
            )
            staged.rows_good += good.num_rows
            staged.rows_bad += checked.bad_rows.num_rows + len(malformed)
            staged.rows_read += raw.num_rows + len(malformed)
    finally:
        quarantine_writer.close()
        if good_writer is not None:
            good_writer.close()
    if good_writer is None:  # a header-only file: an empty, typed staging file
        header = {c: pa.array([], pa.string()) for c in feed_file.contract_columns}
        empty = check_batch(feed, pa.table(header), np.array([], dtype=np.int64))
        pq.write_table(pseudonymise_table(empty.good, feed.pseudonymised, key), staged.good_path)
    return staged


def pseudonymise_table(
    table: pa.Table, columns: tuple[tuple[str, str], ...], key: bytes
) -> pa.Table:
    """Replace each pseudonymised column by its keyed hash and a check-digit flag."""
    for source, target in columns:
        values = table.column(source).to_pylist()
        hashed = pa.array([None if v is None else keyed_hash(v, key) for v in values], pa.string())
        valid = pa.array(
            [None if v is None else nhs_number_is_valid(v) for v in values], pa.bool_()
        )
        index = table.column_names.index(source)
        table = table.remove_column(index).add_column(index, target, hashed)
        table = table.add_column(index + 1, f"{source}_valid", valid)
    return table


def _raw_rows_by_number(bad_rows: pa.Table, columns, key: bytes) -> dict[int, str]:
    hidden = dict(columns)
    result = {}
    for record in bad_rows.to_pylist():
        row = record.pop("_row")
        for source, target in hidden.items():
            if source in record:
                value = record.pop(source)
                record[target] = None if value is None else keyed_hash(value, key)
        result[row] = json.dumps(record, ensure_ascii=False, default=str)
    return result


def _hide_if_pseudonymised(column, value, columns, key: bytes):
    if value is not None and column in dict(columns):
        return keyed_hash(value, key)
    return value


def _redact_line(text: str) -> str:
    return _NHS_NUMBER_LIKE.sub("[number removed]", text)
