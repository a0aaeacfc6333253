"""``python -m carevalue.bench.web_load``: the web app under load (locust against gunicorn).

1. Builds a synthetic trust under ``var/bench-web/<patients>/`` (``carevalue generate``,
   ``ingest --demo``, ``run --costing-rules synthetic``, which publishes the snapshot the
   app reads), or reuses the one already there when it was built with the same size and
   seed.
2. Starts gunicorn on 127.0.0.1 (a free port), 2 workers x 4 gthread threads, on that
   snapshot, with its own migrated SQLite web database and ``--users`` benchmark users
   (role service_manager, every condition, made with ``actions.create_user``).
3. Warms the app's page cache (every URL the scenario visits, a few times, untimed by
   locust; each URL's first response time is kept as the cold build time), then runs
   locust headless, once per scenario: each simulated user logs in once (GET /login/,
   POST with the CSRF token) and then browses the overview, SPC, cost and value pages of
   every condition, unfiltered and filtered to one site, with the think time given.
4. Baseline, in the same run and on the same server: the same locust run with every page
   replaced by ``/healthz`` (no page building: the server, Django, the login and locust
   itself). Both are run with the think time given and again with none.
5. Writes ``bench/results/web_load.json`` (and ``web_load_<patients>.json`` when the size
   is not 100,000) and prints a table. State the think time with every figure.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import os
import platform
import re
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlencode

RESULTS = Path("bench/results")
WORK = Path("var/bench-web")
SEED = 1
WORKERS, THREADS = 2, 4
SPAWN_RATE = 5
SITE = "North"
LOCUSTFILE = Path(__file__).with_name("locustfile_web.py")
PAGES = ("overview", "spc", "cost", "value")
CSRF_INPUT = re.compile(r'name="csrfmiddlewaretoken"\s+value="([^"]+)"')
BUILT_FILE = "built.json"
USER_PREFIX = "bench"
WARM_UP_ROUNDS = 3
# Percentile columns of locust's ``*_stats.csv`` and the names they get in the JSON.
PERCENTILES = {"50%": "median_ms", "95%": "p95_ms", "99%": "p99_ms"}
AGGREGATED = "Aggregated"


# --- the scenario (shared with locustfile_web.py) ---------------------------------------


def page_paths(conditions: list[str], site: str) -> list[str]:
    """Every path the scenario visits: each page of each condition, plain and filtered."""
    query = "?" + urlencode({"site": site})
    return [
        f"/c/{c}/{page}/{suffix}" for c in conditions for page in PAGES for suffix in ("", query)
    ]


def request_name(path: str) -> str:
    """The name a path's figures are gathered under: the page and whether it is filtered,
    across conditions (``/c/[condition]/spc/?site=North``)."""
    return re.sub(r"^/c/[^/]+/", "/c/[condition]/", path)


def login_accepted(answer) -> bool:
    """Django's login view redirects away from the form on success, and shows the form
    again (200) on a wrong password."""
    return answer.status_code == 302 and "/login/" not in answer.headers.get("Location", "")


def login(session, host: str, username: str, password: str) -> None:
    """Log a ``requests.Session`` in through the login form, as a browser does."""
    form = session.get(f"{host}/login/", timeout=60)
    form.raise_for_status()
    token = CSRF_INPUT.search(form.text)
    if token is None:
        raise RuntimeError("no csrfmiddlewaretoken in the login form")
    answer = session.post(
        f"{host}/login/",
        timeout=60,
        allow_redirects=False,
        data={"username": username, "password": password, "csrfmiddlewaretoken": token.group(1)},
        headers={"Referer": f"{host}/login/"},
    )
    if not login_accepted(answer):
        raise RuntimeError(f"login as {username} refused (status {answer.status_code})")


# --- 1. the trust -----------------------------------------------------------------------


def trust_env(folder: Path) -> dict[str, str]:
    """The environment every step (and gunicorn) runs with: this trust's warehouse and its
    snapshots, never the developer's own ``var/warehouse.duckdb``."""
    folder = folder.resolve()
    return {
        **os.environ,
        "CAREVALUE_WAREHOUSE": str(folder / "warehouse.duckdb"),
        "CAREVALUE_SNAPSHOTS": str(folder / "snapshots"),
    }


def build_trust(patients: int, seed: int = SEED, work: Path = WORK) -> tuple[Path, dict]:
    """The trust's folder, built unless a complete build of the same size and seed is there
    (``built.json`` is written last, so a killed build is redone)."""
    folder = work / str(patients)
    marker = folder / BUILT_FILE
    if marker.exists():
        built = json.loads(marker.read_text())
        if built.get("patients") == patients and built.get("seed") == seed and current_run(folder):
            print(
                f"  reusing the {patients:,}-patient trust in {folder}", file=sys.stderr, flush=True
            )
            return folder, {**built, "reused": True}
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    env = trust_env(folder)
    carevalue = [sys.executable, "-m", "carevalue"]
    steps = {
        "generate": [
            *carevalue,
            "generate",
            str(folder / "extract"),
            "--patients",
            str(patients),
            "--seed",
            str(seed),
        ],
        "ingest": [*carevalue, "ingest", str(folder / "extract"), "--demo"],
        "run": [*carevalue, "run", "--costing-rules", "synthetic"],
    }
    seconds = {}
    for name, command in steps.items():
        print(f"  {patients:,} patients: carevalue {name}…", file=sys.stderr, flush=True)
        started = time.perf_counter()
        with (folder / f"{name}.log").open("w") as log:
            subprocess.run(command, env=env, check=True, stdout=log, stderr=subprocess.STDOUT)
        seconds[name] = round(time.perf_counter() - started, 1)
    shutil.rmtree(folder / "extract")  # the warehouse and the snapshot are all that is read
    built = {
        "patients": patients,
        "seed": seed,
        "run_id": current_run(folder),
        "built_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "seconds": seconds,
    }
    marker.write_text(json.dumps(built, indent=2) + "\n")
    return folder, {**built, "reused": False}


def current_run(folder: Path) -> str | None:
    """The run id of the snapshot the app would serve, or None."""
    current = folder / "snapshots" / "CURRENT"
    return current.read_text().strip() if current.exists() else None


def conditions_of(folder: Path) -> list[str]:
    """The conditions in the current snapshot (its packs folder), sorted."""
    packs = folder / "snapshots" / current_run(folder) / "packs"
    return sorted(p.name for p in packs.iterdir() if p.is_dir())


# --- 2. the server ----------------------------------------------------------------------


def web_env(folder: Path) -> dict[str, str]:
    web = (folder / "web").resolve()
    return {
        **trust_env(folder),
        "DJANGO_SETTINGS_MODULE": "carevalue.web.settings",
        "CAREVALUE_WEB_DB": str(web / "web.sqlite3"),
        "CAREVALUE_STATIC_ROOT": str(web / "static"),
        "CAREVALUE_ALLOWED_HOSTS": "127.0.0.1,localhost",
    }


def prepare_web(folder: Path, users: int) -> str:
    """A fresh web database, migrated, with ``users`` service managers; their password."""
    web = folder / "web"
    shutil.rmtree(web, ignore_errors=True)
    web.mkdir(parents=True)
    password = "bench-" + secrets.token_urlsafe(12)
    subprocess.run(
        [
            sys.executable,
            "-m",
            "carevalue.bench.web_load",
            "--child-prepare",
            str(folder),
            "--users",
            str(users),
        ],
        env={**web_env(folder), "CAREVALUE_BENCH_PASSWORD": password},
        check=True,
    )
    return password


def _child_prepare(users: int) -> None:
    """In a child process with ``web_env``: migrate, collect static files, make users."""
    from carevalue.web.serve import prepare_app, setup_django

    setup_django()
    prepare_app(collect_static=True)
    from carevalue.web import actions

    password = os.environ["CAREVALUE_BENCH_PASSWORD"]
    for number in range(1, users + 1):
        actions.create_user(
            username=f"{USER_PREFIX}{number:02d}",
            password=password,
            roles=[("service_manager", "")],
        )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_gunicorn(folder: Path, port: int) -> subprocess.Popen:
    from carevalue.web.serve import gunicorn_command

    log = (folder / "web" / "gunicorn.log").open("w")
    process = subprocess.Popen(
        gunicorn_command("127.0.0.1", port, WORKERS, THREADS),
        env=web_env(folder),
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"gunicorn exited with {process.returncode}; see {log.name}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=90) as r:
                if json.loads(r.read()).get("run_id"):
                    return process
        except OSError:
            pass
        time.sleep(0.5)
    stop(process)
    raise SystemExit(f"gunicorn did not answer /healthz within 120 s; see {log.name}")


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


# --- 3. warm-up and locust --------------------------------------------------------------


def warm_up(host: str, paths: list[str], password: str) -> dict:
    """Every path ``WARM_UP_ROUNDS`` times from 4 threads, logged in, so both gunicorn
    workers have most pages in their page cache before locust starts. Each path's first
    response time is kept: what the first visitor after a run is published waits."""
    import requests

    def fetch(path: str) -> tuple[str, float, int]:
        session = sessions[hash(path) % len(sessions)]
        started = time.perf_counter()
        response = session.get(host + path, timeout=300)
        return path, (time.perf_counter() - started) * 1000, response.status_code

    sessions = []
    for number in range(4):
        session = requests.Session()
        login(session, host, f"{USER_PREFIX}{number + 1:02d}", password)
        sessions.append(session)
    first: dict[str, float] = {}
    statuses = set()
    with ThreadPoolExecutor(4) as pool:
        for _ in range(WARM_UP_ROUNDS):
            for path, ms, status in pool.map(fetch, paths):
                first.setdefault(path, round(ms))
                statuses.add(status)
    return {"rounds": WARM_UP_ROUNDS, "statuses": sorted(statuses), "first_response_ms": first}


def run_locust(
    host: str,
    prefix: Path,
    *,
    target: str,
    think: str,
    users: int,
    seconds: int,
    password: str,
    conditions: list[str],
) -> int:
    env = {
        **os.environ,
        "CAREVALUE_BENCH_TARGET": target,
        "CAREVALUE_BENCH_THINK": think,
        "CAREVALUE_BENCH_PASSWORD": password,
        "CAREVALUE_BENCH_ACCOUNTS": str(users),
        "CAREVALUE_BENCH_CONDITIONS": ",".join(conditions),
        "CAREVALUE_BENCH_SITE": SITE,
    }
    command = [
        sys.executable,
        "-m",
        "locust",
        "-f",
        str(LOCUSTFILE),
        "--headless",
        "-u",
        str(users),
        "-r",
        str(SPAWN_RATE),
        "-t",
        f"{seconds}s",
        "--host",
        host,
        "--csv",
        str(prefix),
        "--only-summary",
        "--stop-timeout",
        "10",
        "--loglevel",
        "WARNING",
    ]
    with prefix.with_suffix(".log").open("w") as log:
        return subprocess.run(
            command, env=env, stdout=log, stderr=subprocess.STDOUT, check=False
        ).returncode


# --- 5. summarising ---------------------------------------------------------------------


def _number(text: str) -> float | None:
    try:
        return float(text)
    except (TypeError, ValueError):
        return None


def summarise_stats_csv(path: Path) -> dict:
    """Locust's ``<prefix>_stats.csv`` as figures: for each request name and for all
    requests together (locust's Aggregated row): requests, failures, median, p95 and p99
    in ms, and requests per second."""

    def figures(row: dict) -> dict:
        out = {"requests": int(row["Request Count"]), "failures": int(row["Failure Count"])}
        for column, name in PERCENTILES.items():
            value = _number(row.get(column))
            out[name] = None if value is None else round(value)
        out["requests_per_second"] = round(_number(row["Requests/s"]) or 0.0, 2)
        return out

    per_name, overall = {}, None
    with path.open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            if row["Name"] == AGGREGATED:
                overall = figures(row)
            else:
                method = row["Type"]
                label = row["Name"] if method in ("GET", "") else f"{method} {row['Name']}"
                per_name[label] = figures(row)
    if overall is None:
        raise ValueError(f"{path} has no {AGGREGATED} row; is it locust's *_stats.csv?")
    return {"per_request": per_name, "overall": overall}


ACCESS_LINE = re.compile(r'"(?P<method>[A-Z]+) (?P<path>\S+)" (?P<status>\d{3}) \S+ (?P<ms>\d+)ms$')


def server_times(log: Path, start: int = 0) -> dict:
    """gunicorn's own time per path (its access log, from byte ``start``): requests, median
    and p95 ms. The log has no query strings, so a page's filtered
    and unfiltered views are together; it shows which condition's page is slow."""
    times: dict[str, list[int]] = {}
    with log.open("rb") as handle:
        handle.seek(start)
        for line in handle.read().decode("utf-8", "replace").splitlines():
            match = ACCESS_LINE.search(line)
            if match and match["path"].startswith("/c/"):
                times.setdefault(match["path"], []).append(int(match["ms"]))
    out = {}
    for path, values in sorted(times.items()):
        values.sort()
        out[path] = {
            "requests": len(values),
            "median_ms": values[len(values) // 2],
            "p95_ms": values[min(len(values) - 1, int(len(values) * 0.95))],
        }
    return out


def scenario_summary(prefix: Path, *, target: str, think: str, returncode: int) -> dict:
    stats = summarise_stats_csv(Path(f"{prefix}_stats.csv"))
    failures = Path(f"{prefix}_failures.csv")
    failure_rows = []
    if failures.exists():
        with failures.open(newline="", encoding="utf-8") as handle:
            failure_rows = [
                {
                    "method": r["Method"],
                    "name": r["Name"],
                    "error": r["Error"][:300],
                    "occurrences": int(r["Occurrences"]),
                }
                for r in csv.DictReader(handle)
            ]
    return {
        "target": target,
        "think_seconds": think_label(think),
        "locust_exit_code": returncode,
        **stats,
        "failure_reasons": failure_rows,
    }


def think_label(think: str) -> str:
    return "none" if think in ("0", "0-0", "none") else think


def parse_think(text: str) -> str:
    """``1-3`` (uniform between 1 and 3 s), ``2`` (constant) or ``0``/``none``."""
    if text in ("0", "none"):
        return "0"
    low, _, high = text.partition("-")
    low_f, high_f = float(low), float(high or low)
    if low_f < 0 or high_f < low_f:
        raise argparse.ArgumentTypeError(f"think time {text!r}: give LOW-HIGH seconds, e.g. 1-3")
    return f"{low}-{high or low}"


def pages_code_digest() -> str:
    """SHA-256 of the web app's Python and templates, to tell later whether the pages
    measured are the pages in the checkout."""
    import carevalue.web

    root = Path(carevalue.web.__file__).parent
    digest = hashlib.sha256()
    for path in sorted([*root.rglob("*.py"), *root.rglob("*.html")]):
        digest.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def git_commit() -> dict:
    def git(*args: str) -> str:
        out = subprocess.run(["git", *args], capture_output=True, text=True, check=False)
        return out.stdout.strip()

    changed = git("status", "--porcelain", "--", "src/carevalue/web")
    return {
        "commit": git("rev-parse", "HEAD"),
        "web_files_uncommitted": len(changed.splitlines()) if changed else 0,
    }


def table(result: dict) -> str:
    lines = [
        (
            f"{result['patients']:,} patients, {result['users']} users, {result['seconds']} s per "
            f"scenario, 2 gunicorn workers x 4 threads, {result['machine']['cpus']} CPUs"
        ),
        "",
        (
            "| scenario | think time (s) | request | requests | failures | median ms | p95 ms "
            "| p99 ms | requests/s |"
        ),
        "|---|---|---|---:|---:|---:|---:|---:|---:|",
    ]

    def cell(value) -> str:
        return "–" if value is None else f"{value:,}"

    for name, scenario in result["scenarios"].items():
        rows = [*scenario["per_request"].items(), ("**all requests**", scenario["overall"])]
        for label, f in rows:
            lines.append(
                f"| {name} | {scenario['think_seconds']} | {label} | {f['requests']:,} | "
                f"{f['failures']:,} | {cell(f['median_ms'])} | {cell(f['p95_ms'])} | "
                f"{cell(f['p99_ms'])} | {f['requests_per_second']} |"
            )
    return "\n".join(lines)


def server_table(result: dict) -> str:
    """gunicorn's own time per condition and page (filtered and unfiltered together)."""
    names = [n for n in ("pages", "pages_no_think") if n in result["scenarios"]]

    def label(think: str) -> str:
        return "no think time" if think == "none" else f"think {think} s"

    header = " | ".join(
        f"{label(result['scenarios'][n]['think_seconds'])}: median / p95 ms" for n in names
    )
    lines = [f"| path (server time, gunicorn's log) | {header} |", "|---|" + "---:|" * len(names)]
    paths = sorted({p for n in names for p in result["scenarios"][n]["server_ms_by_path"]})
    for path in paths:
        cells = []
        for n in names:
            f = result["scenarios"][n]["server_ms_by_path"].get(path)
            cells.append("–" if f is None else f"{f['median_ms']:,} / {f['p95_ms']:,}")
        lines.append(f"| {path} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def verdict(result: dict, aim_p95_ms: int = 300) -> str:
    pages = result["scenarios"]["pages"]
    worst = max(
        ((name, f) for name, f in pages["per_request"].items() if name.startswith("/c/")),
        key=lambda item: item[1]["p95_ms"] or 0,
    )
    met = (
        pages["overall"]["p95_ms"] is not None
        and pages["overall"]["p95_ms"] < aim_p95_ms
        and pages["overall"]["failures"] == 0
    )
    return (
        f"aim (p95 < {aim_p95_ms} ms, no failures, {result['users']} users, think time "
        f"{pages['think_seconds']} s): {'met' if met else 'NOT met'}; overall p95 "
        f"{pages['overall']['p95_ms']} ms, {pages['overall']['failures']} failures; slowest "
        f"page by p95: {worst[0]} ({worst[1]['p95_ms']} ms)"
    )


# --- profiling one request -------------------------------------------------------------

# Where a page's time goes: the functions whose cumulative time the profile reports.
PROFILE_PARTS = {
    "build_page (page builder, disclosure; cached per process)": ("views.py", "build_page"),
    "render (template)": ("shortcuts.py", "render"),
    "_charts_json (figures to JSON)": ("views.py", "_charts_json"),
    "choices (filter options)": ("filters.py", "choices"),
    "snapshot table reads (Parquet)": ("snapshots.py", "table"),
}


def profile(folder: Path, path: str) -> None:
    """Profile one request for ``path`` in a fresh process on this trust's snapshot, three
    times: first in the process (nothing loaded), then with the page cache emptied (tables
    loaded, page built again), then with the page cached (what most requests are)."""
    if not (folder / "web" / "web.sqlite3").exists():
        prepare_web(folder, 1)
    subprocess.run(
        [
            sys.executable,
            "-m",
            "carevalue.bench.web_load",
            "--child-profile",
            str(folder),
            "--profile",
            path,
        ],
        env={**web_env(folder), "CAREVALUE_ALLOWED_HOSTS": "testserver,127.0.0.1"},
        check=True,
    )


def _child_profile(folder: Path, path: str) -> None:
    import cProfile
    import pstats

    from carevalue.web.serve import setup_django

    setup_django()
    from django.contrib.auth import get_user_model
    from django.test import Client

    from carevalue.web import page_cache

    client = Client()
    client.force_login(get_user_model().objects.get(username=f"{USER_PREFIX}01"))
    for label, clear in (
        ("first request in the process", False),
        ("page cache emptied", True),
        ("page cached", False),
    ):
        if clear:
            page_cache.clear()
        profiler = cProfile.Profile()
        started = time.perf_counter()
        profiler.enable()
        response = client.get(path)
        profiler.disable()
        ms = (time.perf_counter() - started) * 1000
        stats = pstats.Stats(profiler)
        print(
            f"\n{path} — {label}: {ms:,.0f} ms (under the profiler), status "
            f"{response.status_code}, {len(response.content):,} bytes"
        )
        for part, (file, function) in PROFILE_PARTS.items():
            seconds = sum(
                v[3] for k, v in stats.stats.items() if k[0].endswith(file) and k[2] == function
            )
            print(f"  {part}: {seconds * 1000:,.0f} ms")
        prof = folder / "web" / f"profile{path.strip('/').replace('/', '_')}_{int(clear)}.prof"
        stats.dump_stats(prof)
        stats.sort_stats("cumulative").print_stats(
            r"carevalue|pandas/core/(frame|groupby)|"
            r"plotly|json/encoder|template/base",
            25,
        )
    timings = []
    for _ in range(5):
        started = time.perf_counter()
        client.get(path)
        timings.append((time.perf_counter() - started) * 1000)
    print(
        f"\n{path} — page cached, without the profiler, 5 requests one at a time: "
        f"{', '.join(f'{ms:,.0f}' for ms in timings)} ms"
    )
    page_cache.clear()
    started = time.perf_counter()
    client.get(path)
    print(
        f"{path} — page cache emptied, without the profiler: "
        f"{(time.perf_counter() - started) * 1000:,.0f} ms"
    )


# --- the whole run ----------------------------------------------------------------------


def bench(patients: int, users: int, seconds: int, think: str, seed: int = SEED) -> dict:
    folder, built = build_trust(patients, seed)
    conditions = conditions_of(folder)
    print("  preparing the web database and users…", file=sys.stderr, flush=True)
    password = prepare_web(folder, users)
    port = free_port()
    host = f"http://127.0.0.1:{port}"
    process = start_gunicorn(folder, port)
    out = folder / "web"
    access_log = out / "gunicorn.log"
    result = {
        "patients": patients,
        "seed": seed,
        "users": users,
        "seconds": seconds,
        "think_seconds": think_label(think),
        "spawn_rate": SPAWN_RATE,
        "server": {
            "workers": WORKERS,
            "threads": THREADS,
            "worker_class": "gthread",
            "database": "sqlite",
        },
        "conditions": conditions,
        "site_filter": SITE,
        "trust": built,
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {
            "cpus": os.cpu_count() or 0,
            "python": platform.python_version(),
            "platform": platform.platform(),
            "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
        },
        "git": git_commit(),
        "web_code_sha256": pages_code_digest(),
        "scenarios": {},
    }
    try:
        print("  warming the page cache…", file=sys.stderr, flush=True)
        result["warm_up"] = warm_up(host, page_paths(conditions, SITE), password)
        scenarios = [("pages", "pages", think), ("healthz_baseline", "healthz", think)]
        if think != "0":
            scenarios += [
                ("pages_no_think", "pages", "0"),
                ("healthz_baseline_no_think", "healthz", "0"),
            ]
        for name, target, scenario_think in scenarios:
            print(
                f"  locust: {name}, {users} users, {seconds} s, "
                f"think {think_label(scenario_think)}…",
                file=sys.stderr,
                flush=True,
            )
            prefix = out / f"locust_{name}"
            log_start = access_log.stat().st_size
            code = run_locust(
                host,
                prefix,
                target=target,
                think=scenario_think,
                users=users,
                seconds=seconds,
                password=password,
                conditions=conditions,
            )
            result["scenarios"][name] = scenario_summary(
                prefix, target=target, think=scenario_think, returncode=code
            )
            result["scenarios"][name]["server_ms_by_path"] = server_times(access_log, log_start)
    finally:
        stop(process)
    result["machine"]["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    return result


def results_path(patients: int) -> Path:
    return RESULTS / ("web_load.json" if patients == 100_000 else f"web_load_{patients}.json")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m carevalue.bench.web_load", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--patients", type=int, default=100_000, help="size of the synthetic trust")
    parser.add_argument("--users", type=int, default=20, help="simulated users (and accounts)")
    parser.add_argument("--seconds", type=int, default=60, help="length of each locust scenario")
    parser.add_argument(
        "--think",
        type=parse_think,
        default="1-3",
        help="think time between a user's pages, LOW-HIGH seconds (0 for none)",
    )
    parser.add_argument("--seed", type=int, default=SEED, help="seed of the synthetic trust")
    parser.add_argument(
        "--build-only",
        action="store_true",
        help="only build (or reuse) the trust, for a later measurement",
    )
    parser.add_argument(
        "--profile",
        metavar="PATH",
        help="instead of a load test, profile one request for PATH (e.g. "
        "/c/stroke/spc/) on the same trust, with cProfile",
    )
    parser.add_argument("--child-prepare", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--child-profile", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child_prepare:
        _child_prepare(args.users)
        return
    if args.child_profile:
        _child_profile(args.child_profile, args.profile)
        return
    if args.profile:
        folder, _ = build_trust(args.patients, args.seed)
        profile(folder, args.profile)
        return
    if args.build_only:
        _, built = build_trust(args.patients, args.seed)
        print(json.dumps(built))
        return
    result = bench(args.patients, args.users, args.seconds, args.think, args.seed)
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = results_path(args.patients)
    path.write_text(json.dumps(result, indent=2) + "\n")
    print(table(result))
    print()
    print(server_table(result))
    print()
    print(verdict(result))
    print(f"written to {path}")


if __name__ == "__main__":
    main()
