"""95% intervals for the figures value reports show. Pure functions of arrays.

- proportions: Wilson score interval (Wilson 1927; better than Wald near 0, 1 and small n);
- means: Student t;
- medians: distribution-free, from order statistics (binomial ranks);
- observed / expected for 0/1 outcomes: exact Poisson limits on the observed count
  (the chi-squared form, as funnel plots for standardised ratios use);
- ratios of sums (O/E of a number, outcomes per pound): the ratio estimator's delta-method
  interval.
"""

from __future__ import annotations

import math
from functools import cache

import numpy as np
from scipy import stats

Z95 = stats.norm.ppf(0.975)


def wilson(events: float, n: int) -> tuple[float, float]:
    if n <= 0:
        return (math.nan, math.nan)
    p = events / n
    centre = (p + Z95**2 / (2 * n)) / (1 + Z95**2 / n)
    half = Z95 * math.sqrt(p * (1 - p) / n + Z95**2 / (4 * n**2)) / (1 + Z95**2 / n)
    return (max(0.0, centre - half), min(1.0, centre + half))


def mean_t(values: np.ndarray) -> tuple[float, float, float]:
    values = np.asarray(values, dtype=float)
    n = len(values)
    if n == 0:
        return (math.nan, math.nan, math.nan)
    mean = float(values.mean())
    if n < 2:
        return (mean, math.nan, math.nan)
    half = _t975(n - 1) * values.std(ddof=1) / math.sqrt(n)
    return (mean, mean - half, mean + half)


@cache
def _t975(df: int) -> float:
    return float(stats.t.ppf(0.975, df))


@cache
def _median_rank(n: int) -> int:
    return int(stats.binom.ppf(0.025, n, 0.5))


def median_order(values: np.ndarray) -> tuple[float, float, float]:
    """Median and the order-statistic interval with at least 95% coverage."""
    values = np.sort(np.asarray(values, dtype=float))
    n = len(values)
    if n == 0:
        return (math.nan, math.nan, math.nan)
    median = float(np.median(values))
    # The interval is the k-th smallest to the k-th largest value (1-based ranks k and
    # n - k + 1), covering the median with probability 1 - 2 P(Binomial(n, 1/2) <= k - 1).
    lower_rank = _median_rank(n)
    if lower_rank < 1:
        return (median, math.nan, math.nan)
    return (median, float(values[lower_rank - 1]), float(values[n - lower_rank]))


def poisson_ratio(observed: float, expected: float) -> tuple[float, float, float]:
    """O/E with exact Poisson limits on O."""
    if expected <= 0:
        return (math.nan, math.nan, math.nan)
    lower = stats.chi2.ppf(0.025, 2 * observed) / 2 if observed > 0 else 0.0
    upper = stats.chi2.ppf(0.975, 2 * (observed + 1)) / 2
    return (observed / expected, lower / expected, upper / expected)


def ratio_of_sums(numerator: np.ndarray, denominator: np.ndarray) -> tuple[float, float, float]:
    """sum(numerator) / sum(denominator) with the delta-method interval of a ratio
    estimator (paired values, e.g. observed and expected per episode)."""
    y = np.asarray(numerator, dtype=float)
    x = np.asarray(denominator, dtype=float)
    n = len(y)
    total = x.sum()
    if n == 0 or total <= 0:
        return (math.nan, math.nan, math.nan)
    ratio = y.sum() / total
    if n < 2:
        return (ratio, math.nan, math.nan)
    residual = y - ratio * x
    se = math.sqrt(n / (n - 1) * float((residual**2).sum())) / total
    return (ratio, ratio - Z95 * se, ratio + Z95 * se)
