"""``python -m carevalue.bench.flow``: patient-flow map discovery at 1,000,000 and 5,000,000
events (issue 13's benchmark), CareValue against pm4py, written to
``bench/results/flow.json``.

What is timed is what drawing a process map needs: the directly-follows edges with their
counts and waiting times (mean and median), the start and end activities and the
variants.

- **CareValue** (``carevalue.flow``): ``process_map`` on one ``event_table`` (the
  directly-follows edges and the variants, with the start and end activities counted from
  the variants: what the web app's map page asks for). Two rows: from an
  Ibis table over the Parquet file (the warehouse's DuckDB connection reading it where it
  lies, the realistic path) and from a pandas frame read with ``pandas.read_parquet``.
- **pm4py, the baseline measured in the same run** (AGPL, so a benchmark dependency only,
  never imported by CareValue itself): ``pandas.read_parquet``, ``format_dataframe``
  (pm4py needs it: it sorts the log and adds its index columns, so it is on pm4py's
  clock), then ``discover_dfg``, ``discover_performance_dfg``, ``get_start_activities``,
  ``get_end_activities`` and ``get_variants``.

The log is synthetic, seeded and written to Parquet once per size (``var/bench-flow``),
untimed; every tool starts from that file. Each measurement is a fresh process, so its
peak memory (maximum resident set size) is that tool's own; the clock starts after the
imports. Before anything is reported, the answers are compared: the same edges with the
same counts (and the same waits to a microsecond), the same start and end activities, the
same variants with the same counts (a SHA-256 of them), and total transitions equal to
events minus cases. A disagreement stops the benchmark.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd

RESULTS = Path("bench/results/flow.json")
WORK = Path("var/bench-flow")
SIZES = (1_000_000, 5_000_000)
SEED = 13
# Best of two at 1M; at 5M one run of each (minutes of the shared machine, and the
# spread between runs is small beside the gap between tools).
REPEATS = {1_000_000: 2}
TOOLS = ("pm4py", "carevalue_ibis", "carevalue_pandas")
BASELINE = "pm4py"
# The log's columns, as a warehouse's event table might name them.
CASE, ACTIVITY, TIMESTAMP, ORDER = "episode_id", "activity", "start_at", "event_id"

# A hospital pathway (an emergency admission through to discharge), in its usual order.
# The first three are ways in and the last four ways out.
ACTIVITIES = (
    "ED arrival",
    "GP referral",
    "Clinic referral",
    "Triage",
    "Registration",
    "Observations",
    "Blood tests",
    "ECG",
    "X-ray",
    "CT scan",
    "ED doctor review",
    "Specialist referral",
    "Specialist review",
    "Decision to admit",
    "Bed request",
    "Ward admission",
    "Consultant ward round",
    "Nursing assessment",
    "Medication round",
    "Physiotherapy",
    "Occupational therapy",
    "MRI scan",
    "Echocardiogram",
    "Procedure",
    "Pharmacy review",
    "Social work review",
    "Medically fit for discharge",
    "Discharge home",
    "Discharge to care home",
    "Transfer out",
)
ENTRIES, EXITS = 3, 4
# 40 % of cases follow one of a few dozen standard pathways; the rest wander.
TEMPLATES, TEMPLATE_SHARE = 40, 0.4
MIN_LENGTH, MAX_LENGTH = 10, 20


# --------------------------------------------------------------------------------------
# The synthetic log
# --------------------------------------------------------------------------------------


def _transitions(rng: np.random.Generator) -> np.ndarray:
    """Row-stochastic matrix over the middle activities: mostly a step or two forward,
    sometimes the same again (a repeat: observations, bloods), sometimes back (a loop:
    review again after a scan)."""
    middle = len(ACTIVITIES) - ENTRIES - EXITS
    weights = np.zeros((middle, middle))
    for i in range(middle):
        forward = np.arange(i + 1, min(i + 5, middle))
        weights[i, forward] = rng.uniform(0.5, 3.0, size=len(forward)) / np.arange(
            1, len(forward) + 1
        )
        weights[i, i] = 0.5  # repeat
        back = np.arange(max(i - 3, 0), i)
        weights[i, back] = 0.15  # loop back
        if len(forward) == 0:  # the last middle activity: back into the ward's work
            weights[i, max(i - 6, 0) : i] = 1.0
    return weights / weights.sum(axis=1, keepdims=True)


def _walks(rng: np.random.Generator, n: int, steps: int, matrix: np.ndarray) -> np.ndarray:
    """``n`` walks of ``steps`` middle activities (codes), all walks a step at a time."""
    cumulative = np.cumulative_sum(matrix, axis=1)
    cumulative[:, -1] = 1.0
    codes = np.empty((n, steps), dtype=np.int16)
    state = np.minimum(rng.geometric(0.6, size=n) - 1, 3)  # Triage mostly, sometimes later
    for step in range(steps):
        codes[:, step] = state
        u = rng.random(n)
        state = (u[:, None] >= cumulative[state]).sum(axis=1)
    return codes + ENTRIES


def _cases(rng: np.random.Generator, n: int, matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``n`` cases as (lengths, codes): each an entry, a walk and an exit, laid out in
    MAX_LENGTH slots of which the first ``length`` are used."""
    lengths = rng.integers(MIN_LENGTH, MAX_LENGTH + 1, size=n)
    codes = np.empty((n, MAX_LENGTH), dtype=np.int16)
    codes[:, 0] = rng.choice(ENTRIES, size=n, p=[0.7, 0.2, 0.1])
    codes[:, 1:] = _walks(rng, n, MAX_LENGTH - 1, matrix)
    exits = len(ACTIVITIES) - EXITS + rng.choice(EXITS, size=n, p=[0.05, 0.75, 0.12, 0.08])
    at_exit = np.arange(MAX_LENGTH)[None, :] == (lengths - 1)[:, None]
    return lengths, np.where(at_exit, exits[:, None], codes).astype(np.int16)


def event_log(n_events: int, seed: int = SEED) -> pd.DataFrame:
    """``n_events`` events in cases of 10 to 20 (an entry, a walk through the middle
    activities, an exit), in time order as a log is written, with an ``event_id``.

    Cases start over two years; the gap before each event is a whole number of minutes
    (lognormal, median about 40 minutes, a long tail of days), and one gap in twenty is
    zero, so some events in a case share a timestamp: their order is the ``event_id``.
    """
    rng = np.random.default_rng(seed)
    matrix = _transitions(rng)
    n_cases = n_events // MIN_LENGTH + 1  # more than enough; the surplus is dropped
    lengths, codes = _cases(rng, n_cases, matrix)
    # Standard pathways: whole cases that many others repeat exactly, the first far more
    # often than the fortieth (popularity 1/rank).
    standard_lengths, standard = _cases(rng, TEMPLATES, matrix)
    follows = rng.random(n_cases) < TEMPLATE_SHARE
    popularity = 1 / np.arange(1, TEMPLATES + 1)
    which = rng.choice(TEMPLATES, size=int(follows.sum()), p=popularity / popularity.sum())
    lengths[follows], codes[follows] = standard_lengths[which], standard[which]
    ends = np.cumsum(lengths)
    n_cases = int(np.searchsorted(ends, n_events)) + 1
    lengths, codes = lengths[:n_cases], codes[:n_cases]
    # The last case is cut to fit: a case still open when the log was taken (no exit yet).
    lengths[-1] -= ends[n_cases - 1] - n_events
    keep = np.arange(MAX_LENGTH)[None, :] < lengths[:, None]
    activity = codes[keep]
    case = np.repeat(np.arange(n_cases), lengths)

    gaps = np.round(rng.lognormal(np.log(40), 1.3, size=keep.shape)).astype(np.int64) * 60
    gaps[rng.random(keep.shape) < 0.05] = 0
    gaps[:, 0] = 0
    offset = np.cumsum(gaps, axis=1)[keep]
    case_start = rng.integers(0, 2 * 365 * 86_400, size=n_cases)
    seconds = np.repeat(case_start, lengths) + offset
    stamps = np.datetime64("2023-01-01T00:00:00", "us") + seconds.astype("timedelta64[s]")

    order = np.argsort(stamps, kind="stable")  # keeps a case's tied events in case order
    labels = np.array(ACTIVITIES, dtype=object)
    return pd.DataFrame(
        {
            CASE: pd.array(np.char.add("EP", np.char.zfill(case[order].astype(str), 8))),
            ACTIVITY: pd.array(labels[activity[order]], dtype="string"),
            TIMESTAMP: stamps[order],
            ORDER: np.arange(n_events, dtype=np.int64),
        }
    )


def write_log(n_events: int, folder: Path, seed: int = SEED) -> tuple[Path, dict]:
    """Generate the log and write it to Parquet (untimed); the facts every tool's answer
    is checked against."""
    frame = event_log(n_events, seed)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"events_{n_events}_seed{seed}.parquet"
    frame.to_parquet(path, index=False)
    cases = int(frame[CASE].nunique())
    facts = {
        "events": len(frame),
        "cases": cases,
        "activities": int(frame[ACTIVITY].nunique()),
        "transitions": int(len(frame) - cases),
        "tied_timestamps": int(frame.duplicated([CASE, TIMESTAMP]).sum()),
        "parquet_mib": round(path.stat().st_size / 2**20, 1),
    }
    return path, facts


# --------------------------------------------------------------------------------------
# The tools (each in its own process; the clock starts after the imports)
# --------------------------------------------------------------------------------------


class _Clock:
    """Wall-clock seconds per step, and the process's CPU seconds (all its threads: DuckDB
    works on every core, pandas on one) from the start to the last lap."""

    def __init__(self) -> None:
        self.cpu_started = time.process_time()
        self.started = time.perf_counter()
        self.last = self.started
        self.steps: dict[str, float] = {}

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        self.steps[name] = round(now - self.last, 3)
        self.last = now
        self.cpu_seconds = round(time.process_time() - self.cpu_started, 3)

    @property
    def seconds(self) -> float:
        return round(self.last - self.started, 3)


def _pm4py(path: Path) -> tuple[_Clock, dict]:
    import pm4py

    names = {"case_id": CASE, "activity_key": ACTIVITY, "timestamp_key": TIMESTAMP}
    clock = _Clock()
    frame = pd.read_parquet(path)
    clock.lap("read")
    log = pm4py.format_dataframe(frame, **names)
    clock.lap("format_dataframe")
    frequency, _, _ = pm4py.discover_dfg(log)
    clock.lap("discover_dfg")
    performance, _, _ = pm4py.discover_performance_dfg(log, perf_aggregation_key="all")
    clock.lap("discover_performance_dfg")
    starts = pm4py.get_start_activities(log)
    clock.lap("get_start_activities")
    ends = pm4py.get_end_activities(log)
    clock.lap("get_end_activities")
    variants = pm4py.get_variants(log)
    clock.lap("get_variants")
    edges = [
        [source, target, int(count), performance[source, target]["mean"]]
        + [performance[source, target]["median"]]
        for (source, target), count in frequency.items()
    ]
    answer = _answer(edges, starts, ends, {tuple(v): int(c) for v, c in variants.items()})
    return clock, answer


def _carevalue(path: Path, source: str) -> tuple[_Clock, dict]:
    from carevalue.flow import event_table, process_map
    from carevalue.warehouse import connect

    con = connect("duckdb://:memory:")
    clock = _Clock()
    if source == "ibis":
        # The warehouse reads the file where it lies; the log's event_id is its order.
        log = con.read_parquet(str(path))
        clock.lap("read_parquet (Ibis table)")
        events = event_table(log, case=CASE, activity=ACTIVITY, timestamp=TIMESTAMP, order=ORDER)
    else:
        # A pandas frame's row order is the source order, as pm4py's.
        frame = pd.read_parquet(path)
        clock.lap("read")
        events = event_table(frame, case=CASE, activity=ACTIVITY, timestamp=TIMESTAMP)
    clock.lap("event_table")
    found = process_map(events)
    clock.lap("process_map")
    edges, starts, ends = found.edges, found.start_activities, found.end_activities
    found = found.variants
    answer = _answer(
        edges[["source", "target", "count", "mean_wait_s", "median_wait_s"]].values.tolist(),
        dict(zip(starts["activity"], starts["count"])),
        dict(zip(ends["activity"], ends["count"])),
        dict(zip(map(tuple, found["activities"]), found["count"])),
    )
    return clock, answer


def _answer(edges: list, starts: dict, ends: dict, variants: dict) -> dict:
    """What a tool found, in one comparable shape (built after the clock stops)."""
    edges = sorted(
        [str(s), str(t), int(n), float(mean), float(median)] for s, t, n, mean, median in edges
    )
    lines = sorted(f"{'>'.join(map(str, v))}\t{int(n)}" for v, n in variants.items())
    return {
        "edges": edges,
        "edge_count": len(edges),
        "transitions": sum(e[2] for e in edges),
        "start_activities": {str(k): int(v) for k, v in sorted(starts.items())},
        "end_activities": {str(k): int(v) for k, v in sorted(ends.items())},
        "variant_count": len(lines),
        "variant_cases": sum(int(n) for n in variants.values()),
        "variants_sha256": hashlib.sha256("\n".join(lines).encode()).hexdigest(),
    }


def measure_here(tool: str, path: Path) -> dict:
    """One measurement in this process: seconds, the steps' seconds, the answer and the
    process's peak memory so far."""
    import psutil

    import_mib = psutil.Process().memory_info().rss / 2**20
    clock, answer = _pm4py(path) if tool == "pm4py" else _carevalue(path, tool.split("_")[1])
    return {
        "seconds": clock.seconds,
        "cpu_seconds": clock.cpu_seconds,
        "steps": clock.steps,
        "peak_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "rss_before_mib": round(import_mib),
        "answer": answer,
    }


def _child(tool: str, path: Path, out: Path) -> None:
    # The tool's imports come before the first memory reading, the same for every tool.
    modules = ("pm4py",) if tool == "pm4py" else ("carevalue.flow", "carevalue.warehouse")
    for module in modules:
        importlib.import_module(module)
    out.write_text(json.dumps(measure_here(tool, path)))


def measure(tool: str, path: Path) -> dict:
    """One measurement in a fresh process (pm4py prints a banner on import, so the answer
    comes back in a file, not on stdout)."""
    with tempfile.TemporaryDirectory() as scratch:
        out = Path(scratch) / "answer.json"
        done = subprocess.run(
            [sys.executable, "-m", "carevalue.bench.flow", "--child", tool, str(path), str(out)],
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"{tool} on {path} failed:\n{done.stderr[-4000:]}")
        return json.loads(out.read_text())


# --------------------------------------------------------------------------------------
# Agreement, the run and the report
# --------------------------------------------------------------------------------------


class Disagreement(AssertionError):
    """The tools found different maps: no time is worth reporting."""


def agreement(answers: dict[str, dict], facts: dict) -> dict:
    """Compare every tool's answer with the baseline's and with the log's own facts;
    raise ``Disagreement`` naming what differs."""
    base = answers[BASELINE]
    problems = []
    for tool, answer in answers.items():
        if answer["transitions"] != facts["transitions"]:
            problems.append(
                f"{tool} counts {answer['transitions']:,} transitions; the log has "
                f"{facts['transitions']:,} (events minus cases)"
            )
        if answer["variant_cases"] != facts["cases"]:
            problems.append(
                f"{tool}'s variants hold {answer['variant_cases']:,} cases of {facts['cases']:,}"
            )
        if tool == BASELINE:
            continue
        for key in ("edge_count", "variant_count", "variants_sha256"):
            if answer[key] != base[key]:
                problems.append(f"{tool} {key} {answer[key]} but {BASELINE} {base[key]}")
        for key in ("start_activities", "end_activities"):
            if answer[key] != base[key]:
                problems.append(f"{tool} and {BASELINE} differ in {key}")
        problems += _edge_differences(tool, answer["edges"], base["edges"])
    if problems:
        raise Disagreement("The tools disagree:\n  " + "\n  ".join(problems))
    return {
        "all_agree": True,
        "edge_count": base["edge_count"],
        "transitions": base["transitions"],
        "variant_count": base["variant_count"],
        "variants_sha256": base["variants_sha256"],
        "start_activities": len(base["start_activities"]),
        "end_activities": len(base["end_activities"]),
        "checked": (
            "edges with counts, mean and median waits (to 1e-6 s); start and end "
            "activities with counts; variants with counts (SHA-256); transitions = events "
            "- cases; variant cases = cases"
        ),
    }


def _edge_differences(tool: str, edges: list, base: list) -> list[str]:
    mine = {(s, t): rest for s, t, *rest in edges}
    theirs = {(s, t): rest for s, t, *rest in base}
    if mine.keys() != theirs.keys():
        return [f"{tool} and {BASELINE} find different edges ({len(mine ^ theirs)} differ)"]
    found = []
    for edge, (count, mean, median) in mine.items():
        b_count, b_mean, b_median = theirs[edge]
        if count != b_count:
            found.append(f"{tool} counts {edge} {count} times, {BASELINE} {b_count}")
        elif not (np.isclose(mean, b_mean, atol=1e-6) and np.isclose(median, b_median, atol=1e-6)):
            found.append(
                f"{tool} waits {mean:.3f}/{median:.3f} s (mean/median) on {edge}, "
                f"{BASELINE} {b_mean:.3f}/{b_median:.3f}"
            )
    return found


def _machine() -> dict:
    from importlib.metadata import PackageNotFoundError, version

    versions = {"python": platform.python_version()}
    for package in ("pandas", "numpy", "ibis-framework", "duckdb", "pm4py"):
        try:
            versions[package] = version(package)
        except PackageNotFoundError:  # pm4py without the bench extra: the run will say so
            versions[package] = None
    from carevalue.warehouse import connect

    settings = connect("duckdb://:memory:").raw_sql(
        "SELECT current_setting('threads'), current_setting('memory_limit')"
    )
    threads, memory_limit = settings.fetchone()
    return {
        **versions,
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "duckdb_threads": threads,
        "duckdb_memory_limit": memory_limit,
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
    }


def _code() -> dict:
    """Which CareValue was measured: the commit, and a digest of the flow package in case
    its files differ from the commit's."""
    import carevalue.flow

    root = Path(carevalue.flow.__file__).parent
    digest = hashlib.sha256()
    for path in sorted(root.glob("*.py")):
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    commit = subprocess.run(
        ["git", "rev-parse", "HEAD"], capture_output=True, text=True, check=False
    ).stdout.strip()
    changed = subprocess.run(
        ["git", "status", "--porcelain", "--", str(root)], capture_output=True, text=True
    ).stdout.strip()
    return {
        "commit": commit or None,
        "flow_files_uncommitted": len(changed.splitlines()) if changed else 0,
        "flow_code_sha256": digest.hexdigest(),
    }


def bench_size(n_events: int, repeat: int, work: Path, fresh_process: bool = True) -> dict:
    """Every tool on one size, taking turns, best of ``repeat``; then the agreement."""
    print(f"  {n_events:>11,} events: writing the log…", file=sys.stderr, flush=True)
    path, facts = write_log(n_events, work)
    runs: dict[str, list[dict]] = {tool: [] for tool in TOOLS}
    for attempt in range(repeat):
        for tool in TOOLS:
            print(
                f"  {n_events:>11,} events: {tool} ({attempt + 1} of {repeat})…",
                file=sys.stderr,
                flush=True,
            )
            load = round(os.getloadavg()[0], 2)  # the shared machine's, as the run starts
            figures = measure(tool, path) if fresh_process else measure_here(tool, path)
            runs[tool].append({**figures, "load_average_1min": load})
    answers = {tool: tool_runs[0]["answer"] for tool, tool_runs in runs.items()}
    agreed = agreement(answers, facts)
    tools = {}
    for tool, tool_runs in runs.items():
        best = min(tool_runs, key=lambda r: r["seconds"])
        tools[tool] = {
            "seconds": best["seconds"],
            "runs_seconds": [r["seconds"] for r in tool_runs],
            "runs_load_average_1min": [r["load_average_1min"] for r in tool_runs],
            "cpu_seconds": best["cpu_seconds"],
            "steps_seconds": best["steps"],
            "peak_mib": max(r["peak_mib"] for r in tool_runs),
            "rss_after_imports_mib": best["rss_before_mib"],
        }
    base = tools[BASELINE]
    for figures in tools.values():
        figures["speed_up_over_pm4py"] = round(base["seconds"] / figures["seconds"], 2)
        figures["cpu_speed_up_over_pm4py"] = round(base["cpu_seconds"] / figures["cpu_seconds"], 2)
        figures["memory_share_of_pm4py"] = round(figures["peak_mib"] / base["peak_mib"], 2)
    path.unlink()  # gigabytes at the large size; regenerated (seeded) by the next run
    return {"events": n_events, "log": facts, "repeat": repeat, "tools": tools, **agreed}


def run(
    sizes=SIZES, repeat: int | None = None, work: Path = WORK, fresh_process: bool = True
) -> dict:
    result = {
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": _machine(),
        "code": _code(),
        "seed": SEED,
        "timed": (
            "from reading the Parquet file to the last answer, after the imports; best of "
            "the runs; peak memory is the process's maximum resident set size"
        ),
        "sizes": [],
    }
    for n_events in sizes:
        times = repeat if repeat is not None else REPEATS.get(n_events, 1)
        result["sizes"].append(bench_size(n_events, times, work, fresh_process))
    result["machine"]["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    return result


LABELS = {
    "pm4py": "pm4py (baseline)",
    "carevalue_ibis": "CareValue, Ibis over Parquet",
    "carevalue_pandas": "CareValue, pandas frame",
}


def table(result: dict) -> str:
    lines = [
        "| events | tool | seconds | CPU seconds | peak memory (MiB) | speed-up over pm4py (CPU) |",
        "|---:|---|---:|---:|---:|---:|",
    ]
    for size in result["sizes"]:
        for tool, figures in size["tools"].items():
            speed_up = (
                ""
                if tool == BASELINE
                else f"{figures['speed_up_over_pm4py']}× ({figures['cpu_speed_up_over_pm4py']}×)"
            )
            lines.append(
                f"| {size['events']:,} | {LABELS[tool]} | {figures['seconds']:.2f} "
                f"| {figures['cpu_seconds']:.2f} | {figures['peak_mib']:,} | {speed_up} |"
            )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m carevalue.bench.flow", description=__doc__.splitlines()[0]
    )
    parser.add_argument("sizes", nargs="*", type=int, default=list(SIZES), help="numbers of events")
    parser.add_argument("--repeat", type=int, help="runs per tool (default 2 at 1M, else 1)")
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--work", type=Path, default=WORK, help="where the Parquet logs go")
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        tool, path, out = args.child
        _child(tool, Path(path), Path(out))
        return
    result = run(args.sizes, args.repeat, args.work)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(table(result))
    for size in result["sizes"]:
        print(
            f"{size['events']:,} events: the tools agree ({size['edge_count']} edges, "
            f"{size['variant_count']:,} variants, {size['transitions']:,} transitions)"
        )


if __name__ == "__main__":
    main()
