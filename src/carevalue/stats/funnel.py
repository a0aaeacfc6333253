"""Funnel plots for comparing institutions (Spiegelhalter, Stat Med 2005;24:1185), computed
as FunnelPlotR 0.6.0 computes them, with one deliberate difference: the overdispersed limits
of the CQC method are squared back to the ratio scale (FunnelPlotR leaves them on the
square-root scale, its open issue nhs-r-community/FunnelPlotR#33).

``funnel(numerator, denominator, group)`` gives one row per group with its ratio (or
proportion), the unadjusted 95 % and 99.8 % limits, the overdispersion-adjusted limits and
an outlier flag; ``funnel_limits(denominators, ...)`` gives the same limits on any grid of
denominators so a chart can draw the funnel lines. Arrays in, data frames out; no I/O.
The method, every policy choice and the worked examples are in docs/funnel-plots.md;
the formulas are in docs/reference/spc_methods.md section 3.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

# FunnelPlotR's rounded normal multipliers; using the same digits keeps our limits equal to
# theirs to the printed precision rather than differing in the seventh decimal.
Z = {95: 1.959964, 99: 3.090232}
# The exact Poisson limits are two-sided tail probabilities; "99" means 99.8 %.
TAIL = {95: 0.025, 99: 0.001}

DATA_TYPES = ("SR", "PR", "RC")
SR_METHODS = ("SHMI", "CQC")

LIMIT_COLUMNS = ["LCL95", "UCL95", "LCL99", "UCL99"]
OD_COLUMNS = ["OD95LCL", "OD95UCL", "OD99LCL", "OD99UCL"]
COLUMNS = ["group", "numerator", "denominator", "rr", *LIMIT_COLUMNS, *OD_COLUMNS, "outlier"]


@dataclass(frozen=True)
class Overdispersion:
    """What the data say about variation between units beyond chance.

    ``phi`` is the mean squared z-score of the units kept after trimming (NaN when fewer
    than two are kept); ``tau2`` the DerSimonian-Laird between-unit variance on the
    transformed scale; ``n_used`` how many units entered ``phi``; ``trimmed`` marks the
    units winsorised (pulled in) or truncated (left out).
    """

    phi: float
    tau2: float
    n_used: int
    trimmed: np.ndarray


# ---------------------------------------------------------------------------------------
# Input checks: every message is one sentence that names the group.


def _as_floats(values, name: str) -> np.ndarray:
    # pandas turns pd.NA and None into NaN here, so one NaN check covers every kind of gap.
    try:
        return pd.Series(values).to_numpy(dtype=float, na_value=np.nan)
    except (TypeError, ValueError) as error:
        raise ValueError(f"The {name} must be numbers ({error}).") from None


def _group_labels(group, n: int) -> np.ndarray:
    if group is None:
        return np.array([str(i) for i in range(1, n + 1)], dtype=object)
    labels = pd.Series(group).to_numpy(dtype=object)
    if len(labels) != n:
        raise ValueError(
            f"group has {len(labels)} values but numerator has {n}; give one group per row."
        )
    missing = pd.isna(labels)
    if missing.any():
        raise ValueError(
            f"Row {int(np.argmax(missing))} has no group; give every row a group label."
        )
    return labels


def _check_rows(numerator: np.ndarray, denominator: np.ndarray, labels: np.ndarray) -> None:
    for values, name in ((numerator, "numerator"), (denominator, "denominator")):
        bad = ~np.isfinite(values)
        if bad.any():
            raise ValueError(f"Group '{labels[np.argmax(bad)]}' has a missing or infinite {name}.")
        bad = values < 0
        if bad.any():
            raise ValueError(
                f"Group '{labels[np.argmax(bad)]}' has a negative {name} "
                f"({values[np.argmax(bad)]:g}); counts and expected values cannot be negative."
            )


def _aggregate(numerator, denominator, labels):
    """Sum rows that share a group (patient-level input), keeping first-appearance order."""
    if len(pd.unique(labels)) == len(labels):
        return numerator, denominator, labels
    frame = pd.DataFrame({"g": labels, "n": numerator, "d": denominator})
    summed = frame.groupby("g", sort=False)[["n", "d"]].sum()
    return summed["n"].to_numpy(), summed["d"].to_numpy(), summed.index.to_numpy(dtype=object)


def _check_units(numerator, denominator, labels, data_type: str) -> None:
    zero = denominator == 0
    if zero.any():
        raise ValueError(
            f"Group '{labels[np.argmax(zero)]}' has a zero denominator; "
            "every group needs a positive denominator (expected count, cases or exposure)."
        )
    if data_type == "PR":
        over = numerator > denominator
        if over.any():
            raise ValueError(
                f"Group '{labels[np.argmax(over)]}' has more events than cases "
                f"({numerator[np.argmax(over)]:g} > {denominator[np.argmax(over)]:g}), "
                "which is not a proportion."
            )


def _check_options(data_type, sr_method, limit, trim_by) -> None:
    if data_type not in DATA_TYPES:
        raise ValueError(f"data_type must be one of {', '.join(DATA_TYPES)}, not {data_type!r}.")
    if sr_method not in SR_METHODS:
        raise ValueError(f"sr_method must be one of {', '.join(SR_METHODS)}, not {sr_method!r}.")
    if limit not in Z:
        raise ValueError(f"limit must be 95 or 99 (meaning 99.8 %), not {limit!r}.")
    if not 0 < trim_by < 0.5:
        raise ValueError(
            "trim_by must be a fraction between 0 and 0.5 (0.1 trims 10 % at each end), "
            f"not {trim_by!r}."
        )


def _default_target(data_type: str, numerator: np.ndarray, denominator: np.ndarray) -> float:
    if data_type == "SR":
        return 1.0  # observed / expected is 1 by construction of the expected counts
    return float(numerator.sum() / denominator.sum())


def _check_target(data_type: str, target: float) -> float:
    target = float(target)
    if data_type == "PR":
        if not 0 <= target <= 1:
            raise ValueError(f"A proportion's target must lie between 0 and 1, not {target:g}.")
    elif not (np.isfinite(target) and target > 0):
        # SR and RC limits live on the log scale, where a zero target has no place.
        raise ValueError(f"The {data_type} target must be a positive number, not {target:g}.")
    return target


# ---------------------------------------------------------------------------------------
# Transformations: each data type is put on a scale where it is roughly normal with a known
# standard error s, so that z = (Y - target) / s is comparable between units.


def _within_se(denominator: np.ndarray, data_type: str, sr_method: str) -> np.ndarray:
    """Standard error on the transformed scale used by the limits (depends on the
    denominator only)."""
    if data_type == "SR" and sr_method == "SHMI":
        return 1 / np.sqrt(denominator)
    # sqrt(O/E), asin(sqrt(p)) and FunnelPlotR's RC limits all use 1/(2 sqrt(denominator)).
    return 1 / (2 * np.sqrt(denominator))


def _z_scores(numerator, denominator, data_type, sr_method, target):
    """The unadjusted z-score of each unit and the standard error s that goes with it."""
    if data_type == "SR" and sr_method == "SHMI":
        s = 1 / np.sqrt(denominator)
        with np.errstate(divide="ignore"):  # O = 0 gives -inf, handled by the caller
            y = np.log(numerator / denominator)
        centre = np.log(target)
    elif data_type == "SR":
        s = 1 / (2 * np.sqrt(denominator))
        y, centre = np.sqrt(numerator / denominator), np.sqrt(target)
    elif data_type == "PR":
        s = 1 / (2 * np.sqrt(denominator))
        y, centre = np.arcsin(np.sqrt(numerator / denominator)), np.arcsin(np.sqrt(target))
    else:
        # The 0.5 keeps a zero count on the log scale; the delta-method s matches it.
        y = np.log((numerator + 0.5) / (denominator + 0.5))
        s = np.sqrt(numerator / (numerator + 0.5) ** 2 + denominator / (denominator + 0.5) ** 2)
        centre = np.log(target)
    return (y - centre) / s, s


# ---------------------------------------------------------------------------------------
# Overdispersion (Spiegelhalter, Qual Saf Health Care 2005;14:347).


def _winsorise(z: np.ndarray, trim_by: float) -> tuple[np.ndarray, np.ndarray]:
    """Pull z-scores beyond the trim_by / 1 - trim_by quantiles in to those quantiles.

    numpy's default 'linear' quantile is R's type 7, which FunnelPlotR uses.
    """
    low, high = np.quantile(z, [trim_by, 1 - trim_by])
    return np.clip(z, low, high), (z < low) | (z > high)


def _truncate(z: np.ndarray, trim_by: float) -> tuple[np.ndarray, np.ndarray]:
    """SHMI's rule: split the ranked z-scores into 1/trim_by bands and drop the two end bands.

    ``sp = floor(rank * k / (N + 1))`` with average ranks for ties; units with sp = 0 or
    sp >= k - 1 are dropped (for k = 10, about 10 % at each end).
    """
    k = 1 / trim_by
    ranks = stats.rankdata(z, method="average")
    band = np.floor(ranks * k / (len(z) + 1))
    dropped = (band <= 0) | (band >= k - 1)
    return z[~dropped], dropped


def dersimonian_laird_tau2(phi: float, s: np.ndarray) -> float:
    """Additive between-unit variance from the dispersion ratio, by the method of moments.

    Zero when n * phi < n - 1 (no more spread than chance); otherwise
    (n phi - (n - 1)) / (sum w - sum w^2 / sum w) with w = 1 / s^2.
    """
    n = len(s)
    if n < 2 or not np.isfinite(phi) or n * phi < n - 1:
        return 0.0
    w = 1 / s**2
    return max(0.0, float((n * phi - (n - 1)) / (w.sum() - (w**2).sum() / w.sum())))


def estimate_overdispersion(
    z, s, *, method: str = "winsorise", trim_by: float = 0.1
) -> Overdispersion:
    """phi and tau^2 from unit z-scores and their standard errors.

    ``method`` is "winsorise" (CQC, PR, RC: every unit counts, extremes pulled in) or
    "truncate" (SHMI: the extreme bands are left out, so phi and tau^2 use fewer units).
    """
    z = np.asarray(z, dtype=float)
    s = np.asarray(s, dtype=float)
    if method == "winsorise":
        kept_z, trimmed = _winsorise(z, trim_by)
        kept_s = s
    elif method == "truncate":
        kept_z, trimmed = _truncate(z, trim_by)
        kept_s = s[~trimmed]
    else:
        raise ValueError(f"method must be 'winsorise' or 'truncate', not {method!r}.")
    n_used = len(kept_z)
    # One unit cannot show variation between units.
    phi = float(np.mean(kept_z**2)) if n_used >= 2 else float("nan")
    return Overdispersion(phi, dersimonian_laird_tau2(phi, kept_s), n_used, trimmed)


# ---------------------------------------------------------------------------------------
# Limits.


def _poisson_limits(denominator: np.ndarray, target: float, level: int):
    """Exact Poisson limits for O/E through the chi-squared form FunnelPlotR uses.

    (Spiegelhalter 2005 also gives an interpolated exact form; it is narrower at small E.)
    """
    p = TAIL[level]
    lower = target * stats.chi2.ppf(p, 2 * denominator) / (2 * denominator)
    upper = target * stats.chi2.ppf(1 - p, 2 * (denominator + 1)) / (2 * denominator)
    return lower, upper


def _normal_limits(denominator, data_type, sr_method, target, tau2, level):
    """Limits from a normal approximation on the transformed scale, widened by tau^2, then
    taken back to the scale of the ratio or proportion."""
    spread = Z[level] * np.sqrt(_within_se(denominator, data_type, sr_method) ** 2 + tau2)
    if data_type == "PR":
        # Keep the angle inside [0, pi/2] before sin^2: beyond it sin^2 folds back and the
        # limit would turn inwards at small n (FunnelPlotR patches the same fold on its grid).
        centre = np.arcsin(np.sqrt(target))
        lower = np.sin(np.clip(centre - spread, 0, np.pi / 2)) ** 2
        upper = np.sin(np.clip(centre + spread, 0, np.pi / 2)) ** 2
        return lower, upper
    if data_type == "SR" and sr_method == "CQC":
        # The square-root scale is squared back (FunnelPlotR#33 returns 1 +/- spread instead).
        # A negative lower root would square to a positive limit, so it stops at zero.
        root = np.sqrt(target)
        return np.clip(root - spread, 0, None) ** 2, (root + spread) ** 2
    # SHMI and RC work on the log scale.
    return target * np.exp(-spread), target * np.exp(spread)


def _limit_table(
    denominator, data_type, sr_method, target, tau2, adjusted
) -> dict[str, np.ndarray]:
    columns: dict[str, np.ndarray] = {}
    for level, (low_name, high_name) in ((95, ("LCL95", "UCL95")), (99, ("LCL99", "UCL99"))):
        if data_type == "SR":
            low, high = _poisson_limits(denominator, target, level)
        else:
            # PR and RC have no exact form in FunnelPlotR: the unadjusted limits are the
            # normal approximation with tau^2 = 0.
            low, high = _normal_limits(denominator, data_type, sr_method, target, 0.0, level)
        columns[low_name], columns[high_name] = low, high
    if adjusted:
        for level, (low_name, high_name) in (
            (95, ("OD95LCL", "OD95UCL")),
            (99, ("OD99LCL", "OD99UCL")),
        ):
            columns[low_name], columns[high_name] = _normal_limits(
                denominator, data_type, sr_method, target, tau2, level
            )
    return columns


def funnel_limits(
    denominators,
    *,
    data_type: str = "SR",
    target: float | None = None,
    tau2: float = 0.0,
    sr_method: str = "SHMI",
    adjusted: bool = True,
) -> pd.DataFrame:
    """Funnel limits on a grid of denominators, for drawing the funnel lines.

    Returns ``denominator`` and the unadjusted ``LCL95 UCL95 LCL99 UCL99``, then (when
    ``adjusted``) the overdispersed ``OD95LCL OD95UCL OD99LCL OD99UCL`` for the given
    ``tau2``. Pass ``target``, ``tau2`` and ``sr_method`` from a ``funnel()`` result's
    ``attrs`` so the lines match its rows. ``target`` may be left out only for SR (1).
    """
    _check_options(data_type, sr_method, 95, 0.1)
    grid = _as_floats(denominators, "denominators")
    if not (np.isfinite(grid).all() and (grid > 0).all()):
        raise ValueError("funnel_limits needs positive, finite denominators.")
    if target is None:
        if data_type != "SR":
            raise ValueError(
                f"funnel_limits needs the target for {data_type} data "
                "(funnel() reports it in attrs)."
            )
        target = 1.0
    target = _check_target(data_type, target)
    if not (np.isfinite(tau2) and tau2 >= 0):
        raise ValueError(f"tau2 must be a non-negative number, not {tau2!r}.")
    limits = _limit_table(grid, data_type, sr_method, target, float(tau2), adjusted)
    return pd.DataFrame({"denominator": grid, **limits})


# ---------------------------------------------------------------------------------------
# The funnel plot.


def _shmi_zero_check(z, trimmed, labels, draw_adjusted) -> bool:
    """A unit with no observed events sits at minus infinity on the log scale. If truncation
    has not removed it, phi would be infinite: refuse when adjustment was asked for,
    otherwise report phi as unknown."""
    kept_infinite = ~np.isfinite(z) & ~trimmed
    if not kept_infinite.any():
        return True
    if draw_adjusted:
        raise ValueError(
            f"Group '{labels[np.argmax(kept_infinite)]}' has no observed events, "
            "so its SHMI log-scale z-score is minus infinity and overdispersion cannot be "
            "estimated; use sr_method='CQC' or draw_adjusted=False."
        )
    return False


def funnel(
    numerator,
    denominator,
    group=None,
    *,
    data_type: str = "SR",
    sr_method: str = "SHMI",
    limit: int = 99,
    trim_by: float = 0.1,
    draw_adjusted: bool = True,
    target: float | None = None,
) -> pd.DataFrame:
    """One row per group: ratio, unadjusted and overdispersed funnel limits, outlier flag.

    ``data_type``: "SR" indirectly standardised ratio (numerator observed, denominator
    expected), "PR" proportion (events, cases), "RC" ratio of counts. ``sr_method`` (SR
    only): "SHMI" (log scale, truncation) or "CQC" (square-root scale, winsorisation).
    ``limit``: 95 or 99 (99.8 %) decides the outlier flag, which uses the overdispersed
    limits when ``draw_adjusted`` and phi > 1, otherwise the unadjusted ones.
    Rows sharing a group are summed first. ``attrs`` carries phi, tau2, target, adjusted,
    n_used, n_trimmed, limit, data_type and sr_method. See docs/funnel-plots.md.
    """
    _check_options(data_type, sr_method, limit, trim_by)
    num = _as_floats(numerator, "numerator")
    den = _as_floats(denominator, "denominator")
    if len(num) != len(den):
        raise ValueError(
            f"numerator has {len(num)} values but denominator has {len(den)}; "
            "give one of each per row."
        )
    if len(num) == 0:
        raise ValueError("A funnel plot needs at least one group.")
    labels = _group_labels(group, len(num))
    _check_rows(num, den, labels)
    num, den, labels = _aggregate(num, den, labels)
    _check_units(num, den, labels, data_type)
    target = _check_target(
        data_type, _default_target(data_type, num, den) if target is None else target
    )

    z, s = _z_scores(num, den, data_type, sr_method, target)
    method = "truncate" if (data_type == "SR" and sr_method == "SHMI") else "winsorise"
    od = estimate_overdispersion(z, s, method=method, trim_by=trim_by)
    phi, tau2 = od.phi, od.tau2
    if method == "truncate" and not _shmi_zero_check(z, od.trimmed, labels, draw_adjusted):
        phi, tau2 = float("nan"), 0.0
    # FunnelPlotR's rule: adjust only when there is more spread than chance (phi > 1).
    adjusted = bool(draw_adjusted and phi > 1)

    limits = _limit_table(den, data_type, sr_method, target, tau2, adjusted=True)
    rr = num / den
    suffix = "95" if limit == 95 else "99"
    low, high = (
        (limits[f"OD{suffix}LCL"], limits[f"OD{suffix}UCL"])
        if adjusted
        else (limits[f"LCL{suffix}"], limits[f"UCL{suffix}"])
    )
    # Inclusive bounds: a unit exactly on a limit is not an outlier.
    outlier_high, outlier_low = rr > high, rr < low

    result = pd.DataFrame(
        {
            "group": labels,
            "numerator": num,
            "denominator": den,
            "rr": rr,
            **limits,
            "outlier": outlier_high | outlier_low,
            "outlier_high": outlier_high,
            "outlier_low": outlier_low,
            "z": z,
            "trimmed": od.trimmed,
        }
    )
    result.attrs.update(
        phi=phi,
        tau2=tau2,
        target=target,
        adjusted=adjusted,
        n_used=od.n_used,
        n_trimmed=int(od.trimmed.sum()),
        limit=limit,
        data_type=data_type,
        sr_method=sr_method,
        trim_by=trim_by,
    )
    return result
