"""Survival curves: Kaplan-Meier estimates per group with confidence bands, the log-rank
test between groups, medians and the number-at-risk row that goes under a plot.

Written with numpy and scipy to the definitions lifelines 0.30 uses (product-limit
estimate, exponential-Greenwood "log-log" 95 % interval, multivariate log-rank test), and
checked against lifelines' numbers in tests/test_survival.py. lifelines itself is not used
because no release installs beside the pinned pandas 3.1 (lifelines 0.30.3 requires
pandas < 3). Arrays in, data frames out; no I/O. See docs/survival.md.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

# The label used for the single curve when no groups are given.
ALL = "all"
COLUMNS = ["group", "time", "at_risk", "events", "censored", "survival", "ci_lower", "ci_upper"]
# The two-sided 95 % normal quantile, unrounded (lifelines uses the same).
Z95 = float(stats.norm.ppf(0.975))


def _check_durations(durations: pd.Series) -> np.ndarray:
    values = pd.to_numeric(durations, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    bad = ~np.isfinite(values)
    if bad.any():
        position = int(np.argmax(bad))
        value = durations.iloc[position]
        shown = repr(value) if isinstance(value, str) else str(value)
        raise ValueError(
            f"Duration at index {durations.index[position]!r} is {shown}, not a finite time."
        )
    bad = values < 0
    if bad.any():
        raise ValueError(
            f"Duration at index {durations.index[np.argmax(bad)]!r} is negative "
            f"({values[np.argmax(bad)]:g}); time from the start of follow-up cannot be negative."
        )
    return values


def _check_events(events: pd.Series) -> np.ndarray:
    # Accept True/False and 0/1 and nothing else: a 2, a "yes" or a gap is a coding mistake
    # that would otherwise be read silently as an event or a censoring.
    if events.dtype.kind in "biuf":
        values = events.to_numpy(dtype=float, na_value=np.nan)
        ok = (values == 0) | (values == 1)
    else:  # object columns: look at each value, so strings are refused rather than parsed
        values = events.to_numpy(dtype=object)
        numeric = (bool, int, float, np.number)
        ok = np.array([isinstance(v, numeric) and v in (0, 1) for v in values], dtype=bool)
    if not ok.all():
        position = int(np.argmax(~ok))
        value = events.iloc[position]
        shown = repr(value) if isinstance(value, str) else str(value)
        raise ValueError(
            f"Event at index {events.index[position]!r} is {shown}; events must be "
            "True/False or 1/0 (1 = the event happened, 0 = censored)."
        )
    return values.astype(bool)


def _check_groups(groups, durations: pd.Series) -> np.ndarray:
    if groups is None:
        return np.full(len(durations), ALL, dtype=object)
    values = pd.Series(groups).to_numpy(dtype=object)
    if len(values) != len(durations):
        raise ValueError(
            f"groups has {len(values)} values but durations has {len(durations)}; "
            "give one per subject."
        )
    missing = pd.isna(values)
    if missing.any():
        raise ValueError(f"Group at index {durations.index[np.argmax(missing)]!r} is missing.")
    return values


def _ordered(groups: np.ndarray) -> list:
    unique = list(pd.unique(groups))
    try:
        return sorted(unique)
    except TypeError:  # labels of mixed types: keep the order they first appear in
        return unique


def _life_table(durations: np.ndarray, events: np.ndarray) -> dict[str, np.ndarray]:
    """Counts at every distinct time a subject left follow-up, with a row for time 0."""
    times, inverse = np.unique(durations, return_inverse=True)
    removed = np.bincount(inverse, minlength=len(times))
    observed = np.bincount(inverse, weights=events, minlength=len(times)).astype(np.int64)
    if times[0] > 0:  # the curve starts at 1 at time 0 even when nobody left then
        times, removed, observed = np.r_[0.0, times], np.r_[0, removed], np.r_[0, observed]
    # At risk just before t: everyone, less those who left at earlier times.
    at_risk = len(durations) - np.cumsum(removed) + removed
    return {"time": times, "at_risk": at_risk, "events": observed, "censored": removed - observed}


def _product_limit(
    at_risk: np.ndarray, events: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Kaplan-Meier estimate with the exponential-Greenwood (log-log) 95 % interval.

    Greenwood: V(t) = sum d / (n (n - d)) over times up to t. On the log(-log S) scale the
    standard error is se = sqrt(V) / |log S|, so lower = S ** exp(z se) and
    upper = S ** exp(-z se), which always stay inside [0, 1]. Where S is 1 (nothing has
    happened yet) the interval is (1, 1); where S has reached 0 it is (0, 0), as lifelines
    reports.
    """
    survival = np.cumprod(1 - events / at_risk)
    # Both edge cases divide by zero (log 1 = 0; n = d when the last subject has the event);
    # they are replaced below.
    with np.errstate(divide="ignore", invalid="ignore"):
        greenwood = np.cumsum(events / (at_risk * (at_risk - events)))
        se = np.sqrt(greenwood) / np.abs(np.log(survival))
        lower = survival ** np.exp(Z95 * se)
        upper = survival ** np.exp(-Z95 * se)
    lower = np.where(survival >= 1, 1.0, np.where(survival <= 0, 0.0, lower))
    upper = np.where(survival >= 1, 1.0, np.where(survival <= 0, 0.0, upper))
    return survival, lower, upper


def _median(times: np.ndarray, survival: np.ndarray) -> float:
    """The first time the curve is at or below 0.5; infinite if it never gets there."""
    below = np.flatnonzero(survival <= 0.5)
    return float(times[below[0]]) if len(below) else float("inf")


def _group_table(group, durations: np.ndarray, events: np.ndarray) -> tuple[pd.DataFrame, float]:
    table = _life_table(durations, events)
    survival, lower, upper = _product_limit(table["at_risk"], table["events"])
    frame = pd.DataFrame(
        {"group": group, **table, "survival": survival, "ci_lower": lower, "ci_upper": upper}
    )
    return frame[COLUMNS], _median(table["time"], survival)


def logrank_test(durations, events, groups) -> dict:
    """Log-rank test that the groups share one survival curve (k groups, k - 1 df).

    At each time with an event, every group expects its share of the events in proportion
    to its number at risk; the statistic is (O - E)' V^- (O - E) with the hypergeometric
    covariance V, chi-squared on k - 1 degrees of freedom. Returns ``statistic``, ``df``,
    ``p_value`` and per-group ``observed`` and ``expected`` events.
    """
    durations = np.asarray(durations, dtype=float)
    events = np.asarray(events, dtype=bool)
    groups = np.asarray(groups, dtype=object)
    labels = _ordered(groups)
    event_times = np.unique(durations[events])
    at_risk = np.empty((len(event_times), len(labels)))
    died = np.empty_like(at_risk)
    for k, label in enumerate(labels):
        mine = groups == label
        follow_up = np.sort(durations[mine])
        deaths = np.sort(durations[mine & events])
        at_risk[:, k] = len(follow_up) - np.searchsorted(follow_up, event_times, side="left")
        died[:, k] = np.searchsorted(deaths, event_times, "right") - np.searchsorted(
            deaths, event_times
        )
    n, d = at_risk.sum(axis=1), died.sum(axis=1)
    share = at_risk / n[:, None]
    expected = (share * d[:, None]).sum(axis=0)
    # Hypergeometric variance factor; a time with one subject at risk carries no variance.
    factor = np.where(n > 1, d * (n - d) / np.maximum(n - 1, 1), 0.0)
    covariance = np.diag(factor @ share) - (share * factor[:, None]).T @ share
    difference = died.sum(axis=0) - expected
    # The differences sum to zero, so V is singular; the pseudo-inverse gives the same
    # statistic as inverting any k - 1 by k - 1 block.
    statistic = float(difference @ np.linalg.pinv(covariance) @ difference)
    df = len(labels) - 1
    return {
        "statistic": statistic,
        "df": df,
        "p_value": float(stats.chi2.sf(statistic, df)),
        "observed": dict(zip(labels, died.sum(axis=0).astype(int).tolist())),
        "expected": dict(zip(labels, expected.tolist())),
    }


def kaplan_meier(durations, events, groups=None) -> pd.DataFrame:
    """Kaplan-Meier survival per group, one row per group and distinct time (time 0 included).

    Rows come at every time a subject had the event or was censored, so censoring marks
    can be drawn; ``survival`` is the estimate just after that time. ``ci_lower`` and
    ``ci_upper`` are the 95 % exponential-Greenwood (log-log) interval lifelines reports.
    ``attrs["median"]`` maps each group to its median survival time (``inf`` when the curve
    never falls to 0.5); ``attrs["logrank"]`` holds ``statistic``, ``df``, ``p_value``,
    ``observed`` and ``expected`` of the log-rank test when there are two or more groups
    (``None`` otherwise).
    """
    durations = pd.Series(durations)
    events = pd.Series(events)
    if len(durations) == 0:
        raise ValueError("Kaplan-Meier needs at least one subject.")
    if len(events) != len(durations):
        raise ValueError(
            f"events has {len(events)} values but durations has {len(durations)}; "
            "give one per subject."
        )
    events.index = durations.index  # report problems by the durations' labels
    times = _check_durations(durations)
    observed = _check_events(events)
    labels = _check_groups(groups, durations)

    frames, medians = [], {}
    for group in _ordered(labels):
        mine = labels == group
        frame, medians[group] = _group_table(group, times[mine], observed[mine])
        frames.append(frame)
    result = pd.concat(frames, ignore_index=True)
    logrank = logrank_test(times, observed, labels) if len(medians) >= 2 else None
    result.attrs.update(median=medians, logrank=logrank)
    return result


def at_risk_table(km: pd.DataFrame, times) -> pd.DataFrame:
    """Number still at risk (not yet had the event or been censored) at each of ``times``,
    one row per group and one column per time: the row printed under a survival plot.

    ``km`` is a ``kaplan_meier()`` result. The number at risk at t counts subjects whose
    time is t or later, so a subject censored at exactly t still counts at t.
    """
    values = np.asarray(times, dtype=float)
    if values.ndim != 1 or not np.isfinite(values).all() or (values < 0).any():
        raise ValueError("at_risk_table needs a list of non-negative, finite times.")
    rows = {}
    for group, table in km.groupby("group", sort=False):
        table_times = table["time"].to_numpy()
        at_risk = np.append(table["at_risk"].to_numpy(), 0)  # beyond the last time, nobody
        # The first tabulated time at or after t has the same risk set as t itself.
        rows[group] = at_risk[np.searchsorted(table_times, values, side="left")]
    # Label the columns as the caller wrote the times (90, not 90.0).
    frame = pd.DataFrame.from_dict(rows, orient="index", columns=list(times))
    frame.index.name = "group"
    return frame
