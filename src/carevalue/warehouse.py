"""Open the analytics engine, and the few engine quirks that pipeline code must not see.

The warehouse is named by a URL-like setting:

- a path (``var/warehouse.duckdb``) or ``duckdb:///path/file.duckdb``: an embedded
  DuckDB file, the default;
- ``duckdb://:memory:``: a throwaway in-memory DuckDB (tests);
- ``pyspark://local`` or ``pyspark://local[2]``: a local Apache Spark session;
- anything else Ibis understands (``postgres://…``, ``trino://…``) via ``ibis.connect``.

Everything downstream receives an Ibis backend and builds Ibis expressions; this is
the only module that knows which engine is underneath.
"""

from __future__ import annotations

import contextlib
import functools
import os
import re
import shutil
import subprocess
import sys
import urllib.parse
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path

import ibis
import ibis.expr.datatypes as dt
import ibis.expr.operations as ops
import ibis.expr.schema as sch
import numpy as np
import pandas as pd
import sqlglot as sg
import sqlglot.expressions as sge
from ibis.backends import BaseBackend
from ibis.common.exceptions import IbisTypeError

from carevalue.errors import UserError


def connect(url: str) -> BaseBackend:
    """Connect to the warehouse named by ``url`` (see the module docstring)."""
    if url.startswith("pyspark://"):
        master, folder = spark_url(url)
        con = ibis.pyspark.connect(local_spark_session(master, folder))
        _restore_views(con)
        return con
    if url.startswith("duckdb://"):
        path = url.removeprefix("duckdb://")
        if path in ("", ":memory:"):
            return _duckdb(":memory:")
        return _duckdb(path)
    if "://" in url:
        try:
            return ibis.connect(url)
        except Exception as error:  # the backend's own message is the useful part
            raise UserError(f"Cannot open the warehouse {url}: {error}") from None
    return _duckdb(url)


def _duckdb(path: str) -> BaseBackend:
    if path != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    try:
        # Bounded memory so a 1M-patient load spills to disk instead of growing unchecked.
        con = ibis.duckdb.connect(path, memory_limit="2GB", preserve_insertion_order=False)
    except Exception as error:
        raise UserError(
            f"Cannot open the warehouse file {path} ({error}); is another CareValue "
            "process using it?"
        ) from None
    return con


def engine_name(con: BaseBackend) -> str:
    return con.name


@contextlib.contextmanager
def atomic(con: BaseBackend) -> Iterator[None]:
    """All table replacements inside happen together or not at all.

    DuckDB has real transactions, so a failed or killed load leaves the previous
    tables in place. Spark has none: there each table replacement is atomic on its
    own (write, then swap), which is the best that engine offers.
    """
    if con.name != "duckdb":
        yield
        return
    raw = con.con
    raw.begin()
    try:
        yield
    except BaseException:
        raw.rollback()
        raise
    raw.commit()


def replace_table(con: BaseBackend, name: str, expr: ibis.Table) -> None:
    """Write ``expr`` as table ``name``, even when ``expr`` reads from ``name`` itself."""
    if con.name == "pyspark" and name in con.list_tables():
        # Spark refuses to overwrite a table it is reading from: materialise first.
        staged = f"{name}__replacement"
        con.create_table(staged, expr, overwrite=True)
        con.create_table(name, con.table(staged), overwrite=True)
        con.drop_table(staged)
        return
    con.create_table(name, expr, overwrite=True)


def scratch_table(con: BaseBackend, name: str, expr: ibis.Table) -> ibis.Table:
    """Materialise an intermediate result for the rest of this session.

    DuckDB keeps it as a temporary table (gone at disconnect). The PySpark backend has no
    temporary tables, so there it is an ordinary table; its name comes from the run
    (``RunContext``), which drops it when the run ends.
    """
    if _fast_duckdb_path(con, name, expr):
        return _duckdb_temp_table(con, name, expr)
    if con.name == "pyspark":
        return con.create_table(name, expr, overwrite=True)
    return con.create_table(name, expr, temp=True, overwrite=True)


def _fast_duckdb_path(con: BaseBackend, name: str, expr: ibis.Table) -> bool:
    # An expression that reads the table it replaces keeps Ibis's copy-then-swap path.
    return con.name == "duckdb" and name not in {t.name for t in expr.op().find(ops.PhysicalTable)}


def _duckdb_temp_table(con: BaseBackend, name: str, expr: ibis.Table) -> ibis.Table:
    """``CREATE OR REPLACE TEMP TABLE`` with the column types Ibis declares (exactly as
    ``create_table`` does), then ``INSERT`` the query: the same table in two statements,
    where ``create_table(overwrite=True)`` takes eight (it fills a second table and copies
    it across)."""
    schema = expr.schema()
    if schema.null_fields:
        raise IbisTypeError(
            f"DuckDB cannot create a table with NULL typed columns: {schema.null_fields}"
        )
    con._run_pre_execute_hooks(expr)  # registers in-memory tables, as create_table does
    target = sg.table(name, catalog="temp", db="main", quoted=True)
    create = sge.Create(
        kind="TABLE",
        this=sge.Schema(this=target, expressions=schema.to_sqlglot_column_defs(con.dialect)),
        properties=sge.Properties(expressions=[sge.TemporaryProperty()]),
        replace=True,
    )
    columns = [sge.to_identifier(column, quoted=True) for column in schema.names]
    insert = sge.insert(con.compiler.to_sqlglot(expr), into=target, columns=columns)
    con.con.execute(create.sql(con.dialect))
    con.con.execute(insert.sql(con.dialect, copy=False))
    stored = _stored_schema(con, schema)
    if stored is None:
        return con.table(name, database=("temp", "main"))
    namespace = ops.Namespace(catalog="temp", database="main")
    return ops.DatabaseTable(name, schema=stored, source=con, namespace=namespace).to_expr()


def _plain(dtype: dt.DataType) -> bool:
    """A type whose DuckDB name reads back as the same Ibis type (no length, time zone,
    odd precision or nesting for DuckDB to rewrite)."""
    if isinstance(dtype, dt.String):
        return dtype.length is None
    if isinstance(dtype, dt.Timestamp):
        return dtype.timezone is None and dtype.scale in (None, 0, 3, 6, 9)
    if isinstance(dtype, dt.Decimal):
        return dtype.precision is not None and dtype.scale is not None
    return isinstance(dtype, (dt.Integer, dt.Floating, dt.Boolean, dt.Date))


def _stored_schema(con: BaseBackend, schema: sch.Schema) -> sch.Schema | None:
    """The schema ``con.table`` would read back (``DESCRIBE``) for a table just created
    with ``schema``'s column definitions, without the round trip: each type as DuckDB
    stores it (``timestamp`` comes back as ``timestamp(6)``). None for types this does
    not cover, which then take the round trip."""
    if not all(_plain(dtype) for dtype in schema.types):
        return None
    mapper = con.compiler.type_mapper
    return sch.Schema({name: _stored_type(mapper, dtype) for name, dtype in schema.items()})


@functools.cache
def _stored_type(mapper, dtype: dt.DataType) -> dt.DataType:
    return mapper.from_string(mapper.to_string(dtype), nullable=dtype.nullable)


def for_warehouse(frame: pd.DataFrame) -> pd.DataFrame:
    """Plain column types every engine accepts: dates as timestamps, nullable integers as
    floats, and text (pandas' Arrow-backed strings, categories) as Python strings with None
    for missing, which Spark's Arrow conversion takes as it is (an Arrow-backed column
    makes it fall back to row pickling)."""
    frame = frame.copy()
    for column in frame.columns:
        values = frame[column]
        sample = values.dropna()
        first = sample.iloc[0] if not sample.empty else None
        if isinstance(first, (date, datetime)) and not isinstance(values.dtype, pd.DatetimeTZDtype):
            frame[column] = pd.to_datetime(values)
        elif isinstance(first, (bool, np.bool_)) and values.dtype != bool:
            frame[column] = values.astype(object).where(values.notna(), None)
        elif str(values.dtype) in ("Int64", "Int32"):
            frame[column] = values.astype("float64")
        elif values.dtype == object or isinstance(
            values.dtype, (pd.StringDtype, pd.CategoricalDtype)
        ):
            frame[column] = (
                values.astype(object)
                .where(values.notna(), None)
                .map(lambda v: v if v is None else str(v))
            )
    return frame


def warehouse_table(frame: pd.DataFrame) -> ibis.Table:
    """``frame`` as an in-memory Ibis table with a declared type for every column (an
    all-blank text column is still text)."""
    frame = for_warehouse(frame)
    schema = {}
    for column in frame.columns:
        values = frame[column]
        if values.dtype == object:
            sample = values.dropna()
            kind = (
                "boolean"
                if not sample.empty and isinstance(sample.iloc[0], (bool, np.bool_))
                else "string"
            )
            schema[column] = kind
        else:
            schema[column] = ibis.dtype(values.dtype)
    return ibis.memtable(frame, schema=schema)


def scratch_view(con: BaseBackend, name: str, expr: ibis.Table) -> ibis.Table:
    """Name an intermediate expression without copying its rows.

    Later expressions refer to the view by name, so their SQL stays small, while the
    engine still streams the rows from the underlying tables (no 20-million-row copy).
    Its name comes from the run (``RunContext``), which drops it when the run ends.
    """
    return con.create_view(name, expr, overwrite=True)


def drop_scratch(con: BaseBackend, kind: str, name: str) -> None:
    """Drop a scratch ``table`` or ``view`` if it is still there (a DuckDB temporary table
    is found by its plain name)."""
    if kind == "view":
        con.drop_view(name, force=True)
    else:
        con.drop_table(name, force=True)


def table_or_none(con: BaseBackend, name: str) -> ibis.Table | None:
    return con.table(name) if name in con.list_tables() else None


# --- Spark -----------------------------------------------------------------------------

# Spark's views from Ibis are temporary (gone with the session), so on Spark the published
# views are also written down here and made again when the next command connects.
VIEWS_TABLE = "warehouse_views"


def publish_views(con: BaseBackend, views: dict[str, str]) -> None:
    """Make each view name read its table (``{"episodes": "episodes__<run id>"}``) for
    this session and every later one."""
    for name, table in views.items():
        con.create_view(name, con.table(table), overwrite=True)
    if con.name != "pyspark":
        return  # DuckDB's views are kept in the warehouse file
    known = table_or_none(con, VIEWS_TABLE)
    recorded = {} if known is None else dict(known.execute().itertuples(index=False))
    recorded.update(views)
    frame = pd.DataFrame({"view": list(recorded), "table_name": list(recorded.values())})
    con.create_table(VIEWS_TABLE, ibis.memtable(frame), overwrite=True)


def _restore_views(con: BaseBackend) -> None:
    """Make the views ``publish_views`` recorded, each over its table if that still exists."""
    known = table_or_none(con, VIEWS_TABLE)
    if known is None:
        return
    tables = set(con.list_tables())  # Spark lists table names in lower case
    for name, table in known.execute().itertuples(index=False):
        if table.lower() in tables:
            con.create_view(name, con.table(table), overwrite=True)


_java_version_pattern = re.compile(r'version "(\d+)')


def java_major_version() -> int | None:
    """The major version of the ``java`` on PATH, or None when there is none."""
    java = shutil.which("java")
    if java is None:
        return None
    try:
        out = subprocess.run(
            [java, "-version"], capture_output=True, text=True, timeout=30, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    match = _java_version_pattern.search(out.stderr + out.stdout)
    return int(match.group(1)) if match else None


DEFAULT_SPARK_FOLDER = "var/spark-warehouse"
_LOG4J2_CONFIG = Path(__file__).with_name("spark-log4j2.properties")


def spark_url(url: str) -> tuple[str, Path]:
    """``pyspark://MASTER[?warehouse=FOLDER]`` as the Spark master and the warehouse folder,
    resolved once against the current folder (``var/spark-warehouse`` when not given)."""
    master, _, query = url.removeprefix("pyspark://").partition("?")
    folder = DEFAULT_SPARK_FOLDER
    for setting in filter(None, query.split("&")):
        key, _, value = setting.partition("=")
        if key != "warehouse" or not value:
            raise UserError(
                f"The warehouse URL {url} has a setting '{setting}' CareValue does not know; "
                "the one setting is ?warehouse=FOLDER, e.g. pyspark://local[2]?warehouse=var/spark."
            )
        folder = urllib.parse.unquote(value)
    return master or "local", Path(folder).expanduser().resolve()


def spark_folders(folder: Path) -> dict[str, Path]:
    """Where a Spark warehouse keeps its parts: the tables' Parquet folders, the catalogue
    that names them (an embedded Hive metastore in Derby), and Spark's own log."""
    return {
        "tables": folder / "tables",
        "catalogue": folder / "catalogue",
        "log": folder / "spark.log",
    }


def local_spark_session(master: str = "local[1]", warehouse_dir: str | Path = DEFAULT_SPARK_FOLDER):
    """A small local Spark session on the warehouse in ``warehouse_dir``; UTC and few shuffle
    partitions, as tests need.

    Its catalogue persists in the folder (Spark's embedded Hive metastore), so the tables
    and views one command writes are there for the next; Spark's own messages go to the
    folder's spark.log, not the terminal. Derby lets one process at a time open the
    catalogue, so a second command on the same warehouse stops with a plain sentence.
    """
    major = java_major_version()
    if major is None or major < 17:
        raise UserError(
            "Spark needs Java 17 or newer and "
            + ("none was found on PATH" if major is None else f"found Java {major}")
            + "; install a Java 17 runtime (e.g. apt-get install openjdk-17-jre-headless)."
        )
    try:
        from pyspark import SparkConf, SparkContext
        from pyspark.java_gateway import launch_gateway
        from pyspark.sql import SparkSession
    except ImportError:
        raise UserError(
            "PySpark is not installed; install CareValue with the spark extra: "
            "pip install 'carevalue[spark]'."
        ) from None
    folder = Path(warehouse_dir).expanduser().resolve()
    parts = spark_folders(folder)
    if ";" in str(folder):
        raise UserError(
            f"The Spark warehouse folder {folder} has a ';' in its path, which Spark's catalogue "
            "(Derby) cannot take; choose another folder with ?warehouse=FOLDER."
        )
    active = SparkSession.getActiveSession()
    if active is not None:
        # Spark fixes its catalogue when the session starts: one warehouse per process.
        if active.sparkContext.getConf().get("spark.sql.warehouse.dir") != str(parts["tables"]):
            raise UserError(
                f"This process already has a Spark session on another warehouse; it cannot "
                f"open {folder} as well."
            )
        return active
    try:
        for part in ("tables", "catalogue"):
            parts[part].mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise UserError(
            f"Cannot create the Spark warehouse folder {folder}: {error.strerror}."
        ) from None
    conf = _spark_conf(SparkConf(), master, parts)
    if SparkContext._gateway is None:
        # The JVM's own console output (the module notice Spark's launcher always causes,
        # log lines, crash reports) goes to the warehouse's log file, not the terminal.
        with _spark_log(parts["log"]) as log:
            gateway = launch_gateway(conf, popen_kwargs={"stdout": log, "stderr": log})
        SparkContext(conf=conf, gateway=gateway)
    session = SparkSession.builder.config(conf=conf).getOrCreate()
    _open_catalogue(session, folder, parts)
    return session


SPARK_LOG_LIMIT = 10_000_000  # bytes; past this the log starts afresh (one old copy kept)


def _spark_log(path: Path):
    """The log file opened for appending (two commands at once each add their own lines),
    headed by the command that starts the engine."""
    if path.is_file() and path.stat().st_size > SPARK_LOG_LIMIT:
        path.replace(path.with_name(path.name + ".1"))
    log = path.open("ab")
    stamp = datetime.now().astimezone().isoformat(timespec="seconds")
    log.write(f"--- {stamp} pid {os.getpid()}: {' '.join(sys.argv)}\n".encode())
    log.flush()
    return log


def _spark_conf(conf, master: str, parts: dict[str, Path]):
    catalogue = parts["catalogue"]
    java_options = " ".join(
        _java_option(name, value)
        for name, value in (
            # Spark's log settings must be in place before the JVM starts.
            ("log4j2.configurationFile", _LOG4J2_CONFIG.as_uri()),
            # Derby writes derby.log (and, unconfigured, metastore_db) into its home.
            ("derby.system.home", str(catalogue)),
        )
    )
    settings = {
        "spark.master": master,
        "spark.app.name": "carevalue",
        "spark.ui.enabled": "false",
        "spark.ui.showConsoleProgress": "false",
        "spark.driver.extraJavaOptions": java_options,
        "spark.sql.session.timeZone": "UTC",
        "spark.sql.shuffle.partitions": "2",
        "spark.default.parallelism": "2",
        "spark.driver.memory": "2g",
        "spark.sql.ansi.enabled": "false",
        # Without Arrow, pandas 3 string columns reach Spark with missing values as the
        # text 'NaN' instead of null (caught by tests/test_engine_parity.py).
        "spark.sql.execution.arrow.pyspark.enabled": "true",
        # A catalogue that outlives the process: the embedded Hive metastore, in Derby, in
        # the warehouse folder (absolute paths, so the current folder never matters).
        "spark.sql.catalogImplementation": "hive",
        "spark.sql.warehouse.dir": str(parts["tables"]),
        "spark.hadoop.javax.jdo.option.ConnectionURL": (
            f"jdbc:derby:;databaseName={catalogue / 'metastore_db'};create=true"
        ),
        # Python workers run in this interpreter (with pandas and pyarrow), not whatever
        # 'python3' is first on PATH.
        "spark.pyspark.python": sys.executable,
    }
    for key, value in settings.items():
        conf.set(key, value)
    return conf


def _java_option(name: str, value: str) -> str:
    """``-Dname=value`` quoted for Spark's launcher, which splits the option string as a
    shell would (a folder may have spaces)."""
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    return f'"-D{name}={escaped}"'


def _open_catalogue(session, folder: Path, parts: dict[str, Path]) -> None:
    """Open the catalogue now, so that a locked or moved warehouse is one plain sentence
    at the start of a command rather than a Java error in its middle."""
    try:
        rows = session.sql("DESCRIBE DATABASE default").collect()
    except Exception:
        session.stop()
        raise UserError(
            f"Cannot open the catalogue of the Spark warehouse {folder}: is another CareValue "
            f"command using this warehouse? Wait for it to finish and try again (Spark's own "
            f"messages are in {parts['log']})."
        ) from None
    described = {row[0]: row[1] for row in rows}
    # A URI such as file:/var/spark-warehouse/tables (spaces as %20).
    location = urllib.parse.unquote(urllib.parse.urlparse(described.get("Location", "")).path)
    if location and Path(location) != parts["tables"]:
        session.stop()
        raise UserError(
            f"The Spark warehouse {folder} was moved from {Path(location).parent}, and its "
            "catalogue names its tables by their old place: move it back, or delete the "
            "folder and ingest again (see docs/spark.md)."
        )
