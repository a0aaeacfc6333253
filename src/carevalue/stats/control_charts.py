"""Run charts and Shewhart control charts, computed as qicharts2 0.8.1's ``qic()`` computes them.

``control_chart(y, n, x, chart=...)`` takes plain arrays and returns one row per subgroup
with the plotted statistic, the centre line, the 3-sigma limits (and 2-sigma ones in
``lcl_95``/``ucl_95``), Shewhart's 3-sigma signal and the Anhøj runs analysis. The
methods, and every place where we chose a policy, are described for users in
``docs/control-charts.md``; the reference is ``docs/reference/spc_methods.md`` §2.

How a call flows: ``carevalue.stats.spc_inputs`` reads y, n and x into typed arrays (ISO
date text and ``datetime.date`` objects in x become dates); the raw observations are
aggregated by subgroup ``x`` (sorted, as qic sorts them); the subgroups are numbered 1..N
and ``freeze``/``part``/``exclude`` are read against those numbers; each phase is
calculated on its own from its baseline points that are not excluded; runs analysis
compares every included point of the phase with its centre line; ``multiply`` scales the
plotted numbers last, so it never changes a signal.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
import pandas as pd
from scipy import special, stats

from carevalue.stats import spc_inputs as inputs
from carevalue.stats.warnings import ShortSeriesWarning

__all__ = [
    "CHARTS",
    "average_moving_range",
    "c4",
    "control_chart",
    "longest_run_max",
    "n_crossings_min",
    "runs_analysis",
]

CHARTS = ("run", "i", "mr", "xbar", "s", "p", "pp", "c", "u", "up", "g", "t")

# qic uses the tabulated, rounded constants for subgroups of two (not 3/d2 = 2.6596...
# computed exactly), so the i chart's limits are cl ± 3·AMR/1.128; keep them rounded.
D2 = 1.128
D4 = 3.267
# The t chart's power transform (Nelson 1994): (time between events)^(1/3.6) is close to
# normal for exponential waiting times.
T_POWER = 3.6
# Below this many subgroups the limits are too unsettled to trust (Anhøj; the Making
# Data Count baseline of 12-20 points).
RECOMMENDED_SUBGROUPS = 12

_COUNT_CHARTS = ("p", "pp", "u", "up")  # need a denominator n
_RATIO_ALLOWED = ("run", "i", "mr", *_COUNT_CHARTS)  # where n makes y = sum(y) / sum(n)
_NONNEGATIVE = ("p", "pp", "c", "u", "up", "g")  # counts can't be negative
_COLUMNS = [
    "x",
    "y",
    "cl",
    "lcl",
    "ucl",
    "sigma_signal",
    "runs_signal",
    "longest_run",
    "longest_run_max",
    "n_crossings",
    "n_crossings_min",
    "part",
    "baseline",
    "include",
    "n",
    "n_useful",
    "lcl_95",
    "ucl_95",
]


def control_chart(
    y,
    n=None,
    x=None,
    *,
    chart: str = "run",
    freeze: int | None = None,
    part: Sequence[int] | int | None = None,
    exclude: Sequence[int] | int | None = None,
    multiply: float = 1,
    screen_mr: bool = True,
    y_neg: bool = True,
) -> pd.DataFrame:
    """One row per subgroup ``x``: plotted ``y``, ``cl``, ``lcl``, ``ucl``, signals, runs analysis.

    ``y`` holds the observations (xbar, s, run, i, mr, g, t, c) or the counts (p, pp, u,
    up); ``n`` the denominators, required for p/pp/u/up and optional for run/i/mr, where
    it makes the plotted value sum(y)/sum(n) per subgroup; ``x`` the subgroup of each
    observation (default: each observation is its own subgroup; dates, ISO date text and
    ``datetime.date`` objects are time, other text labels). ``freeze`` is the
    1-based number of the last baseline subgroup; ``part`` the numbers of the subgroups
    that end a phase (``part=[12]``: phase 1 is subgroups 1-12); ``exclude`` the numbers
    of subgroups left out of the calculations and the runs analysis but still plotted.
    ``multiply`` scales y, cl and the limits at the end. ``screen_mr`` drops moving ranges
    of 3.267 x the average or more before estimating sigma (i, t, pp, up), as qicharts2
    does when the package is attached. ``y_neg=False`` floors the lower limits at 0 when
    no plotted value is negative (qic's ``y.neg``; qic's default, and ours, is True).

    Raises ``ValueError`` for an unknown chart, mismatched lengths, impossible values or
    fewer than 2 subgroups; warns ``ShortSeriesWarning`` when a phase's limits rest on
    fewer than 12 subgroups.
    """
    chart = _check_chart(chart)
    multiply = _check_multiply(multiply)
    values, denominators, groups = _check_inputs(y, n, x, chart)
    subgroups = _aggregate(values, denominators, groups)
    count = len(subgroups)
    _check_enough(subgroups, chart)
    phases = _phase_numbers(part, freeze, count)
    baseline = _baseline(freeze, count)
    include = ~np.isin(np.arange(1, count + 1), _positions(exclude, count, "exclude"))
    ordered = inputs.is_ordered(groups)

    frames = []
    for phase in np.unique(phases):
        rows = phases == phase
        frame = _chart_phase(
            subgroups[rows].reset_index(drop=True),
            base=baseline[rows] & include[rows],
            include=include[rows],
            chart=chart,
            screen_mr=screen_mr,
            ordered=ordered,
        )
        frame["part"] = int(phase)
        frame["baseline"] = baseline[rows]
        frame["include"] = include[rows]
        frames.append(frame)
    result = pd.concat(frames, ignore_index=True)
    _warn_if_short(result, subgroups)
    return _finish(result, multiply=multiply, y_neg=y_neg)


# --- checking the arguments ---------------------------------------------------------------


def _check_chart(chart) -> str:
    if not isinstance(chart, str) or chart.lower() not in CHARTS:
        raise ValueError(f"chart must be one of {', '.join(CHARTS)}, not {chart!r}.")
    return chart.lower()


def _check_multiply(multiply) -> float:
    # A negative multiplier would turn the upper limit into the lower one, so allow only
    # what qic is used for: rescaling (100 for percent, 10,000 per 10,000 bed days).
    try:
        value = float(multiply)
    except (TypeError, ValueError):
        raise ValueError(f"multiply must be a positive number, not {multiply!r}.") from None
    if not np.isfinite(value) or value <= 0:
        raise ValueError(f"multiply must be a positive number, not {multiply!r}.")
    return value


def _check_inputs(y, n, x, chart: str):
    values = inputs.observations(y)
    denominators = _check_denominators(n, values, chart)
    groups = inputs.subgroups(x, len(values))
    _check_values(values, denominators, chart)
    return values, denominators, groups


def _check_denominators(n, values: np.ndarray, chart: str) -> np.ndarray | None:
    if n is None:
        if chart in _COUNT_CHARTS:
            raise ValueError(f"A {chart} chart needs the denominators n.")
        return None
    if chart not in _RATIO_ALLOWED:
        raise ValueError(
            f"A {chart} chart takes y alone; n is used only by run, i, mr, p, pp, u and up charts."
        )
    return inputs.denominators(n, len(values))


def _check_values(values: np.ndarray, denominators: np.ndarray | None, chart: str) -> None:
    present = values[~np.isnan(values)]
    if chart in _NONNEGATIVE and (present < 0).any():
        raise ValueError(f"A {chart} chart counts events, so y cannot be negative.")
    if chart == "t" and (present <= 0).any():
        raise ValueError(
            "A t chart plots time between events, so every y must be greater than zero."
        )
    if chart in _COUNT_CHARTS:
        both = ~np.isnan(values) & ~np.isnan(denominators)
        if chart in ("p", "pp") and (values[both] > denominators[both]).any():
            raise ValueError("A p chart's count y cannot exceed its denominator n.")
        # Events with no exposure are a data error; counting them would also inflate the
        # pooled rate while their own point is missing.
        if ((values[both] > 0) & (denominators[both] == 0)).any():
            raise ValueError(f"A {chart} chart count above zero needs a denominator above zero.")


def _positions(positions, count: int, name: str) -> np.ndarray:
    """1-based subgroup numbers as integers, refusing anything outside 1..count."""
    if positions is None:
        return np.array([], dtype=int)
    array = np.atleast_1d(np.asarray(positions))
    if array.dtype == bool or not np.issubdtype(array.dtype, np.number):
        raise ValueError(f"{name} must be whole subgroup numbers counted from 1.")
    if array.size and (not np.all(np.isfinite(array)) or np.any(array != np.round(array))):
        raise ValueError(f"{name} must be whole subgroup numbers counted from 1.")
    array = array.astype(int)
    if array.size and (array.min() < 1 or array.max() > count):
        raise ValueError(f"{name} must be between 1 and the number of subgroups ({count}).")
    return np.unique(array)


def _phase_numbers(part, freeze, count: int) -> np.ndarray:
    """Phase number (1, 2, ...) of every subgroup; part=[12] makes 1-12 phase 1, 13- phase 2."""
    if part is None:
        return np.ones(count, dtype=int)
    if freeze is not None:
        # qic silently ignores freeze when part is given; say so instead of guessing.
        raise ValueError(
            "freeze and part cannot be combined: qicharts2 ignores freeze when "
            "part is given; use part alone."
        )
    ends = _positions(part, count, "part")
    if ends.size and ends.max() >= count:
        raise ValueError(
            f"part must be between 1 and {count - 1}: the last phase ends at the "
            "last subgroup by itself."
        )
    # Subgroup k belongs to 1 + (number of phase ends before k).
    return 1 + np.searchsorted(ends, np.arange(1, count + 1), side="left")


def _baseline(freeze, count: int) -> np.ndarray:
    if freeze is None:
        return np.ones(count, dtype=bool)
    last = _positions(freeze, count, "freeze")
    if last.size != 1:
        raise ValueError("freeze must be one subgroup number: the last of the baseline.")
    return np.arange(1, count + 1) <= last[0]


def _check_enough(subgroups: pd.DataFrame, chart: str) -> None:
    with_data = int((subgroups["y_count"] > 0).sum())
    if with_data < 2:
        raise ValueError(f"A chart needs at least 2 subgroups with data; this one has {with_data}.")
    if chart in ("xbar", "s") and not (subgroups["y_count"] > 1).any():
        raise ValueError(
            f"A {chart} chart needs subgroups of two or more observations; give x to group them."
        )


def _warn_if_short(result: pd.DataFrame, subgroups: pd.DataFrame) -> None:
    # What matters is how many points each phase's centre line and limits rest on: the
    # whole series when nothing is frozen, the baseline when it is.
    has_data = subgroups["y_count"].to_numpy() > 0
    used = result["baseline"].to_numpy() & result["include"].to_numpy() & has_data
    for phase, rows in result.groupby("part").groups.items():
        count = int(used[rows].sum())
        if count < RECOMMENDED_SUBGROUPS:
            where = "" if result["part"].nunique() == 1 else f"phase {phase}: "
            warnings.warn(
                f"{where}the centre line and limits rest on {count} subgroups; "
                f"{RECOMMENDED_SUBGROUPS} or more are recommended before trusting them.",
                ShortSeriesWarning,
                stacklevel=3,
            )


# --- aggregating observations into subgroups ----------------------------------------------


def _aggregate(values: np.ndarray, denominators: np.ndarray | None, groups: pd.Series):
    """Per subgroup, sorted by x: sum, count, mean and sd of y, the summed n, and the ratio."""
    frame = pd.DataFrame({"x": groups, "y": values})
    if denominators is not None:
        # As qic does: a row missing either its count or its denominator is missing both.
        incomplete = np.isnan(values) | np.isnan(denominators)
        frame["y"] = np.where(incomplete, np.nan, values)
        frame["n"] = np.where(incomplete, np.nan, denominators)
    grouped = frame.groupby("x", sort=True, observed=True)
    out = pd.DataFrame(
        {
            "y_sum": grouped["y"].agg(_sum_or_nan),
            "y_count": grouped["y"].count(),
            "y_mean": grouped["y"].agg(_nanmean),
            "y_sd": grouped["y"].std(ddof=1),
        }
    )
    if denominators is not None:
        out["n"] = grouped["n"].agg(_sum_or_nan)
        # A zero denominator has no rate: NaN, never a division error or infinity.
        with np.errstate(divide="ignore", invalid="ignore"):
            out["ratio"] = np.where(out["n"] > 0, out["y_sum"] / out["n"], np.nan)
    else:
        out["n"] = out["y_count"].astype("float64")
        out["ratio"] = np.nan
    out["has_n"] = denominators is not None
    return out.reset_index()


# --- the charts, one phase at a time ------------------------------------------------------


class _Lines(NamedTuple):
    y: np.ndarray
    cl: np.ndarray
    lcl: np.ndarray
    ucl: np.ndarray
    lcl_95: np.ndarray
    ucl_95: np.ndarray


def _chart_phase(g: pd.DataFrame, *, base, include, chart, screen_mr, ordered) -> pd.DataFrame:
    lines = _CHART_FUNCTIONS[chart](g, base, screen_mr=screen_mr, ordered=ordered)
    runs = runs_analysis(lines.y, lines.cl, include)
    # qic switches the runs signal off for moving-range charts (consecutive ranges share a
    # point, so they are not independent) and for categorical x (no order in time).
    signal = runs["runs_signal"] and chart != "mr" and ordered
    frame = pd.DataFrame(
        {
            "x": g["x"],
            "y": lines.y,
            "cl": lines.cl,
            "lcl": lines.lcl,
            "ucl": lines.ucl,
            "lcl_95": lines.lcl_95,
            "ucl_95": lines.ucl_95,
            "n": g["n"].to_numpy(),
        }
    )
    frame["runs_signal"] = bool(signal)
    for key in ("longest_run", "longest_run_max", "n_crossings", "n_crossings_min", "n_useful"):
        frame[key] = pd.array([runs[key]] * len(frame), dtype="Int64")
    return frame


def _plotted(g: pd.DataFrame) -> np.ndarray:
    """The subgroup's value: sum(y)/sum(n) when n was given, else the mean of y."""
    if bool(g["has_n"].iloc[0]):
        return g["ratio"].to_numpy(dtype=float)
    return g["y_mean"].to_numpy(dtype=float)


def _full(value: float, length: int) -> np.ndarray:
    return np.full(length, value, dtype=float)


def _band(centre, sigma, length: int, floor=None, ceiling=None):
    """lcl, ucl, lcl_95, ucl_95 at ±3 and ±2 sigma, clipped where the scale has an edge."""
    centre = np.broadcast_to(np.asarray(centre, dtype=float), (length,))
    sigma = np.broadcast_to(np.asarray(sigma, dtype=float), (length,))
    with np.errstate(invalid="ignore"):
        lines = [centre - 3 * sigma, centre + 3 * sigma, centre - 2 * sigma, centre + 2 * sigma]
    return [_clip(line, floor, ceiling) for line in lines]


def _clip(line: np.ndarray, floor, ceiling) -> np.ndarray:
    # Only finite limits are clipped: an infinite one (a zero denominator) stays undefined
    # and becomes NaN, as in qic, rather than turning into a fake 0 or 1.
    line = np.array(line, dtype=float)
    finite = np.isfinite(line)
    if floor is not None:
        line[finite & (line < floor)] = floor
    if ceiling is not None:
        line[finite & (line > ceiling)] = ceiling
    return line


def _nanmean(values) -> float:
    """The mean of the values that are not missing, rounded exactly as R's mean() rounds it.

    R adds in extended precision (long double), divides, then adds back the mean of the
    residuals once. A float sum can differ in the last bit, and that bit matters: whether a
    point lies on the centre line, and so whether the runs analysis counts it, must agree
    with qic (0.6, -0.4, 0.0, 0.9, -1.1 has mean -2.218e-17 in R, so 0.0 is above it).
    ``np.cumsum`` adds left to right, as R's loop does.
    """
    values = np.asarray(values, dtype=float)
    values = values[~np.isnan(values)].astype(np.longdouble)
    if not values.size:
        return np.nan
    mean = np.cumsum(values)[-1] / values.size
    if np.isfinite(mean):
        mean += np.cumsum(values - mean)[-1] / values.size
    return float(mean)


def _sum_or_nan(values) -> float:
    """A subgroup's total, missing when none of its values is there."""
    values = np.asarray(values, dtype=float)
    return _sum(values) if (~np.isnan(values)).any() else np.nan


def _sum(values) -> float:
    """Sum of the values that are not missing, added in extended precision as R's sum() does."""
    values = np.asarray(values, dtype=float)
    values = values[~np.isnan(values)].astype(np.longdouble)
    return float(np.cumsum(values)[-1]) if values.size else 0.0


def _nanmedian(values: np.ndarray) -> float:
    values = np.asarray(values, dtype=float)
    values = values[~np.isnan(values)]
    return float(np.median(values)) if values.size else np.nan


def average_moving_range(values, screen: bool = True) -> float:
    """Mean of |consecutive differences|; ranges next to a missing value are dropped.

    Screening (Nelson 1982) recomputes the mean without the ranges that are 3.267 x the
    first average or more, so one wild point does not widen the limits. When every range
    is zero nothing is below 3.267 x 0 and qic's mean becomes NaN; we keep 0 instead, so a
    constant series has its limits on the centre line rather than no limits at all.
    """
    ranges = np.abs(np.diff(np.asarray(values, dtype=float)))
    ranges = ranges[~np.isnan(ranges)]
    if ranges.size == 0:
        return np.nan
    average = _nanmean(ranges)
    if screen and average > 0:
        average = _nanmean(ranges[ranges < D4 * average])
    return average


def _run(g, base, **_):
    y = _plotted(g)
    nothing = _full(np.nan, len(g))
    return _Lines(y, _full(_nanmedian(y[base]), len(g)), nothing, nothing, nothing, nothing)


def _i(g, base, *, screen_mr, y=None, **_):
    y = _plotted(g) if y is None else y
    centre = _nanmean(y[base])
    sigma = average_moving_range(y[base], screen_mr) / D2
    return _Lines(y, _full(centre, len(g)), *_band(centre, sigma, len(g)))


def _mr(g, base, **_):
    # The moving range of each subgroup from the one before, within the phase.
    y = np.concatenate([[np.nan], np.abs(np.diff(_plotted(g)))])
    centre = _nanmean(y[base])
    zero = _full(0.0, len(g))
    return _Lines(
        y,
        _full(centre, len(g)),
        zero,
        _full(D4 * centre, len(g)),
        zero.copy(),
        _full(2 * D4 / 3 * centre, len(g)),
    )


def c4(size) -> np.ndarray:
    """Exact c4(n) = sqrt(2/(n-1)) Γ(n/2)/Γ((n-1)/2), via log-gamma so large n don't overflow."""
    size = np.asarray(size, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        value = np.sqrt(2 / (size - 1)) * np.exp(
            special.gammaln(size / 2) - special.gammaln((size - 1) / 2)
        )
    return np.where(size > 1, value, np.nan)


def _sigma_within(g: pd.DataFrame, base) -> float:
    """s-bar for equal subgroup sizes, else the pooled sd (Montgomery 6.29 / 6.31).

    Empty subgroups (no observations) neither count as a size nor enter the pooling.
    """
    sizes = g["y_count"].to_numpy(dtype=float)
    sds = g["y_sd"].to_numpy(dtype=float)
    if len(np.unique(sizes[sizes > 0])) <= 1:
        return _nanmean(sds[base])
    use = base & ~np.isnan(sds) & (sizes > 1)
    if not use.any():
        return np.nan
    return math.sqrt(_sum((sizes[use] - 1) * sds[use] ** 2) / _sum(sizes[use] - 1))


def _xbar(g, base, **_):
    sizes = g["y_count"].to_numpy(dtype=float)
    means = g["y_mean"].to_numpy(dtype=float)
    weighted = base & ~np.isnan(means)
    centre = (
        _sum(sizes[weighted] * means[weighted]) / _sum(sizes[weighted])
        if weighted.any()
        else np.nan
    )
    with np.errstate(invalid="ignore", divide="ignore"):
        sigma = _sigma_within(g, base) / (c4(sizes) * np.sqrt(sizes))  # A3·s̄ = 3·this
    return _Lines(means, _full(centre, len(g)), *_band(centre, sigma, len(g)))


def _s(g, base, **_):
    sizes = g["y_count"].to_numpy(dtype=float)
    centre = _sigma_within(g, base)
    factor = c4(sizes)
    with np.errstate(invalid="ignore"):
        sigma = centre * np.sqrt(1 - factor**2) / factor  # B4 = 1 + 3·c5/c4, B3 likewise
    y = g["y_sd"].to_numpy(dtype=float)
    return _Lines(y, _full(centre, len(g)), *_band(centre, sigma, len(g), floor=0.0))


def _pooled_rate(g, base) -> float:
    counts = g["y_sum"].to_numpy(dtype=float)[base]
    sizes = g["n"].to_numpy(dtype=float)[base]
    both = ~np.isnan(counts) & ~np.isnan(sizes)
    total = _sum(sizes[both])
    return _sum(counts[both]) / total if total > 0 else np.nan


def _binomial_sigma(centre, sizes):
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.sqrt(centre * (1 - centre) / sizes)


def _poisson_sigma(centre, sizes):
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.sqrt(centre / sizes)


def _laney_factor(y, centre, sigma, base, *, screen_mr, ordered) -> float:
    """σ_z: the spread of the z-scores between subgroups (Laney 2002).

    From the average moving range of z in time order; for categorical x (a funnel-style
    comparison, no order) from the standard deviation of z, as qic does.
    """
    with np.errstate(invalid="ignore", divide="ignore"):
        z = (y[base] - centre) / sigma[base]
    z = np.where(np.isfinite(z), z, np.nan)
    if not ordered:
        kept = z[~np.isnan(z)]
        return float(np.std(kept, ddof=1)) if kept.size > 1 else np.nan
    return average_moving_range(z, screen_mr) / D2


def _rate_chart(g, base, *, sigma_of, laney, ceiling, screen_mr, ordered):
    y = g["ratio"].to_numpy(dtype=float)
    centre = _pooled_rate(g, base)
    sigma = sigma_of(centre, g["n"].to_numpy(dtype=float))
    if laney:
        sigma = sigma * _laney_factor(y, centre, sigma, base, screen_mr=screen_mr, ordered=ordered)
    return _Lines(
        y, _full(centre, len(g)), *_band(centre, sigma, len(g), floor=0.0, ceiling=ceiling)
    )


def _p(g, base, **kw):
    return _rate_chart(g, base, sigma_of=_binomial_sigma, laney=False, ceiling=1.0, **kw)


def _pp(g, base, **kw):
    return _rate_chart(g, base, sigma_of=_binomial_sigma, laney=True, ceiling=1.0, **kw)


def _u(g, base, **kw):
    return _rate_chart(g, base, sigma_of=_poisson_sigma, laney=False, ceiling=None, **kw)


def _up(g, base, **kw):
    return _rate_chart(g, base, sigma_of=_poisson_sigma, laney=True, ceiling=None, **kw)


def _c(g, base, **_):
    # A c chart plots the count in each subgroup: the sum when x groups several rows.
    y = g["y_sum"].to_numpy(dtype=float)
    centre = _nanmean(y[base])
    return _Lines(y, _full(centre, len(g)), *_band(centre, np.sqrt(centre), len(g), floor=0.0))


def _g(g, base, **_):
    # Limits come from the geometric distribution's mean and sd, but the mean sits well
    # above the typical value of so skewed a distribution, so qic draws the median as the
    # centre line, and the runs analysis is done around that median.
    y = _plotted(g)
    mean = _nanmean(y[base])
    lines = _band(mean, np.sqrt(mean * (mean + 1)), len(g), floor=0.0)
    return _Lines(y, _full(_nanmedian(y[base]), len(g)), *lines)


def _t(g, base, *, screen_mr, **_):
    y = _plotted(g)
    transformed = _i(g, base, screen_mr=screen_mr, y=y ** (1 / T_POWER))
    # Everything, y included, goes back through the power, as in qic: a point that is the
    # centre line on the transformed scale then stays exactly on it for the runs analysis.
    back = [_back_transform(line) for line in transformed]
    # A lower limit below zero on the transformed scale has no time on the original one:
    # it is 0 (qic floors lcl; we floor lcl_95 too rather than leave it undefined).
    for index in (2, 4):
        back[index] = np.where(
            np.isnan(back[index]) & ~np.isnan(transformed[index]), 0.0, back[index]
        )
    return _Lines(*back)


def _back_transform(line: np.ndarray) -> np.ndarray:
    line = np.asarray(line, dtype=float)
    with np.errstate(invalid="ignore"):
        return np.where(line >= 0, np.abs(line) ** T_POWER, np.nan)


_CHART_FUNCTIONS = {
    "run": _run,
    "i": _i,
    "mr": _mr,
    "xbar": _xbar,
    "s": _s,
    "p": _p,
    "pp": _pp,
    "c": _c,
    "u": _u,
    "up": _up,
    "g": _g,
    "t": _t,
}


# --- Anhøj runs analysis ------------------------------------------------------------------


def longest_run_max(n_useful: int) -> int:
    """round(log2(n)) + 3 (Schilling 2012), computed exactly with integers.

    log2(n) is never exactly k + 0.5 for a whole n (that needs n² = 2^(2k+1), an odd
    power of two that is a perfect square), so R's and Python's round-half-even never
    meet a tie; comparing n² with 2^(2k+1) gives the same answer with no floating point.
    """
    n_useful = int(n_useful)
    if n_useful < 1:
        raise ValueError("longest_run_max needs at least one useful point.")
    below = n_useful.bit_length() - 1  # floor(log2(n))
    return below + (1 if n_useful * n_useful > 2 ** (2 * below + 1) else 0) + 3


def n_crossings_min(n_useful: int) -> int:
    """The 5th percentile of Binomial(n - 1, 0.5) (Chen 2010), as R's qbinom(0.05, n-1, 0.5)."""
    n_useful = int(n_useful)
    if n_useful < 1:
        raise ValueError("n_crossings_min needs at least one useful point.")
    if n_useful == 1:
        return 0
    return int(stats.binom.ppf(0.05, n_useful - 1, 0.5))


def runs_analysis(y, cl, include=None) -> dict:
    """Anhøj's two rules on the included points that are not on the centre line.

    Signal when the longest run on one side is longer than ``longest_run_max`` or the line
    is crossed fewer than ``n_crossings_min`` times. With no useful point every statistic
    is missing (``pd.NA``) and there is no signal.
    """
    y = np.asarray(y, dtype=float)
    cl = np.broadcast_to(np.asarray(cl, dtype=float), y.shape)
    keep = np.ones(y.shape, dtype=bool) if include is None else np.asarray(include, dtype=bool)
    with np.errstate(invalid="ignore"):
        sides = np.sign(y[keep] - cl[keep])
    sides = sides[(sides != 0) & ~np.isnan(sides)]
    if sides.size == 0:
        return {
            "n_useful": 0,
            "longest_run": pd.NA,
            "longest_run_max": pd.NA,
            "n_crossings": pd.NA,
            "n_crossings_min": pd.NA,
            "runs_signal": False,
        }
    run_starts = np.flatnonzero(np.concatenate([[True], sides[1:] != sides[:-1]]))
    run_lengths = np.diff(np.concatenate([run_starts, [sides.size]]))
    result = {
        "n_useful": int(sides.size),
        "longest_run": int(run_lengths.max()),
        "longest_run_max": longest_run_max(sides.size),
        "n_crossings": int(run_lengths.size - 1),
        "n_crossings_min": n_crossings_min(sides.size),
    }
    result["runs_signal"] = bool(
        result["longest_run"] > result["longest_run_max"]
        or result["n_crossings"] < result["n_crossings_min"]
    )
    return result


# --- finishing ----------------------------------------------------------------------------


def _finish(result: pd.DataFrame, *, multiply: float, y_neg: bool) -> pd.DataFrame:
    lines = ["y", "cl", "lcl", "ucl", "lcl_95", "ucl_95"]
    for column in lines:
        values = result[column].to_numpy(dtype=float) * multiply
        # Undefined limits (a zero denominator, a subgroup of one) are NaN, never ±inf.
        result[column] = np.where(np.isfinite(values), values, np.nan)
    y, lcl, ucl = (result[c].to_numpy(dtype=float) for c in ("y", "lcl", "ucl"))
    with np.errstate(invalid="ignore"):
        result["sigma_signal"] = (y > ucl) | (y < lcl)  # NaN compares False: no signal
    if not y_neg and np.nanmin(y) >= 0:
        for column in ("lcl", "lcl_95"):
            values = result[column].to_numpy(dtype=float)
            result[column] = np.where(values < 0, 0.0, values)
    return result[_COLUMNS]
