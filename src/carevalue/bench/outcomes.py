"""``python -m carevalue.bench.outcomes``: outcomes and value at 100,000 and 1,000,000
patients (issue 5's benchmark), written to ``bench/results/outcomes_<patients>.json``.

Each size runs ``carevalue run`` in a fresh process on the synthetic trust, with PLICS
costing, and reports every stage's seconds from the run's own clock plus the process's
peak memory. The baseline, measured in the same run on the same warehouse, is the episode
stage: outcomes and value read the episodes, so "outcomes cost N times the episodes they
describe" is the figure that travels to other machines. The trust is generated and loaded
once (untimed) and kept in ``var/bench-outcomes/<patients>``.
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import shutil
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

RESULTS = Path("bench/results")
WORK = Path("var/bench-outcomes")
SIZES = (100_000, 1_000_000)


def _child(folder: Path) -> dict:
    from carevalue.conditions import shipped_conditions
    from carevalue.costing.plics_rules import load_costing_rules
    from carevalue.packs import load_packs
    from carevalue.runs import run_pipeline
    from carevalue.warehouse import connect

    con = connect(str(folder / "warehouse.duckdb"))
    packs = load_packs(shipped_conditions())
    rules = load_costing_rules("synthetic")
    started = time.perf_counter()
    report = run_pipeline(con, packs, rules)
    seconds = time.perf_counter() - started
    outcome_rows = int(con.table("episode_outcomes").count().execute())
    series_rows = int(con.table("metric_series").count().execute())
    episodes = sum(report.seconds[p.id] for p in packs)
    return {
        "run_seconds": round(seconds, 2),
        "stage_seconds": report.seconds,
        "episodes": report.episodes,
        "episode_outcome_rows": outcome_rows,
        "metric_series_rows": series_rows,
        "baseline_episodes_seconds": round(episodes, 2),
        "outcomes_over_episodes": round(report.seconds["outcomes"] / max(episodes, 1e-9), 2),
        "outcomes_and_charts_seconds": round(
            report.seconds["outcomes"] + report.seconds.get("charts", 0), 2
        ),
        "peak_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }


def _prepare(patients: int) -> Path:
    """Generate and load the trust once (untimed; seed 1, as ``make bench``)."""
    folder = WORK / str(patients)
    if (folder / "warehouse.duckdb").exists():
        return folder
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    for step in ("generate", "ingest"):
        print(
            f"  {patients:>9,} patients: {step} (kept for later runs)…", file=sys.stderr, flush=True
        )
        subprocess.run(
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
            check=True,
            capture_output=True,
        )
    return folder


def bench(patients: int) -> dict:
    folder = _prepare(patients)
    print(
        f"  {patients:>9,} patients: carevalue run with costing, outcomes and value…",
        file=sys.stderr,
        flush=True,
    )
    out = subprocess.run(
        [sys.executable, "-m", "carevalue.bench.outcomes", "--child", str(folder)],
        capture_output=True,
        text=True,
        check=True,
    )
    return {
        "patients": patients,
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"python": platform.python_version(), "platform": platform.platform()},
        **json.loads(out.stdout.strip().splitlines()[-1]),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m carevalue.bench.outcomes", description=__doc__.splitlines()[0]
    )
    parser.add_argument(
        "sizes", nargs="*", type=int, default=list(SIZES), help="numbers of patients"
    )
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(_child(args.child)))
        return
    RESULTS.mkdir(parents=True, exist_ok=True)
    for patients in args.sizes:
        result = bench(patients)
        (RESULTS / f"outcomes_{patients}.json").write_text(json.dumps(result, indent=2) + "\n")
        s = result["stage_seconds"]
        print(
            f"{patients:,} patients: episodes {result['baseline_episodes_seconds']} s (baseline), "
            f"outcomes and value {s['outcomes']} s ({result['outcomes_over_episodes']}x), "
            f"charts {s.get('charts')} s, costing {s.get('costing')} s, "
            f"whole run {result['run_seconds']} s, peak {result['peak_mib']} MiB"
        )


if __name__ == "__main__":
    main()
