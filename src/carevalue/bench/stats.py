"""``python -m carevalue.bench.stats``: speed of the SPC and funnel statistics at issue 6's
sizes, XmR charts for 10,000 series of 36 points and a funnel of 1,000 groups.

Beside each measurement it times a baseline in the same run, on the same data:

- XmR: a plain numpy loop, series by series, that computes only the mean and
  mean +/- 2.66 x average moving range (no screening, no rules, no output frame). It is
  the floor: the least any XmR code must do. The benchmark checks that it gives the same
  limits as ``spc.xmr(screen_outliers=False)`` before reporting.
- Funnel: the exact Poisson (chi-squared) limits of every group, computed by a direct
  loop over the groups with scalar ``scipy.stats.chi2.ppf`` calls. The benchmark checks
  that ``funnel()`` gives the same limits.

Each step is timed ``--repeat`` times (fastest and median reported); its peak memory is
traced separately (tracemalloc, which numpy reports to), so tracing never slows a timed
run. Results go to ``bench/results/stats.json`` and a table on stdout; copy the table
into docs/benchmarks.md when the figures change.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time
import tracemalloc
import warnings
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from carevalue.stats import spc
from carevalue.stats.funnel import TAIL, funnel
from carevalue.stats.warnings import ShortSeriesWarning
from carevalue.value.metric_charts import funnel_charts, spc_charts
from carevalue.value.metric_series import COLUMNS as SERIES_COLUMNS

RESULTS = Path("bench/results/stats.json")
SERIES, POINTS, GROUPS = 10_000, 36, 1_000
# The per-series loop of spc.xmr is slow enough that a tenth of the series shows its cost.
LOOP_SERIES = 1_000
SEED = 6


# --------------------------------------------------------------------------------------
# Data
# --------------------------------------------------------------------------------------


def xmr_data(n_series: int, n_points: int, seed: int = SEED):
    """Monthly values: noise around a level per series, with a step in every fifth series
    and an odd month here and there, so every rule has something to find."""
    rng = np.random.default_rng(seed)
    level = rng.uniform(50, 150, size=(n_series, 1))
    y = level + rng.normal(0, 5, size=(n_series, n_points))
    stepped = np.arange(n_series) % 5 == 0
    y[stepped, n_points // 2 :] += 12
    odd = rng.random((n_series, n_points)) < 0.01
    y[odd] += 30
    return y


def metric_series_frame(y: np.ndarray, seed: int = SEED) -> pd.DataFrame:
    """The same values as a metric_series table: 10 metrics x (series / 10) sites by
    admission month, 5 % of the cells suppressed."""
    rng = np.random.default_rng(seed)
    n_series, n_points = y.shape
    metrics = np.repeat([f"metric_{i}" for i in range(10)], n_series // 10)
    sites = np.tile([f"site_{i:04d}" for i in range(n_series // 10)], 10)
    periods = [str(p) for p in pd.period_range("2021-04", periods=n_points, freq="M")]
    suppressed = rng.random(y.shape) < 0.05
    size = n_series * n_points
    frame = pd.DataFrame(
        {
            "condition": "stroke",
            "metric": np.repeat(metrics, n_points),
            "metric_kind": "mean",
            "period_type": "admission_month",
            "period": np.tile(periods, n_series),
            "segment_type": "site",
            "segment": np.repeat(sites, n_points),
            "n": np.where(suppressed, 5, 40).ravel(),
            "n_due": 40.0,
            "n_used": np.where(suppressed, 5, 40).ravel(),
            "numerator": np.nan,
            "denominator": np.nan,
            "expected": np.nan,
            "value": np.where(suppressed, np.nan, y).ravel(),
            "lower": np.nan,
            "upper": np.nan,
            "suppressed": suppressed.ravel(),
            "note": None,
        },
        index=np.arange(size),
    )
    return frame[SERIES_COLUMNS]


def funnel_data(n_groups: int, seed: int = SEED):
    """Observed and expected deaths for units of very different sizes, with some real
    spread between units (so the overdispersion steps do work)."""
    rng = np.random.default_rng(seed)
    expected = rng.uniform(2, 400, size=n_groups)
    true_ratio = rng.lognormal(0, 0.15, size=n_groups)
    observed = rng.poisson(expected * true_ratio).astype(float)
    labels = np.array([f"unit_{i:04d}" for i in range(n_groups)], dtype=object)
    return observed, expected, labels


def funnel_series_frame(observed, expected, labels) -> pd.DataFrame:
    """The same units as financial-year O/E rows of metric_series (plus the base rate
    metric that marks the outcome as 0/1)."""
    n = len(labels)
    frame = pd.DataFrame(
        {
            "condition": "stroke",
            "metric": "death_90d__oe",
            "metric_kind": "observed_expected",
            "period_type": "financial_year",
            "period": "2023/24",
            "segment_type": "site",
            "segment": labels,
            "n": 500,
            "n_due": 500.0,
            "n_used": 500,
            "numerator": observed,
            "denominator": 500.0,
            "expected": expected,
            "value": observed / expected,
            "lower": np.nan,
            "upper": np.nan,
            "suppressed": False,
            "note": None,
        },
        index=np.arange(n),
    )
    base = frame.assign(
        metric="death_90d",
        metric_kind="rate",
        period_type="all",
        period="all",
        segment_type="all",
        segment="all",
    ).iloc[:1]
    return pd.concat([frame, base], ignore_index=True)[SERIES_COLUMNS]


# --------------------------------------------------------------------------------------
# Baselines
# --------------------------------------------------------------------------------------


def xmr_numpy_loop(y: np.ndarray) -> np.ndarray:
    """Mean, lower and upper limit per series, one series at a time: the floor."""
    limits = np.empty((len(y), 3))
    for i, row in enumerate(y):
        mean = row.mean()
        amr = np.abs(np.diff(row)).mean()
        limits[i] = (mean, mean - spc.LIMIT_MULTIPLIER * amr, mean + spc.LIMIT_MULTIPLIER * amr)
    return limits


def funnel_scipy_loop(expected: np.ndarray) -> np.ndarray:
    """The exact Poisson limits of each group (95 % and 99.8 %), group by group."""
    limits = np.empty((len(expected), 4))
    for i, e in enumerate(expected):
        row = []
        for level in (95, 99):
            p = TAIL[level]
            row.append(stats.chi2.ppf(p, 2 * e) / (2 * e))
            row.append(stats.chi2.ppf(1 - p, 2 * (e + 1)) / (2 * e))
        limits[i] = row
    return limits


# --------------------------------------------------------------------------------------
# Measuring
# --------------------------------------------------------------------------------------


def _quiet(function: Callable) -> Callable:
    def run():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ShortSeriesWarning)
            return function()

    return run


def measure(function: Callable, repeat: int) -> dict:
    """Fastest and median wall-clock seconds over ``repeat`` runs, then the traced peak of
    one more run (kept apart: tracing slows allocation-heavy code)."""
    function()  # warm-up: imports and first-call caches are not what is being measured
    runs = []
    for _ in range(repeat):
        started = time.perf_counter()
        function()
        runs.append(time.perf_counter() - started)
    tracemalloc.start()
    function()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return {
        "seconds": round(min(runs), 4),
        "median_seconds": round(statistics.median(runs), 4),
        "runs_seconds": [round(r, 4) for r in runs],
        "peak_traced_mib": round(peak / 2**20, 1),
    }


def run(series: int = SERIES, points: int = POINTS, groups: int = GROUPS, repeat: int = 5) -> dict:
    y = xmr_data(series, points)
    flat = y.ravel()
    dates = np.tile(np.arange(points, dtype=float), series)
    facets = np.repeat(np.arange(series), points)
    table = metric_series_frame(y)
    loop_series = min(LOOP_SERIES, series)
    observed, expected, labels = funnel_data(groups)
    funnel_table = funnel_series_frame(observed, expected, labels)

    steps = {
        "xmr_numpy_loop_baseline": lambda: xmr_numpy_loop(y),
        "xmr_facets": _quiet(lambda: spc.xmr(flat, dates, facets=facets)),
        "xmr_facets_and_summary": _quiet(lambda: spc.summary(spc.xmr(flat, dates, facets=facets))),
        "xmr_per_series_loop": _quiet(lambda: [spc.xmr(row) for row in y[:loop_series]]),
        "spc_charts": lambda: spc_charts(
            table, directions={("stroke", f"metric_{i}"): "decrease" for i in range(10)}
        ),
        "funnel_scipy_loop_baseline": lambda: funnel_scipy_loop(expected),
        "funnel": lambda: funnel(observed, expected, labels),
        "funnel_charts": lambda: funnel_charts(funnel_table),
    }
    slow = {"xmr_per_series_loop"}
    result = {
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {
            "python": platform.python_version(),
            "numpy": np.__version__,
            "pandas": pd.__version__,
            "platform": platform.platform(),
        },
        "sizes": {
            "series": series,
            "points": points,
            "xmr_per_series_loop_series": loop_series,
            "groups": groups,
        },
        "repeat": repeat,
        "steps": {},
    }
    for name, function in steps.items():
        print(f"  {name}…", file=sys.stderr, flush=True)
        result["steps"][name] = measure(function, 1 if name in slow else repeat)
    result.update(_checks(y, flat, dates, facets, observed, expected, labels))
    seconds = {name: step["seconds"] for name, step in result["steps"].items()}
    result["ratios"] = {
        "xmr_facets_over_numpy_loop": round(
            seconds["xmr_facets"] / seconds["xmr_numpy_loop_baseline"], 2
        ),
        "spc_charts_over_numpy_loop": round(
            seconds["spc_charts"] / seconds["xmr_numpy_loop_baseline"], 2
        ),
        "xmr_per_series_loop_over_facets_same_series": round(
            seconds["xmr_per_series_loop"] * series / loop_series / seconds["xmr_facets"], 1
        ),
        "funnel_over_scipy_loop": round(
            seconds["funnel"] / seconds["funnel_scipy_loop_baseline"], 3
        ),
    }
    return result


def _checks(y, flat, dates, facets, observed, expected, labels) -> dict:
    """Same limits as the baselines (outside the clock)."""
    floor = xmr_numpy_loop(y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ShortSeriesWarning)
        chart = spc.xmr(flat, dates, facets=facets, screen_outliers=False)
    first = chart.groupby("facet", sort=True)[["mean", "lpl", "upl"]].first().to_numpy()
    xmr_same = bool(np.allclose(first, floor, rtol=1e-12, atol=1e-9))
    exact = funnel_scipy_loop(expected)
    result = funnel(observed, expected, labels)
    funnel_same = bool(
        np.allclose(result[["LCL95", "UCL95", "LCL99", "UCL99"]].to_numpy(), exact, rtol=1e-12)
    )
    return {"xmr_limits_match_baseline": xmr_same, "funnel_limits_match_baseline": funnel_same}


def table(result: dict) -> str:
    sizes = result["sizes"]
    what = {
        "xmr_numpy_loop_baseline": f"{sizes['series']:,} × {sizes['points']}",
        "xmr_facets": f"{sizes['series']:,} × {sizes['points']}",
        "xmr_facets_and_summary": f"{sizes['series']:,} × {sizes['points']}",
        "xmr_per_series_loop": f"{sizes['xmr_per_series_loop_series']:,} × {sizes['points']}",
        "spc_charts": f"{sizes['series']:,} × {sizes['points']}",
        "funnel_scipy_loop_baseline": f"{sizes['groups']:,} groups",
        "funnel": f"{sizes['groups']:,} groups",
        "funnel_charts": f"{sizes['groups']:,} groups",
    }
    lines = [
        "| step | size | seconds (fastest) | seconds (median) | peak traced memory (MiB) |",
        "|---|---|---:|---:|---:|",
    ]
    for name, step in result["steps"].items():
        lines.append(
            f"| {name} | {what[name]} | {step['seconds']} | {step['median_seconds']} "
            f"| {step['peak_traced_mib']} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m carevalue.bench.stats", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--series", type=int, default=SERIES)
    parser.add_argument("--points", type=int, default=POINTS)
    parser.add_argument("--groups", type=int, default=GROUPS)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    result = run(args.series, args.points, args.groups, args.repeat)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(table(result))
    print(
        f"limits match the baselines: XmR {result['xmr_limits_match_baseline']}, "
        f"funnel {result['funnel_limits_match_baseline']}; ratios {result['ratios']}"
    )


if __name__ == "__main__":
    main()
