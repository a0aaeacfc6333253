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
        report = ingest_extract(folder / "extract", con, key=DEMO_KEY.encode(), console=Console(quiet=True))
        rows = sum(f.rows_read for f in report.feeds)
    elif step in ("episodes_stroke", "episodes_stroke_sql_baseline", "run"):
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
                path, convert_options=pacsv.ConvertOptions(column_types={c: pa.string() for c in header})
            )
            for batch in reader:
                rows += batch.num_rows
    else:
        raise SystemExit(f"unknown step {step}")
    seconds = time.perf_counter() - started
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {"rows": rows, "seconds": round(seconds, 2), "rows_per_second": round(rows / seconds), "peak_mib": round(peak_kib / 1024)}


def _episode_step(step: str, folder: Path) -> dict:
    """Episode building on the warehouse the ingest step left behind."""
    from carevalue.bench_episodes_baseline import stroke_episodes_sql
    from carevalue.packs import load_packs
    from carevalue.pathways.build_episodes import (
        FEEDS_NEEDED,
        data_span,
        episode_core,
        prepare_tables,
    )
    from carevalue.runs import run_pipeline
    from carevalue.warehouse import connect

    con = connect(str(folder / "warehouse.duckdb"))
    packs = load_packs("conditions")
    pack = next(p for p in packs if p.id == "stroke")
    # The clock starts once the warehouse is open and the packs are loaded, for both.
    started = time.perf_counter()
    extra: dict = {}
    if step == "run":
        report = run_pipeline(con, packs)
        seconds = time.perf_counter() - started
        rows = sum(report.episodes.values())
        extra = {"per_pack_seconds": report.seconds, "episodes": report.episodes}
    else:
        if step == "episodes_stroke":
            tables = {name: con.table(name) for name in FEEDS_NEEDED}
            core = episode_core(con, prepare_tables(con, tables), pack, data_span(tables))
            result = core.select("patient_id", "index_encounter_id", "cycle_start", "cycle_end").execute()
        else:
            result = stroke_episodes_sql(con.con, pack).df()
        seconds = time.perf_counter() - started
        rows = len(result)
        keys = sorted(
            f"{r.patient_id}|{r.index_encounter_id}|{str(r.cycle_start)[:10]}|{str(r.cycle_end)[:10]}"
            for r in result.itertuples()
        )
        extra = {"result_sha256": hashlib.sha256("\n".join(keys).encode()).hexdigest()}
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {"rows": rows, "seconds": round(seconds, 2), "rows_per_second": round(rows / max(seconds, 1e-9)),
            "peak_mib": round(peak_kib / 1024), **extra}


def _costing_step(step: str, folder: Path) -> dict:
    """PLICS allocation of the ledger over activities on the warehouse the ingest step left
    behind, materialised to a table: CareValue's Ibis allocation or the hand-written SQL."""
    from carevalue.bench_costing_baseline import plics_sql_baseline
    from carevalue.costing.plics import allocate_ledger_to_activities
    from carevalue.costing.plics_rules import load_costing_rules
    from carevalue.warehouse import connect

    con = connect(str(folder / "warehouse.duckdb"))
    rules = load_costing_rules("costing/synthetic_trust_rules.yaml")
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
    return {"rows": rows, "seconds": round(seconds, 2), "rows_per_second": round(rows / max(seconds, 1e-9)),
            "peak_mib": round(peak_kib / 1024), "activities_costed": len(totals), "result_sha256": digest}


def run_step(step: str, patients: int, folder: Path) -> dict:
    out = subprocess.run(
        [sys.executable, "-m", "carevalue.bench", "--child", step, "--patients", str(patients), "--folder", str(folder)],
        capture_output=True, text=True, check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def bench_size(patients: int) -> dict:
    folder = WORK / f"{patients}"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    result = {
        "patients": patients,
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"python": platform.python_version(), "cpus": _cpus(), "platform": platform.platform()},
    }
    for step in STEPS:
        print(f"  {patients:>9,} patients: {step}…", file=sys.stderr, flush=True)
        result[step] = run_step(step, patients, folder)
    same = result["episodes_stroke"]["result_sha256"] == result["episodes_stroke_sql_baseline"]["result_sha256"]
    result["episodes_stroke_matches_baseline"] = same
    result["episodes_stroke_time_ratio"] = round(
        result["episodes_stroke"]["seconds"] / max(result["episodes_stroke_sql_baseline"]["seconds"], 1e-9), 2
    )
    result["costing_matches_baseline"] = (
        result["costing_plics"]["result_sha256"] == result["costing_plics_sql_baseline"]["result_sha256"]
    )
    result["costing_time_ratio"] = round(
        result["costing_plics"]["seconds"] / max(result["costing_plics_sql_baseline"]["seconds"], 1e-9), 2
    )
    result["extract_bytes"] = sum(p.stat().st_size for p in (folder / "extract").glob("*"))
    shutil.rmtree(folder, ignore_errors=True)
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
                f"| {r['patients']:,} | {step} | {s['rows']:,} | {s['seconds']:,} | {s['rows_per_second']:,} | {s['peak_mib']:,} |"
            )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m carevalue.bench", description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=list(SIZES), help="patient counts to measure")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--patients", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--folder", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(_child(args.child, args.patients, args.folder)))
        return
    RESULTS.mkdir(parents=True, exist_ok=True)
    results = []
    for patients in args.sizes:
        result = bench_size(patients)
        (RESULTS / f"generate_ingest_{patients}.json").write_text(json.dumps(result, indent=2) + "\n")
        results.append(result)
    print(table(results))
    for r in results:
        print(
            f"{r['patients']:,} patients: stroke episodes CareValue/SQL time ratio "
            f"{r['episodes_stroke_time_ratio']}, same rows: {r['episodes_stroke_matches_baseline']}"
        )
        print(
            f"{r['patients']:,} patients: PLICS costing CareValue/SQL time ratio "
            f"{r['costing_time_ratio']}, same pennies per activity: {r['costing_matches_baseline']}"
        )


if __name__ == "__main__":
    main()
