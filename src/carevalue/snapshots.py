"""Publish each completed run as an immutable, read-only snapshot: what the web app reads.

A DuckDB warehouse file open in one process, even read-only, stops every writer
("Conflicting lock is held"), so the web app never opens the warehouse. Instead each
successful ``carevalue run`` publishes a snapshot, a folder of Parquet files, and the web
app reads only snapshots (docs/snapshots.md)::

    <root>/<run id>/<table>.parquet      every results table of the run, and warehouse tables
    <root>/<run id>/manifest.json        run id, published_at, the run's row of ``runs``,
                                         each table's rows and columns, CareValue's version
    <root>/<run id>/packs/<pack id>/...  the condition packs the run used, as they were
    <root>/CURRENT                       the folder name of the current snapshot

Published: the run's own tables (``episodes__<run id>`` … as ``episodes.parquet`` …) and,
when present, ``runs``, ``load_log``, ``dq_results``, ``service_changes`` and
``quarantine_summary``. Not published: ``activity_costs``, which is huge (tens of millions
of rows at a million patients; the web drills down through ``episode_costs``' provenance
instead), and the quarantine's own rows, which hold raw patient data: only their counts per
load, feed, file, field and kind of problem are.

Publishing writes into ``<root>/.<name>.partial/``, syncs every file to disk, renames the
folder into place and only then replaces ``CURRENT`` (a temporary file and ``os.replace``),
so a reader sees the old snapshot or the new one, never half of one, and a failed or killed
publish leaves the previous snapshot current. A reader holding a ``Snapshot`` keeps reading
it while newer ones are published, until retention removes it: the newest ``KEEP_SNAPSHOTS``
are kept, the current one always. Partial folders a killed publish left are swept by the
next. Publishes are one at a time because the caller holds the warehouse's run lock.

A run published again (``carevalue publish``, e.g. after an upgrade) gets a new folder,
``<run id>.2``, ``<run id>.3`` …: a published folder is never changed in place.
"""

from __future__ import annotations

import contextlib
import functools
import json
import math
import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

import ibis
import numpy as np
import pandas as pd
import pyarrow.parquet as pq
from ibis.backends import BaseBackend

import carevalue
from carevalue.conditions import shipped_conditions
from carevalue.errors import UserError
from carevalue.foundation.run_lock import run_lock
from carevalue.packs import load_pack
from carevalue.packs.model import ConditionPack
from carevalue.packs.validate_packs import find_pack_files
from carevalue.runs import RUN_TABLES, RUNS_TABLE, SERVICE_CHANGES_TABLE, current_run_id
from carevalue.warehouse import spark_url, table_or_none

SNAPSHOTS_ENV = "CAREVALUE_SNAPSHOTS"
CURRENT_FILE = "CURRENT"
MANIFEST_FILE = "manifest.json"
PACKS_FOLDER = "packs"
KEEP_SNAPSHOTS = 3
FORMAT_VERSION = 1

# Left out of every snapshot, with the reason the manifest gives.
NOT_PUBLISHED = {
    "activity_costs": "too large to publish (tens of millions of rows at a million patients); "
    "episode_costs keeps each cost's provenance",
    "quarantine": "holds raw patient data; quarantine_summary counts its rows instead",
}
RUN_TABLES_PUBLISHED = tuple(name for name in RUN_TABLES if name not in NOT_PUBLISHED)

LOAD_LOG_TABLE, DQ_TABLE, QUARANTINE_TABLE = "load_log", "dq_results", "quarantine"
QUARANTINE_SUMMARY = "quarantine_summary"
# The key's fingerprint in load_log exists to refuse a changed key at ingest; the web has no
# use for it, so it stays in the warehouse.
LOAD_LOG_HIDDEN = ("key_fingerprint",)
BATCH_ROWS = 100_000


# --- where snapshots live ---------------------------------------------------------------


def snapshot_root(warehouse: str) -> Path:
    """Where the snapshots of ``warehouse`` (a warehouse URL or DuckDB path) live:
    ``$CAREVALUE_SNAPSHOTS`` when set; else beside a DuckDB file
    (``var/warehouse.duckdb`` → ``var/warehouse.snapshots``) or inside a Spark warehouse
    folder (``<folder>/snapshots``)."""
    configured = os.environ.get(SNAPSHOTS_ENV)
    if configured:
        return Path(configured).expanduser()
    if warehouse.startswith("pyspark://"):
        return spark_url(warehouse)[1] / "snapshots"
    # As warehouse.connect reads a URL: duckdb://PATH, or a bare path, is a DuckDB file.
    path = warehouse.removeprefix("duckdb://")
    if path in ("", ":memory:") or "://" in path:
        raise UserError(
            f"The warehouse {warehouse} has no folder of its own for run snapshots; set "
            f"{SNAPSHOTS_ENV} to the folder the web app should read them from."
        )
    return Path(path).expanduser().with_suffix(".snapshots")


# --- reading ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Snapshot:
    """One published run, read-only: its ``run_id``, its folder ``path`` and the contents of
    its ``manifest.json`` (a plain dict: read it, never change it)."""

    run_id: str
    path: Path
    manifest: dict = field(compare=False, hash=False, repr=False)

    def has(self, name: str) -> bool:
        return name in self.manifest.get("tables", {})

    def parquet_path(self, name: str) -> Path:
        if not self.has(name):
            known = ", ".join(sorted(self.manifest.get("tables", {}))) or "none"
            raise KeyError(f"snapshot {self.path.name} has no table {name!r} (it has: {known})")
        return self.path / f"{name}.parquet"

    def table(self, name: str) -> pd.DataFrame:
        """The table as a data frame with the column types an Ibis query of the warehouse
        gives (dates and timestamps as ``datetime64``). Read once per process and then
        shared: every caller gets the same frame, so callers must not change it (copy it
        first)."""
        return _read_parquet(self.parquet_path(name))

    def pack_files(self) -> Path:
        """The folder of the packs the run used (``<pack id>/pack.yaml``, code lists,
        process maps), as ``carevalue.packs.load_packs`` reads a conditions folder."""
        return self.path / PACKS_FOLDER


@functools.lru_cache(maxsize=64)
def _read_parquet(path: Path) -> pd.DataFrame:
    # Bounded: runs come and go, and a long-lived web process must not keep every one.
    # The path names the snapshot folder, which never changes once published.
    return pq.read_table(path).to_pandas(date_as_object=False)


def current_snapshot(root: Path) -> Snapshot | None:
    """The snapshot ``root/CURRENT`` names; None when nothing has been published yet."""
    root = Path(root)
    for _ in range(3):  # a publish may switch CURRENT (and prune) between the two reads
        name = _read_current(root)
        if name is None:
            return None
        try:
            return _open(root / name)
        except FileNotFoundError:
            if _read_current(root) == name:
                break
    raise UserError(
        f"The snapshot folder {root} names {name} as current in {CURRENT_FILE}, but it has no "
        f"such snapshot; run 'carevalue publish' to publish the current run again."
    )


def _read_current(root: Path) -> str | None:
    try:
        name = (root / CURRENT_FILE).read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return None
    return name or None


def _open(folder: Path) -> Snapshot:
    manifest = json.loads((folder / MANIFEST_FILE).read_text(encoding="utf-8"))
    return Snapshot(run_id=manifest["run_id"], path=folder, manifest=manifest)


# --- publishing -------------------------------------------------------------------------


def publish_current_run(con: BaseBackend, root: Path, *, packs_folder: Path | None = None) -> Path:
    """Publish the warehouse's current run again (``carevalue publish``), under the run lock
    so that no run publishes at the same time."""
    with run_lock(con):
        run_id = current_run_id(con)
        if run_id is None:
            raise UserError(
                "The warehouse has no run to publish yet; build one with 'carevalue run'."
            )
        return publish_snapshot(con, run_id, root, packs_folder=packs_folder)


def publish_snapshot(
    con: BaseBackend,
    run_id: str,
    root: Path,
    *,
    packs_folder: Path | None = None,
    packs: list[ConditionPack] | None = None,
) -> Path:
    """Publish run ``run_id`` of ``con`` as a new snapshot under ``root`` and make it current;
    returns its folder. The packs' files are copied from ``packs_folder`` (default: the
    shipped packs); ``packs`` are the packs the run used (default: those the run recorded,
    read from ``packs_folder`` and checked against the versions it recorded).

    The caller holds the warehouse's run lock. On failure the previous snapshot stays
    current and the error is one ``UserError`` sentence."""
    root = Path(root)
    packs_folder = shipped_conditions() if packs_folder is None else Path(packs_folder)
    name, previous = run_id, None
    partial = final = None
    try:
        root.mkdir(parents=True, exist_ok=True)
        _sweep(root)
        name, previous = _free_name(root, run_id), _read_current(root)
        partial, final = root / f".{name}.partial", root / name
        run = _run_row(con, run_id)
        used = packs if packs is not None else _recorded_packs(run, packs_folder)
        partial.mkdir()
        tables = _write_tables(con, run_id, partial)
        _copy_packs(used, packs_folder, partial / PACKS_FOLDER)
        manifest = {
            "format": FORMAT_VERSION,
            "run_id": run_id,
            "published_at": datetime.now(UTC).isoformat(),
            "carevalue_version": carevalue.__version__,
            "engine": con.name,
            "run": run,
            "packs": {p.id: p.governance.version for p in used},
            "tables": tables,
            "not_published": NOT_PUBLISHED,
        }
        _write_text(partial / MANIFEST_FILE, json.dumps(manifest, indent=2) + "\n")
        _sync_tree(partial)
        os.rename(partial, final)
        _sync_folder(root)
        _switch_current(root, name)
    except Exception as error:
        if partial is not None:
            shutil.rmtree(partial, ignore_errors=True)
            if final.exists() and _read_current(root) != name:  # renamed, never made current
                shutil.rmtree(final, ignore_errors=True)
        if isinstance(error, UserError):
            raise
        reason = error.strerror if isinstance(error, OSError) and error.strerror else error
        served = (
            f"the web app still shows snapshot {previous}"
            if previous
            else "nothing has been published there yet"
        )
        raise UserError(
            f"Publishing run {run_id} as a snapshot in {root} failed ({reason}); {served}. "
            "Fix the cause and run 'carevalue publish'."
        ) from error
    with contextlib.suppress(OSError):  # the new snapshot is served; the next publish prunes
        _prune(root, keep=name)
    return final


def _free_name(root: Path, run_id: str) -> str:
    """The run id, or ``<run id>.2``, ``.3`` … when that run was published before."""
    name, n = run_id, 1
    while (root / name).exists():
        n += 1
        name = f"{run_id}.{n}"
    return name


def _run_row(con: BaseBackend, run_id: str) -> dict:
    """The run's row of ``runs`` as JSON values (its JSON text columns decoded)."""
    runs = table_or_none(con, RUNS_TABLE)
    row = None if runs is None else runs.filter(runs.run_id == run_id).limit(1).execute()
    if row is None or row.empty:
        raise UserError(f"The warehouse has no run {run_id} to publish.")
    return {column: _json_value(value) for column, value in row.iloc[0].items()}


def _json_value(value):
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NaT:
        return None
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, (datetime, date, pd.Timestamp)):
        return value.isoformat()
    if isinstance(value, str) and value[:1] in "{[":
        with contextlib.suppress(ValueError):
            return json.loads(value)
    return value if isinstance(value, (str, int, float, bool)) else str(value)


def _recorded_packs(run: dict, packs_folder: Path) -> list[ConditionPack]:
    """The packs the run recorded (id → version), read from ``packs_folder``; a folder whose
    pack has another version would publish definitions that did not make the numbers."""
    recorded = run.get("packs") or {}
    folders = _pack_folders(packs_folder)
    packs = []
    for pack_id, version in recorded.items():
        if pack_id not in folders:
            raise UserError(
                f"Run {run['run_id']} used the condition pack {pack_id}, which {packs_folder} "
                "does not hold; pass the run's conditions folder with --conditions."
            )
        pack = load_pack(folders[pack_id])
        if pack.governance.version != version:
            raise UserError(
                f"Run {run['run_id']} used {pack_id} version {version}, but {packs_folder} holds "
                f"version {pack.governance.version}; pass the conditions folder the run used "
                "with --conditions, or build a new run."
            )
        packs.append(pack)
    return packs


def _pack_folders(packs_folder: Path) -> dict[str, Path]:
    """Each pack's folder under a conditions folder (or one pack's folder), by pack id: the
    loader requires a pack's id to be its folder's name."""
    files, _ = find_pack_files(packs_folder)
    return {file.parent.name: file.parent for file in files}


def _copy_packs(packs: list[ConditionPack], packs_folder: Path, target: Path) -> None:
    folders = _pack_folders(packs_folder)
    target.mkdir()
    for pack in packs:
        if pack.id not in folders:
            raise UserError(
                f"The condition pack {pack.id} is not in {packs_folder}; pass the conditions "
                "folder the run used."
            )
        shutil.copytree(
            folders[pack.id],
            target / pack.id,
            ignore=shutil.ignore_patterns("__pycache__", ".*"),
        )


# --- tables -----------------------------------------------------------------------------


def _write_tables(con: BaseBackend, run_id: str, folder: Path) -> dict[str, dict]:
    """Every table of the snapshot as Parquet; each one's rows and columns."""
    written = {}
    for name, expr in _tables(con, run_id):
        written[name] = _write_parquet(expr, folder / f"{name}.parquet")
    return written


def _tables(con: BaseBackend, run_id: str) -> Iterator[tuple[str, ibis.Table]]:
    present = {name.lower() for name in con.list_tables()}  # Spark lists names in lower case
    for name in RUN_TABLES_PUBLISHED:
        if f"{name}__{run_id}".lower() in present:
            yield name, con.table(f"{name}__{run_id}")
    for name in (RUNS_TABLE, LOAD_LOG_TABLE, DQ_TABLE, SERVICE_CHANGES_TABLE):
        if name in present:
            table = con.table(name)
            if name == LOAD_LOG_TABLE:
                table = table.drop(*[c for c in LOAD_LOG_HIDDEN if c in table.columns])
            yield name, table
    if QUARANTINE_TABLE in present:
        yield QUARANTINE_SUMMARY, quarantine_summary(con.table(QUARANTINE_TABLE))


def _write_parquet(expr: ibis.Table, target: Path) -> dict:
    """Stream ``expr`` into one Parquet file, a batch at a time, so that no table is ever
    whole in memory (on engines whose Ibis backend streams)."""
    reader = expr.to_pyarrow_batches(chunk_size=BATCH_ROWS)
    rows = 0
    with pq.ParquetWriter(target, reader.schema, compression="zstd") as writer:
        for batch in reader:
            writer.write_batch(batch)
            rows += batch.num_rows
    columns = [{"name": f.name, "type": str(f.type)} for f in reader.schema]
    return {"rows": rows, "columns": columns}


# Every value a quarantine reason quotes (an NHS number, a date of birth, a name) is the
# patient's own, so the summary keeps only the reason's fixed words: the template text after
# the last quoted value ("is not a date …", "is not one of …"), the column a date must follow
# (the words between the two quoted values of "end_at '…' is before start_at '…'"), or a
# fixed phrase. A value with a quote in it matches neither pattern and becomes a fixed phrase.
_AFTER_LAST_QUOTE = r"^.*' (is [^']*)$"
_DATE_ORDER = r"' (is before [a-z_]+) '[^']*'$"


def quarantine_summary(quarantine: ibis.Table) -> ibis.Table:
    """Quarantined rows counted per load, feed, file, field and kind of problem; no value,
    row number or raw row of the quarantine reaches it."""
    reason = quarantine.reason
    template = reason.re_extract(_AFTER_LAST_QUOTE, 1)
    order = reason.re_extract(_DATE_ORDER, 1)
    problem = ibis.cases(
        (quarantine.column.isnull(), "malformed line"),
        (reason.re_search(r" repeats row [0-9]+ \(duplicate key"), "duplicate key"),
        (reason.endswith(" is blank"), "is blank"),
        (order.notnull() & (order != ""), order),
        (reason.re_search(r"' is before "), "is before an earlier date of the row"),
        (template.notnull() & (template != ""), template),
        else_="other problem",
    )
    keys = ["load_id", "feed", "file", "column", "problem"]
    classified = quarantine.mutate(problem=problem)
    summary = classified.group_by(keys).aggregate(rows=classified.count())
    return summary.order_by(keys)


# --- files: durable, then switched ------------------------------------------------------


def _write_text(path: Path, text: str) -> None:
    with path.open("w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())


def _sync_tree(folder: Path) -> None:
    """Every file and folder under ``folder`` on disk before it is renamed into place, so a
    crash just after the switch cannot leave a current snapshot with empty files."""
    for directory, _, files in os.walk(folder):
        for name in files:
            descriptor = os.open(os.path.join(directory, name), os.O_RDONLY)
            try:
                os.fsync(descriptor)
            finally:
                os.close(descriptor)
        _sync_folder(Path(directory))


def _sync_folder(folder: Path) -> None:
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _switch_current(root: Path, name: str) -> None:
    temporary = root / f".{CURRENT_FILE}.{os.getpid()}.tmp"
    try:
        _write_text(temporary, name + "\n")
        os.replace(temporary, root / CURRENT_FILE)
    finally:
        temporary.unlink(missing_ok=True)
    _sync_folder(root)


def _sweep(root: Path) -> None:
    """Remove what a killed publish or prune left: ``.<name>.partial`` and ``.<name>.old``
    folders and temporary ``CURRENT`` files."""
    for path in root.iterdir():
        if path.name.startswith(".") and path.name.endswith((".partial", ".old")) and path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        elif path.name.startswith(f".{CURRENT_FILE}.") and path.name.endswith(".tmp"):
            path.unlink(missing_ok=True)


def _prune(root: Path, *, keep: str) -> None:
    """Keep the newest ``KEEP_SNAPSHOTS`` snapshots (and always ``keep``, the current one).
    A folder is renamed aside before it is deleted, so a half-deleted one never looks like a
    snapshot; what a failure leaves is swept by the next publish."""
    published = []
    for folder in root.iterdir():
        if folder.name.startswith(".") or not folder.is_dir():
            continue
        try:
            manifest = json.loads((folder / MANIFEST_FILE).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue  # not a snapshot: never delete what this module did not write
        published.append((str(manifest.get("published_at", "")), folder.name))
    newest_first = [name for _, name in sorted(published, reverse=True)]
    for name in newest_first[KEEP_SNAPSHOTS:]:
        if name == keep:
            continue
        aside = root / f".{name}.old"
        try:
            os.rename(root / name, aside)
        except OSError:
            continue
        shutil.rmtree(aside, ignore_errors=True)
