"""Spark works across commands: ``carevalue ingest`` and ``carevalue run`` as two separate
processes on one Spark warehouse, then a third that reads the run's views.

Each process starts its own JVM, so the second finds the first's tables only through the
warehouse's persistent catalogue (docs/spark.md). The terminal stays free of Spark's own
log lines and stage progress bars.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import _spark_skip_reason, write_extract

from carevalue.conditions import shipped_conditions

pytestmark = [pytest.mark.slow, pytest.mark.spark]

CHECKOUT = Path(__file__).resolve().parents[1]

# What Spark, Hive, Derby and the JVM print when left to themselves.
SPARK_NOISE = re.compile(
    r"\b(WARN|INFO|ERROR)\b|log4j|\[Stage \d+|NativeCodeLoader|incubator modules"
    r"|Setting default log level|sc\.setLogLevel|SparkContext|derby",
    re.IGNORECASE,
)


@pytest.fixture(scope="module")
def require_spark():
    reason = _spark_skip_reason()
    if reason and os.environ.get("CAREVALUE_REQUIRE_SPARK"):
        pytest.fail(f"CAREVALUE_REQUIRE_SPARK is set but {reason}")
    if reason:
        pytest.skip(reason)


def carevalue(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "CAREVALUE_PSEUDONYMISATION_KEY": "k" * 40, "COLUMNS": "160"}
    env.pop("CAREVALUE_WAREHOUSE", None)
    return subprocess.run(
        [sys.executable, "-m", "carevalue", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )


def test_ingest_then_run_then_report_as_separate_processes_on_spark(require_spark, tmp_path):
    cwd = tmp_path / "elsewhere"
    cwd.mkdir()
    extract = write_extract(tmp_path / "extract")
    folder = tmp_path / "spark warehouse"  # a space, as in many users' folders
    url = f"pyspark://local[1]?warehouse={folder}"

    ingest = carevalue(cwd, "ingest", str(extract), "--warehouse", url)
    assert ingest.returncode == 0, ingest.stderr
    # Only the stroke pack: what is under test is Spark across processes, and each pack is
    # a minute of Spark jobs on two cores (every pack runs on Spark in test_outcomes.py;
    # test_self_contained.py finds the shipped packs from any folder).
    packs = tmp_path / "conditions"
    shutil.copytree(shipped_conditions() / "stroke", packs / "stroke")
    run = carevalue(cwd, "run", "--warehouse", url, "--conditions", str(packs))
    assert run.returncode == 0, run.stderr
    assert "no patients table" not in run.stderr
    # The tiny extract has one stroke admission (I63.9): the run found the loaded rows.
    stroke = re.search(r"│ stroke\w*\s*│\s*(\d+)\s*│", run.stdout)
    assert stroke, run.stdout
    assert int(stroke.group(1)) == 1
    report = carevalue(cwd, "outcomes", "report", "--warehouse", url)
    assert report.returncode == 0, report.stderr  # the run's views outlived its process
    assert "stroke" in report.stdout

    for command in (ingest, run, report):
        noise = [line for line in command.stderr.splitlines() if SPARK_NOISE.search(line)]
        assert noise == [], noise
    # Everything the engine keeps is in the warehouse folder, nothing in the current one.
    assert sorted(p.name for p in cwd.iterdir()) == []
    assert {p.name for p in folder.iterdir()} == {"tables", "catalogue", "spark.log", "snapshots"}
    assert (folder / "tables" / "patients").is_dir()
    assert (folder / "catalogue" / "metastore_db").is_dir()
