"""One run at a time on a warehouse: an operating-system lock on a file beside it.

A run holds an exclusive ``fcntl.flock`` on ``<warehouse>.duckdb.run-lock`` (a DuckDB
file) or ``<spark warehouse folder>/.carevalue-run.lock`` (Spark) while it builds. A second
run on the same warehouse, from another process or another thread, stops at once with a
plain sentence instead of overwriting the first one's work. The operating system releases
the lock when the holder ends, however it ends (even killed), so a crashed run never
leaves the warehouse locked. An in-memory DuckDB belongs to one connection and needs none.
"""

from __future__ import annotations

import contextlib
import fcntl
import time
from collections.abc import Iterator
from pathlib import Path

from ibis.backends import BaseBackend

from carevalue.errors import UserError

SPARK_LOCK_NAME = ".carevalue-run.lock"


def lock_path(con: BaseBackend) -> Path | None:
    """The lock file of ``con``'s warehouse; None where runs need no lock."""
    if con.name == "duckdb":
        row = con.con.execute(
            "SELECT path FROM duckdb_databases() WHERE database_name = current_database()"
        ).fetchone()
        if row is None or not row[0]:
            return None
        database = Path(row[0]).resolve()
        return database.with_name(database.name + ".run-lock")
    if con.name == "pyspark":
        folder = con._session.conf.get("spark.sql.warehouse.dir")
        return Path(folder.removeprefix("file:")) / SPARK_LOCK_NAME
    return None


@contextlib.contextmanager
def run_lock(con: BaseBackend, wait_seconds: float = 0.0) -> Iterator[Path | None]:
    """Hold the warehouse's run lock inside the block, waiting up to ``wait_seconds`` for
    another run to finish; yields the lock file (None when there is none)."""
    path = lock_path(con)
    if path is None:
        yield None
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+", encoding="utf-8") as handle:
        deadline = time.monotonic() + wait_seconds
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise UserError(
                        f"Another CareValue run is building on this warehouse (it holds {path}); "
                        "wait for it to finish, then run again."
                    ) from None
                time.sleep(0.2)
        try:
            yield path
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
