"""Find each feed's file in an extract folder, check it can be read, and stream it.

Every file-level mistake (missing file, missing column, empty file, wrong delimiter,
wrong encoding) becomes a ``UserError`` naming the file and the fix, raised before any
row is loaded. Rows stream out in batches of text with their row numbers, so memory
stays flat whatever the size of the file.

Row numbers count records, the header being row 1: what a spreadsheet shows (a quoted
value over several lines is one row, so after it a row number is not the line number).
"""

from __future__ import annotations

import codecs
import hashlib
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from carevalue.errors import UserError
from carevalue.sources.extract_mapping import FeedMapping
from carevalue.sources.feeds import Feed

SUFFIXES = (".csv", ".parquet")
BLOCK_BYTES = 8 << 20
OTHER_DELIMITERS = {";": "semicolons", "\t": "tabs", "|": "pipes"}


@dataclass
class FeedFile:
    feed: Feed
    path: Path
    format: str  # "csv" or "parquet"
    columns: list[str]
    size_bytes: int
    delimiter: str = ","
    encoding: str = "utf-8"
    sha256: str = field(default="")
    mapping: FeedMapping = field(default_factory=FeedMapping)

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def contract_columns(self) -> list[str]:
        """The header with the mapping file's renames applied."""
        return [self.mapping.columns.get(c, c) for c in self.columns]


def find_feed_file(folder: Path, feed: Feed, mapping: FeedMapping | None = None) -> Path:
    if mapping is not None and mapping.file:
        path = folder / mapping.file
        if not path.is_file():
            raise UserError(
                f"The mapping file names {mapping.file} for the {feed.name} feed, but {folder} has "
                "no such file; correct the file name in the mapping."
            )
        if path.suffix not in SUFFIXES:
            raise UserError(
                f"{path} is neither .csv nor .parquet; export the {feed.name} feed as one."
            )
        return path
    found = [folder / f"{feed.name}{s}" for s in SUFFIXES if (folder / f"{feed.name}{s}").exists()]
    if not found:
        raise UserError(
            f"No {feed.name} feed in {folder}: expected {feed.name}.csv or {feed.name}.parquet "
            "(use --only to load fewer feeds)."
        )
    if len(found) > 1:
        raise UserError(
            f"{folder} has both {found[0].name} and {found[1].name}; keep the one to load."
        )
    return found[0]


def open_feed_file(
    folder: Path,
    feed: Feed,
    *,
    delimiter: str = ",",
    encoding: str = "utf-8",
    mapping: FeedMapping | None = None,
) -> FeedFile:
    """Locate and pre-flight one feed's file; raise ``UserError`` for a file-level mistake."""
    mapping = mapping or FeedMapping()
    path = find_feed_file(folder, feed, mapping)
    if not path.is_file():
        raise UserError(f"{path} is a folder, not a file; put the {feed.name} feed's file there.")
    try:
        with path.open("rb"):
            pass
    except OSError as error:
        raise UserError(
            f"Cannot open {path} ({error.strerror}); give this user read access to it."
        ) from None
    if path.stat().st_size == 0:
        raise UserError(f"{path} is empty; export the {feed.name} feed again with its header row.")
    if path.suffix == ".parquet":
        columns = _parquet_columns(path)
        result = FeedFile(feed, path, "parquet", columns, path.stat().st_size, mapping=mapping)
    else:
        columns = _csv_header(path, feed, delimiter=delimiter, encoding=encoding)
        result = FeedFile(
            feed, path, "csv", columns, path.stat().st_size, delimiter, encoding, mapping=mapping
        )
    _check_names(path, result)
    columns = result.contract_columns
    missing = [c for c in feed.required_columns if c not in columns]
    if missing:
        names = ", ".join(f"'{m}'" for m in missing)
        plural = "columns" if len(missing) > 1 else "column"
        raise UserError(
            f"{path}: required {plural} {names} missing; the header has "
            f"{', '.join(columns)}. Add or rename the {plural} and load again."
        )
    result.sha256 = file_sha256(path)
    return result


def _check_names(path: Path, feed_file: FeedFile) -> None:
    """Names the warehouse could not keep apart, or that lineage columns already use."""
    renamed = feed_file.contract_columns
    for source, target in feed_file.mapping.columns.items():
        if source in feed_file.columns and target in feed_file.columns:
            raise UserError(
                f"{path} has both '{source}' (renamed to '{target}' by the mapping) and "
                f"'{target}'; drop one of them or remove the rename."
            )
    for name in renamed:
        if not name.strip():
            raise UserError(f"{path}: the header has a column with no name; name it or delete it.")
        if name.startswith("_"):
            raise UserError(
                f"{path}: column '{name}' starts with '_', which CareValue keeps for lineage "
                "columns; rename it in the export or the mapping."
            )
    folded: dict[str, str] = {}
    for name in renamed:
        other = folded.setdefault(name.lower(), name)
        if other != name:
            raise UserError(
                f"{path}: columns '{other}' and '{name}' differ only in capitals, which the "
                "warehouse cannot keep apart; rename one of them."
            )


def _csv_header(path: Path, feed: Feed, *, delimiter: str, encoding: str) -> list[str]:
    with path.open("rb") as handle:
        head = handle.read(1 << 20)
    if head[:2] in (b"\xff\xfe", b"\xfe\xff") and not encoding.lower().startswith("utf-16"):
        raise UserError(
            f"{path} is UTF-16 text (what Excel calls 'Unicode Text'); save it as 'CSV UTF-8' "
            "or pass --encoding utf-16."
        )
    _check_decodes(path, head, encoding, at_end=len(head) < (1 << 20))
    text = head.decode(encoding, errors="ignore").lstrip("\ufeff")
    if not text.strip():
        raise UserError(f"{path} is empty; export the {feed.name} feed again with its header row.")
    header = text.splitlines()[0]
    if delimiter not in header:
        for other, word in OTHER_DELIMITERS.items():
            if other != delimiter and other in header:
                shown = "\\t" if other == "\t" else other
                raise UserError(
                    f"{path} is separated by {word}, not commas; save it as comma-separated "
                    f"or pass --delimiter '{shown}'."
                )
    columns = [c.strip().strip('"').strip() for c in header.split(delimiter)]
    duplicated = sorted({c for c in columns if columns.count(c) > 1})
    if duplicated:
        raise UserError(
            f"{path}: the header names column '{duplicated[0]}' twice; rename one of them."
        )
    return columns


def _check_decodes(path: Path, data: bytes, encoding: str, *, at_end: bool) -> None:
    decoder = codecs.getincrementaldecoder(encoding)()
    try:
        decoder.decode(data, final=at_end)
    except UnicodeDecodeError as error:
        raise UserError(_encoding_message(path, encoding, error.start)) from None


def _encoding_message(path: Path, encoding: str, offset: int | None) -> str:
    where = f" (first bad byte at offset {offset})" if offset is not None else ""
    return (
        f"{path} is not valid {encoding.upper()} text{where}; save it as UTF-8 or pass "
        "--encoding with the file's encoding, e.g. --encoding cp1252."
    )


def _first_bad_byte(path: Path, encoding: str) -> int | None:
    decoder = codecs.getincrementaldecoder(encoding)()
    offset = 0
    with path.open("rb") as handle:
        while chunk := handle.read(BLOCK_BYTES):
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError as error:
                return offset + error.start
            offset += len(chunk)
    return None


def _parquet_columns(path: Path) -> list[str]:
    try:
        return pq.ParquetFile(path).schema_arrow.names
    except Exception as error:
        raise UserError(
            f"{path} is not a readable Parquet file ({error}); export it again."
        ) from None


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(BLOCK_BYTES):
            digest.update(chunk)
    return digest.hexdigest()


@dataclass(frozen=True)
class MalformedRow:
    row: int
    reason: str
    text: str


def stream_rows(
    feed_file: FeedFile, *, on_bytes: Callable[[int], None] | None = None
) -> Iterator[tuple[pa.Table, np.ndarray, list[MalformedRow]]]:
    """Yield (batch of text columns, row number of each row, malformed rows seen)."""
    if feed_file.format == "parquet":
        yield from _stream_parquet(feed_file, on_bytes)
    else:
        yield from _stream_csv(feed_file, on_bytes)


def _stream_parquet(feed_file: FeedFile, on_bytes):
    parquet = pq.ParquetFile(feed_file.path)
    total_rows = max(parquet.metadata.num_rows, 1)
    next_row = 2
    for batch in parquet.iter_batches(batch_size=200_000):
        table = pa.Table.from_batches([batch])
        text = pa.table({name: _to_text(table.column(name)) for name in table.column_names})
        rows = np.arange(next_row, next_row + table.num_rows, dtype=np.int64)
        next_row += table.num_rows
        if on_bytes:
            on_bytes(int(feed_file.size_bytes * table.num_rows / total_rows))
        yield text, rows, []


def _to_text(column: pa.ChunkedArray) -> pa.ChunkedArray:
    if pa.types.is_timestamp(column.type) and column.type.tz is not None:
        # Times with a zone become UTC wall-clock time, as documented for ingest.
        column = column.cast(pa.timestamp(column.type.unit))
    if pa.types.is_timestamp(column.type):
        # ISO 8601 with a 'T', which the text parser accepts like any CSV value.
        return pa.chunked_array(
            [pa.compute.strftime(chunk, format="%Y-%m-%dT%H:%M:%S") for chunk in column.chunks],
            type=pa.string(),
        )
    if pa.types.is_nested(column.type):
        # Lists and structs (a Parquet export's nested columns) are kept as JSON text.
        values = [None if v is None else json.dumps(v, default=str) for v in column.to_pylist()]
        return pa.chunked_array([pa.array(values, pa.string())])
    if pa.types.is_binary(column.type) or pa.types.is_large_binary(column.type):
        values = [None if v is None else v.decode("utf-8", "replace") for v in column.to_pylist()]
        return pa.chunked_array([pa.array(values, pa.string())])
    return column.cast(pa.string())


def _stream_csv(feed_file: FeedFile, on_bytes):
    malformed: list[MalformedRow] = []
    columns = feed_file.columns

    def on_malformed(row) -> str:
        line = row.number if row.number is not None else -1
        malformed.append(
            MalformedRow(
                line,
                f"has {row.actual_columns} values where the header has {row.expected_columns}",
                row.text,
            )
        )
        return "skip"

    handle = feed_file.path.open("rb")
    try:
        reader = pacsv.open_csv(
            handle,
            read_options=pacsv.ReadOptions(
                use_threads=False, block_size=BLOCK_BYTES, encoding=feed_file.encoding
            ),
            parse_options=pacsv.ParseOptions(
                delimiter=feed_file.delimiter,
                invalid_row_handler=on_malformed,
                newlines_in_values=True,
            ),
            convert_options=pacsv.ConvertOptions(
                column_types={c: pa.string() for c in columns},
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
        next_line = 2
        reported = 0
        while True:
            try:
                batch = reader.read_next_batch()
            except StopIteration:
                break
            table = pa.Table.from_batches([batch])
            # Lines the parser skipped as malformed are not in the batch; number the good
            # rows around them.
            skipped = sorted(m.row for m in malformed if m.row >= next_line)
            candidates = np.arange(
                next_line, next_line + table.num_rows + len(skipped), dtype=np.int64
            )
            rows = candidates[~np.isin(candidates, skipped)][: table.num_rows]
            next_line = int(rows[-1]) + 1 if len(rows) else next_line
            fresh = malformed[reported:]
            reported = len(malformed)
            if on_bytes:
                on_bytes(handle.tell())
            yield table, rows, fresh
        if len(malformed) > reported:
            yield (
                pa.table({c: pa.array([], pa.string()) for c in columns}),
                np.array([], dtype=np.int64),
                malformed[reported:],
            )
    except pa.ArrowInvalid as error:
        if "UTF8" in str(error) or "utf-8" in str(error).lower():
            raise UserError(
                _encoding_message(
                    feed_file.path,
                    feed_file.encoding,
                    _first_bad_byte(feed_file.path, feed_file.encoding),
                )
            ) from None
        raise UserError(
            f"{feed_file.path} could not be read as CSV ({error}); check it is a CSV export."
        ) from None
    finally:
        handle.close()
