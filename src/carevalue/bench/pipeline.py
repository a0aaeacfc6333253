"""``make bench`` / ``python -m carevalue.bench``: generate and ingest speed and memory.

Each step runs in a fresh child process so its peak resident memory is its own. Beside
each size it measures a baseline in the same run: reading the same CSV files with
pyarrow's streaming reader and doing nothing else, the floor any loader pays. Results go
to ``bench/results/<size>.json`` and a table on stdout; copy the table into
docs/benchmarks.md when the figures change.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

SIZES = (100_000, 1_000_000)
STEPS = (
    "generate",
    "baseline_read",
    "ingest",
    "episodes_stroke_sql_baseline",
    "episodes_stroke",
    "run",
    "costing_plics_sql_baseline",
    "costing_plics",
)
EPISODE_STEPS = ("episodes_stroke_sql_baseline", "episodes_stroke")
WARM = "+"  # "episodes_stroke+warm": the step after the same warm-up for both (see _warm_up)
RESULTS = Path("bench/results")
WORK = Path("var/bench")


def _child(step: str, patients: int, folder: Path) -> dict:
    """Run inside the child process: do one step, report rows, seconds, peak memory."""
    started = time.perf_counter()
    if step == "generate":
        from carevalue.synthetic.generate_trust import generate_trust

        manifest = generate_trust(folder / "extract", patients, seed=1)
        rows = sum(manifest["rows"].values())
    elif step == "ingest":
        from rich.console import Console

        from carevalue.config import DEMO_KEY
        from carevalue.sources.ingest import ingest_extract
        from carevalue.warehouse import connect

        con = connect(str(folder / "warehouse.duckdb"))
        report = ingest_extract(
            folder / "extract", con, key=DEMO_KEY.encode(), console=Console(quiet=True)
        )
        rows = sum(f.rows_read for f in report.feeds)
    elif step.partition(WARM)[0] in ("episodes_stroke", "episodes_stroke_sql_baseline", "run"):
        return _episode_step(step, folder)
    elif step in ("costing_plics", "costing_plics_sql_baseline"):
        return _costing_step(step, folder)
    elif step == "baseline_read":
        import pyarrow as pa
        import pyarrow.csv as pacsv

        rows = 0
        for path in sorted((folder / "extract").glob("*.csv")):
            import csv

            with path.open(encoding="utf-8", newline="") as handle:
                header = next(csv.reader(handle))
            reader = pacsv.open_csv(
                path,
                convert_options=pacsv.ConvertOptions(column_types={c: pa.string() for c in header}),
            )
            for batch in reader:
                rows += batch.num_rows
    else:
        raise SystemExit(f"unknown step {step}")
    seconds = time.perf_counter() - started
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {
        "rows": rows,
        "seconds": round(seconds, 2),
        "rows_per_second": round(rows / seconds),
        "peak_mib": round(peak_kib / 1024),
    }


def _episode_step(step: str, folder: Path) -> dict:
    """Episode building on the warehouse the ingest step left behind."""
    from carevalue.bench.episodes_sql_baseline import BASELINE_COLUMNS, stroke_episodes_sql
    from carevalue.conditions import shipped_conditions
    from carevalue.foundation.run_context import RunContext
    from carevalue.packs import load_packs
    from carevalue.pathways import (
        FEEDS_NEEDED,
        data_span,
        episode_core,
        feed_tables,
        prepare_tables,
    )
    from carevalue.runs import run_pipeline
    from carevalue.warehouse import connect

    step, _, mode = step.partition(WARM)
    con = connect(str(folder / "warehouse.duckdb"))
    packs = load_packs(shipped_conditions())
    pack = next(p for p in packs if p.id == "stroke")
    if mode == "warm":
        _warm_up(step, con)
    # The clock starts once the warehouse is open and the packs are loaded, for both (and,
    # for the warm variants, once each has run the same warm-up through its own interface).
    started = time.perf_counter()
    cpu_started = time.process_time()
    extra: dict = {}
    if step == "run":
        report = run_pipeline(con, packs)
        seconds = time.perf_counter() - started
        rows = sum(report.episodes.values())
        extra = {"per_pack_seconds": report.seconds, "episodes": report.episodes}
    else:
        if step == "episodes_stroke":
            tables = feed_tables(con, FEEDS_NEEDED)
            ctx = RunContext(con, "bench")
            core = episode_core(ctx, prepare_tables(ctx, tables), pack, data_span(tables))
            result = core.select(*BASELINE_COLUMNS).to_pyarrow()
        else:
            result = stroke_episodes_sql(con.con, pack).arrow()
        # Both sides end with the same columns (the whole core episode table) as an Arrow
        # table: the engine's own output, with no conversion to pandas on either side.
        result = result.read_all() if hasattr(result, "read_all") else result
        seconds = time.perf_counter() - started
        extra["cpu_seconds"] = round(time.process_time() - cpu_started, 3)
        rows = result.num_rows
        keys = sorted("|".join(str(row[c]) for c in BASELINE_COLUMNS) for row in result.to_pylist())
        extra["result_sha256"] = hashlib.sha256("\n".join(keys).encode()).hexdigest()
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {
        "rows": rows,
        "seconds": round(seconds, 3),
        "rows_per_second": round(rows / max(seconds, 1e-9)),
        "peak_mib": round(peak_kib / 1024),
        **extra,
    }


def _warm_up(step: str, con) -> None:
    """The same small job through the interface the step uses, on a few in-memory rows and
    no warehouse table: a scratch table from a join, a window and an aggregate, then a
    result fetched into pandas. It pays what any first query in a process pays (DuckDB's
    and, for CareValue, Ibis's and sqlglot's one-off set-up), as ``carevalue run`` has
    paid by the time it builds its second pack; no warehouse data is read, and nothing
    the measured step builds or compiles is kept."""
    import ibis

    from carevalue.warehouse import scratch_table

    if step == "episodes_stroke":
        rows = ibis.memtable(
            {"k": ["a", "a", "b"], "d": ["2020-01-01", "2020-02-01", "2020-03-01"]}
        )
        rows = rows.mutate(d=rows.d.cast("date"))
        other = ibis.memtable({"k": ["a", "b"], "n": [1, 2]})
        joined = rows.join(other, "k").mutate(r=ibis.row_number().over(group_by="k", order_by="d"))
        table = scratch_table(
            con, "_carevalue_bench_warm_up", joined.filter(joined.d > ibis.date(2019, 1, 1))
        )
        table.group_by("k").aggregate(first=table.d.min(), n=table.n.max()).execute()
        con.drop_table("_carevalue_bench_warm_up")
    else:
        raw = con.con
        raw.execute(
            "create or replace temp table _bench_warm_up as select k, cast(d as date) as d, n, "
            "row_number() over (partition by k order by d) as r from "
            "(values ('a', '2020-01-01'), ('a', '2020-02-01'), ('b', '2020-03-01')) as rows(k, d) "
            "join (values ('a', 1), ('b', 2)) as other(k, n) using (k) "
            "where cast(d as date) > date '2019-01-01'"
        )
        raw.sql("select k, min(d) as first, max(n) as n from _bench_warm_up group by k").df()
        raw.execute("drop table _bench_warm_up")


def _costing_step(step: str, folder: Path) -> dict:
    """PLICS allocation of the ledger over activities on the warehouse the ingest step left
    behind, materialised to a table: CareValue's Ibis allocation or the hand-written SQL."""
    from carevalue.bench.costing_sql_baseline import plics_sql_baseline
    from carevalue.costing.plics import allocate_ledger_to_activities
    from carevalue.costing.plics_rules import load_costing_rules
    from carevalue.warehouse import connect

    con = connect(str(folder / "warehouse.duckdb"))
    rules = load_costing_rules("synthetic")
    name = f"bench_{step}"
    con.con.execute(f"drop table if exists {name}")
    # The clock starts once the warehouse is open and the rules are loaded, for both.
    started = time.perf_counter()
    if step == "costing_plics":
        result = allocate_ledger_to_activities(con.table("ledger"), con.table("activities"), rules)
        con.create_table(name, result.activity_costs)
    else:
        plics_sql_baseline(con.con, rules).to_table(name)
    rows = con.con.execute(f"select count(*) from {name}").fetchone()[0]
    seconds = time.perf_counter() - started
    # Per-activity totals, to the penny, for the equality check (outside the clock).
    totals = con.con.execute(
        f"select activity_id, sum(amount) from {name} group by activity_id order by activity_id"
    ).fetchall()
    digest = hashlib.sha256("\n".join(f"{a}|{amount}" for a, amount in totals).encode()).hexdigest()
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {
        "rows": rows,
        "seconds": round(seconds, 2),
        "rows_per_second": round(rows / max(seconds, 1e-9)),
        "peak_mib": round(peak_kib / 1024),
        "activities_costed": len(totals),
        "result_sha256": digest,
    }


def run_step(step: str, patients: int, folder: Path) -> dict:
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "carevalue.bench",
            "--child",
            step,
            "--patients",
            str(patients),
            "--folder",
            str(folder),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def bench_size(patients: int, repeat: int = 3) -> dict:
    folder = WORK / f"{patients}"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    result = {
        "patients": patients,
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {
            "python": platform.python_version(),
            "cpus": _cpus(),
            "platform": platform.platform(),
        },
    }
    for step in STEPS:
        if step in EPISODE_STEPS:
            if step == EPISODE_STEPS[0]:
                result.update(episode_steps(patients, folder, repeat))
            continue
        print(f"  {patients:>9,} patients: {step}…", file=sys.stderr, flush=True)
        result[step] = run_step(step, patients, folder)
    result["costing_matches_baseline"] = (
        result["costing_plics"]["result_sha256"]
        == result["costing_plics_sql_baseline"]["result_sha256"]
    )
    result["costing_time_ratio"] = round(
        result["costing_plics"]["seconds"]
        / max(result["costing_plics_sql_baseline"]["seconds"], 1e-9),
        2,
    )
    result["extract_bytes"] = sum(p.stat().st_size for p in (folder / "extract").glob("*"))
    shutil.rmtree(folder, ignore_errors=True)
    return result


def episode_steps(patients: int, folder: Path, repeat: int) -> dict:
    """The two episode steps, each ``repeat`` times in fresh processes, cold (nothing run
    before the clock) and warm (after the same warm-up for both, ``_warm_up``), taking
    turns (SQL, CareValue, SQL warm, CareValue warm, …) so all see the same machine load.
    The reported figures are each variant's fastest run; every run's seconds are kept."""
    variants = [step + suffix for suffix in ("", WARM + "warm") for step in EPISODE_STEPS]
    runs: dict[str, list[dict]] = {variant: [] for variant in variants}
    for attempt in range(repeat):
        for variant in variants:
            print(
                f"  {patients:>9,} patients: {variant} ({attempt + 1}/{repeat})…",
                file=sys.stderr,
                flush=True,
            )
            runs[variant].append(run_step(variant, patients, folder))
    result = {}
    for variant, measured in runs.items():
        best = min(measured, key=lambda r: r["seconds"])
        result[variant.replace(WARM, "_")] = {
            **best,
            "runs_seconds": [r["seconds"] for r in measured],
            "median_seconds": statistics.median(r["seconds"] for r in measured),
        }
    digests = {r["result_sha256"] for measured in runs.values() for r in measured}
    result["episodes_stroke_matches_baseline"] = len(digests) == 1
    for suffix in ("", "_warm"):
        sql, ours = (result[step + suffix] for step in EPISODE_STEPS)
        result[f"episodes_stroke{suffix}_time_ratio"] = round(
            ours["seconds"] / max(sql["seconds"], 1e-9), 2
        )
        result[f"episodes_stroke{suffix}_median_time_ratio"] = round(
            ours["median_seconds"] / max(sql["median_seconds"], 1e-9), 2
        )
    return result


def bench_episodes(patients: int, repeat: int) -> dict:
    """Only the episode steps, on a warehouse kept in ``var/bench/<patients>`` between
    invocations (generated and ingested the first time, not timed)."""
    folder = WORK / f"{patients}"
    if not (folder / "warehouse.duckdb").exists():
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        for step in ("generate", "ingest"):
            print(
                f"  {patients:>9,} patients: {step} (kept for later runs)…",
                file=sys.stderr,
                flush=True,
            )
            run_step(step, patients, folder)
    result = {
        "patients": patients,
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {
            "python": platform.python_version(),
            "cpus": _cpus(),
            "platform": platform.platform(),
        },
        "repeat": repeat,
    }
    result.update(episode_steps(patients, folder, repeat))
    return result


def _cpus() -> int:
    import os

    return os.cpu_count() or 0


def table(results: list[dict]) -> str:
    lines = [
        "| patients | step | rows | seconds | rows/second | peak memory (MiB) |",
        "|---:|---|---:|---:|---:|---:|",
    ]
    for r in results:
        for step in STEPS:
            s = r[step]
            lines.append(
                f"| {r['patients']:,} | {step} | {s['rows']:,} | {s['seconds']:,} "
                f"| {s['rows_per_second']:,} | {s['peak_mib']:,} |"
            )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m carevalue.bench", description=__doc__.splitlines()[0]
    )
    parser.add_argument(
        "--sizes", type=int, nargs="+", default=list(SIZES), help="patient counts to measure"
    )
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--patients", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--folder", type=Path, help=argparse.SUPPRESS)
    parser.add_argument(
        "--repeat", type=int, default=3, help="runs of each episode step (the fastest is reported)"
    )
    parser.add_argument(
        "--episodes-only",
        action="store_true",
        help=(
            "only the episode steps, on a warehouse kept in var/bench/<patients> "
            "(results/episodes_<patients>.json)"
        ),
    )
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(_child(args.child, args.patients, args.folder)))
        return
    RESULTS.mkdir(parents=True, exist_ok=True)
    if args.episodes_only:
        for patients in args.sizes:
            result = bench_episodes(patients, args.repeat)
            (RESULTS / f"episodes_{patients}.json").write_text(json.dumps(result, indent=2) + "\n")
            for suffix, label in (("", "cold"), ("_warm", "warm")):
                sql, ours = (result[step + suffix] for step in EPISODE_STEPS)
                print(
                    f"{patients:,} patients, {label}: SQL {sql['seconds']} s "
                    f"(runs {sql['runs_seconds']}), CareValue "
                    f"{ours['seconds']} s (runs {ours['runs_seconds']}); ratio of fastest "
                    f"{result[f'episodes_stroke{suffix}_time_ratio']}, of medians "
                    f"{result[f'episodes_stroke{suffix}_median_time_ratio']}"
                )
            print(
                f"{patients:,} patients: same rows in every run: "
                f"{result['episodes_stroke_matches_baseline']}"
            )
        return
    results = []
    for patients in args.sizes:
        result = bench_size(patients, args.repeat)
        (RESULTS / f"generate_ingest_{patients}.json").write_text(
            json.dumps(result, indent=2) + "\n"
        )
        results.append(result)
    print(table(results))
    for r in results:
        print(
            f"{r['patients']:,} patients: stroke episodes CareValue/SQL time ratio "
            f"{r['episodes_stroke_time_ratio']} (after the same warm-up for both: "
            f"{r['episodes_stroke_warm_time_ratio']}), "
            f"same rows: {r['episodes_stroke_matches_baseline']}"
        )
        print(
            f"{r['patients']:,} patients: PLICS costing CareValue/SQL time ratio "
            f"{r['costing_time_ratio']}, same pennies per activity: {r['costing_matches_baseline']}"
        )


if __name__ == "__main__":
    main()
