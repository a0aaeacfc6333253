"""``carevalue ingest``: load one extract folder into the warehouse.

1. Pre-flight every feed file (file-level mistakes stop here, before anything changes).
2. Stage each feed: stream, check, pseudonymise, split good rows from quarantined ones.
3. Merge all feeds in one transaction: repeated keys to quarantine, upsert by key.
4. Re-run the data-quality checks over the whole warehouse; log the load.

Rows read = rows loaded + rows quarantined, per feed, always; ``LoadReport`` carries
the figures and ``reconciles`` says whether they add up.
"""

from __future__ import annotations

import errno
import os
import shutil
import tempfile
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import ibis
import pandas as pd
from ibis.backends import BaseBackend
from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn

from carevalue.errors import UserError
from carevalue.sources.data_quality import evaluate_checks
from carevalue.sources.extract_mapping import ExtractMapping, find_mapping
from carevalue.sources.feeds import FEED_ORDER, FEEDS, Feed
from carevalue.sources.key_fingerprint import check_same_key, key_fingerprint
from carevalue.sources.merge_feed import (
    align_columns,
    first_row_per_key,
    repeated_key_quarantine,
    replace_quarantine_of_file,
    union_schema,
    upsert,
)
from carevalue.sources.quarantine_guard import DEFAULT_MAX_QUARANTINED, check_share
from carevalue.sources.read_extract import FeedFile, open_feed_file
from carevalue.sources.stage_feed import StagedFeed, stage_feed
from carevalue.warehouse import atomic, replace_table, table_or_none

QUARANTINE_TABLE = "quarantine"
LOAD_LOG_SCHEMA = ibis.schema(
    {
        "load_id": "string",
        "loaded_at": "timestamp",
        "folder": "string",
        "feed": "string",
        "file": "string",
        "rows_read": "int64",
        "rows_loaded": "int64",
        "rows_quarantined": "int64",
        "rows_new": "int64",
        "rows_updated": "int64",
        "key_fingerprint": "string",
    }
)
DQ_TABLE = "dq_results"
LOAD_LOG_TABLE = "load_log"
DQ_SCHEMA = ibis.schema(
    {
        "load_id": "string",
        "check_id": "string",
        "feed": "string",
        "severity": "string",
        "rows": "int64",
        "description": "string",
        "examples": "string",
    }
)


@dataclass
class FeedLoad:
    feed: str
    file: str
    rows_read: int
    rows_loaded: int
    rows_quarantined: int
    rows_new: int
    rows_updated: int

    @property
    def reconciles(self) -> bool:
        return self.rows_read == self.rows_loaded + self.rows_quarantined


@dataclass
class LoadReport:
    load_id: str
    folder: str
    feeds: list[FeedLoad] = field(default_factory=list)
    findings: list[dict] = field(default_factory=list)

    @property
    def reconciles(self) -> bool:
        return all(f.reconciles for f in self.feeds)


def ingest_extract(
    folder: Path,
    con: BaseBackend,
    *,
    key: bytes,
    only: list[str] | None = None,
    delimiter: str = ",",
    encoding: str = "utf-8",
    console: Console | None = None,
    catalogue: dict[str, Feed] | None = None,
    mapping: Path | ExtractMapping | None = None,
    max_quarantined: float = DEFAULT_MAX_QUARANTINED,
) -> LoadReport:
    """Load ``folder`` into ``con``. ``catalogue`` names the feeds to expect (default: the
    seven canonical feeds); other inputs such as imported activity costs pass their own.

    ``mapping`` is the trust's mapping file (default ``folder/mapping.yaml`` when there is
    one). A feed of which more than ``max_quarantined`` (a share, 0-1) of the rows would be
    quarantined stops the load before the warehouse changes."""
    console = console or Console(stderr=True)
    folder = Path(folder)
    if not folder.is_dir():
        raise UserError(
            f"{folder} is not a folder; give the folder that holds the extract's feed files."
        )
    catalogue = catalogue or FEEDS
    if not isinstance(mapping, ExtractMapping):
        mapping = find_mapping(folder, mapping, catalogue)
    names = _feeds_to_load(only, catalogue)
    feed_files = [
        open_feed_file(
            folder, catalogue[n], delimiter=delimiter, encoding=encoding, mapping=mapping.feed(n)
        )
        for n in names
    ]
    pseudonymises = any(catalogue[n].pseudonymised for n in names)
    fingerprint = key_fingerprint(key) if pseudonymises else None
    if fingerprint is not None:
        check_same_key(table_or_none(con, LOAD_LOG_TABLE), fingerprint)

    load_id = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ-") + uuid.uuid4().hex[:8]
    report = LoadReport(load_id=load_id, folder=str(folder))
    _remove_abandoned_staging()
    staging_dir = Path(tempfile.mkdtemp(prefix=f"{STAGING_PREFIX}{os.getpid()}-"))
    try:
        try:
            staged = _stage_all(feed_files, staging_dir, key=key, load_id=load_id, console=console)
        except OSError as error:
            raise _disk_error(error, f"writing the staging files in {staging_dir.parent}") from None
        for item in staged:
            check_share(
                item.feed_file.feed,
                item.feed_file.name,
                item.rows_read,
                item.rows_bad,
                item.tally,
                max_quarantined,
            )
        try:
            with console.status("Merging into the warehouse…"), atomic(con):
                for item in staged:
                    report.feeds.append(_merge(con, item, load_id=load_id))
                report.findings = _record_findings(con, load_id)
                _append_load_log(con, report, fingerprint)
        except OSError as error:
            raise _disk_error(error, "writing to the warehouse") from None
        except Exception as error:
            if "No space left on device" in str(error):
                full = OSError(errno.ENOSPC, str(error))
                raise _disk_error(full, "writing to the warehouse") from None
            raise
    finally:
        shutil.rmtree(staging_dir, ignore_errors=True)
    return report


STAGING_PREFIX = "carevalue-staging-"


def _remove_abandoned_staging() -> None:
    """Staging folders of loads whose process died (kill -9, power cut) hold copies of a
    whole extract; remove them so they neither fill the disk nor linger."""
    for folder in Path(tempfile.gettempdir()).glob(f"{STAGING_PREFIX}*-*"):
        pid = folder.name.removeprefix(STAGING_PREFIX).split("-", 1)[0]
        if pid.isdigit() and not _process_alive(int(pid)):
            shutil.rmtree(folder, ignore_errors=True)


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, another user's
        return True
    return True


def _disk_error(error: OSError, doing: str) -> Exception:
    """A full disk is the user's to fix; any other OS error is a bug to report."""
    if error.errno != errno.ENOSPC:
        return error
    return UserError(
        f"The disk filled up while {doing}; free some space (or point TMPDIR at a larger "
        "disk) and load again: the warehouse is unchanged."
    )


def _feeds_to_load(only: list[str] | None, catalogue: dict[str, Feed]) -> list[str]:
    if not only:
        return list(catalogue)
    unknown = [n for n in only if n not in catalogue]
    if unknown:
        raise UserError(f"Unknown feed '{unknown[0]}'; the feeds are {', '.join(catalogue)}.")
    return [n for n in catalogue if n in only]


def _stage_all(
    feed_files: list[FeedFile], staging_dir: Path, *, key, load_id, console
) -> list[StagedFeed]:
    columns = (
        TextColumn("[bold]{task.description:<15}"),
        BarColumn(),
        DownloadColumn(),
        TextColumn("{task.fields[rows]:>12,} rows"),
        TimeRemainingColumn(),
    )
    staged = []
    with Progress(*columns, console=console, transient=False) as progress:
        for feed_file in feed_files:
            task = progress.add_task(feed_file.feed.name, total=feed_file.size_bytes, rows=0)
            item = stage_feed(
                feed_file,
                staging_dir,
                key=key,
                load_id=load_id,
                on_bytes=lambda done, t=task: progress.update(t, completed=done),
            )
            progress.update(task, completed=feed_file.size_bytes, rows=item.rows_read)
            staged.append(item)
    return staged


def _merge(con: BaseBackend, item: StagedFeed, *, load_id: str) -> FeedLoad:
    feed_file = item.feed_file
    feed = feed_file.feed
    staged = con.read_parquet(item.good_path).mutate(
        _load_id=ibis.literal(load_id), _source_file=ibis.literal(feed_file.name)
    )
    incoming = first_row_per_key(staged)
    repeats = repeated_key_quarantine(
        staged,
        load_id=load_id,
        feed=feed.name,
        file=feed_file.name,
        file_sha256=feed_file.sha256,
        key_label="+".join(feed.key),
    )
    problems = con.read_parquet(item.quarantine_path).union(repeats)
    existing = table_or_none(con, feed.name)
    updated = (
        0
        if existing is None
        else int(incoming.semi_join(existing.select("_key"), "_key").count().execute())
    )
    loaded = int(incoming.count().execute())
    repeated = int(repeats.count().execute())

    replace_table(con, feed.name, upsert(existing, incoming))
    replace_table(
        con,
        QUARANTINE_TABLE,
        replace_quarantine_of_file(
            table_or_none(con, QUARANTINE_TABLE),
            problems,
            feed=feed.name,
            file_sha256=feed_file.sha256,
        ),
    )
    return FeedLoad(
        feed=feed.name,
        file=feed_file.name,
        rows_read=item.rows_read,
        rows_loaded=loaded,
        rows_quarantined=item.rows_bad + repeated,
        rows_new=loaded - updated,
        rows_updated=updated,
    )


def _record_findings(con: BaseBackend, load_id: str) -> list[dict]:
    tables = {name: con.table(name) for name in FEED_ORDER if name in con.list_tables()}
    findings = evaluate_checks(tables)
    frame = pd.DataFrame(findings, columns=[c for c in DQ_SCHEMA.names if c != "load_id"])
    frame.insert(0, "load_id", load_id)
    con.create_table(DQ_TABLE, ibis.memtable(frame, schema=DQ_SCHEMA), overwrite=True)
    return findings


def _append_load_log(con: BaseBackend, report: LoadReport, fingerprint: str | None) -> None:
    now = datetime.now(UTC).replace(tzinfo=None)
    frame = pd.DataFrame(
        [
            {
                "load_id": report.load_id,
                "loaded_at": now,
                "folder": report.folder,
                "feed": f.feed,
                "file": f.file,
                "rows_read": f.rows_read,
                "rows_loaded": f.rows_loaded,
                "rows_quarantined": f.rows_quarantined,
                "rows_new": f.rows_new,
                "rows_updated": f.rows_updated,
                # A keyed fingerprint of the pseudonymisation key, never the key: the next
                # load can tell whether its hashes would still join to these.
                "key_fingerprint": fingerprint,
            }
            for f in report.feeds
        ]
    )
    new = ibis.memtable(frame.astype({"key_fingerprint": "object"}), schema=LOAD_LOG_SCHEMA)
    existing = table_or_none(con, LOAD_LOG_TABLE)
    if existing is not None:
        # A load log written before a column existed gains it (blank in its old rows).
        schema = union_schema(existing.schema(), new.schema())
        new = align_columns(existing, schema).union(align_columns(new, schema))
    replace_table(con, LOAD_LOG_TABLE, new)


def disk_full_message(error: BaseException) -> str | None:
    """The plain sentence for a full disk met by any command (None for any other error).
    DuckDB reports it as its own IOException, not an OSError, so its text is checked too."""
    full = isinstance(error, OSError) and error.errno == errno.ENOSPC
    if not full and "No space left on device" not in str(error):
        return None
    where = f" ({error.filename})" if isinstance(error, OSError) and error.filename else ""
    return (
        f"The disk filled up{where}; free some space and run the command again: a load or run "
        "that did not finish changed nothing, and the previous results are still served."
    )
