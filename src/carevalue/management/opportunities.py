"""Improvement opportunities found in a run's published tables (pure: frames in, a frame out).

``find_opportunities`` reads the tables a run publishes (``metric_spc``, ``metric_funnel``,
``episode_costs``) and returns one row per opportunity, ranked by ``score``. Each kind has
one threshold rule, chosen so that a stable process of pure noise rarely crosses it, and
``title`` is a headline (at most 200 characters), ``reason`` the sentence saying why;
``score`` is scaled so that **3 is the threshold of every kind** and larger is stronger.
``key`` names what an opportunity concerns (kind, condition, metric, stage, resource,
segment), not when, so the same opportunity keeps its key from run to run:

- ``spc_signal``: the latest observed point of a charted monthly series (current rebase
  group) is a special cause under the Making Data Count rules (NHS England, *Making Data
  Count*, 2019; as ``carevalue.stats.spc`` computes them), and that point falls within
  3 months of the condition's newest charted month. Score: the point's distance from
  the centre line in sigmas (sigma = (upper limit - mean) / 3), at least 3.
- ``funnel_outlier``: a site or team outside the 99.8 % funnel limits (overdispersion-
  adjusted when the run's funnel found more spread than chance; Spiegelhalter, *Stat Med*
  2005;24:1185) in the latest year charted. Score: 3 x its distance from the target over
  the distance of the limit it crossed.
- ``unwarranted_variation``: the sites or teams of a case-mix-adjusted outcome (observed /
  expected) differ more than chance allows: the funnel's overdispersion ``phi`` over the
  units it used, tested against chi-square with n - 1 degrees of freedom, p < 0.002 (the
  99.8 % of the funnel limits; Spiegelhalter, *Qual Saf Health Care* 2005;14:347). Score: the test's
  normal deviate, scaled so that p = 0.002 scores 3.
- ``cost_driver``: a pathway stage or a resource whose mean cost per episode is at least
  twice the mean over the condition's stages (or resources), i.e. at least twice its even
  share. Score: 3 x (its cost per episode) / (twice the even share).
- ``cost_variation``: a stage or resource whose cost per episode (among the episodes that
  used it) has a coefficient of variation of at least 1 (spread as large as the mean).
  Score: 3 x the coefficient of variation.

Cost figures need at least ``min_episodes`` episodes (the disclosure floor, 10 by default).
The account a clinical director reads is docs/management.md.
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import urlencode

import numpy as np
import pandas as pd
from scipy import stats

__all__ = [
    "COST_CV_THRESHOLD",
    "COST_SHARE_MULTIPLE",
    "KINDS",
    "OPPORTUNITY_COLUMNS",
    "THRESHOLD_SCORE",
    "VARIATION_P",
    "find_opportunities",
    "labels_from",
]

KINDS = ("spc_signal", "funnel_outlier", "unwarranted_variation", "cost_driver", "cost_variation")
OPPORTUNITY_COLUMNS = [
    "key",
    "condition",
    "kind",
    "title",
    "metric",
    "stage",
    "resource",
    "segment_type",
    "segment",
    "period",
    "direction",
    "score",
    "reason",
    "page",
    "query",
]
THRESHOLD_SCORE = 3.0
COST_SHARE_MULTIPLE = 2.0
COST_CV_THRESHOLD = 1.0
VARIATION_P = 0.002
MIN_EPISODES = 10
RECENT_MONTHS = 3  # an SPC signal's latest point is within 3 months of its condition's newest
DEFAULT_SEGMENT_TYPES = ("all", "site", "team")

_RULE_WORDS = {
    "astronomical": "a point beyond the process limits",
    "shift": "a run of 7 or more points on one side of the mean",
    "trend": "7 or more points rising or falling in a row",
    "two_in_three": "2 of 3 points close to or beyond a limit",
}
_POINT_DIRECTION = {
    "special_cause_improvement": "improvement",
    "special_cause_concern": "concern",
}
_GROUP_SEGMENTS = ("age_band", "sex", "imd_quintile", "ethnic_group")


def labels_from(metric_series: pd.DataFrame) -> dict[tuple[str, str], str]:
    """(condition, metric) -> the metric's label, read from a run's ``metric_series``."""
    first = metric_series.drop_duplicates(["condition", "metric"])
    return {
        (c, m): str(label)
        for c, m, label in zip(first["condition"], first["metric"], first["label"], strict=True)
    }


def find_opportunities(
    *,
    metric_spc: pd.DataFrame | None = None,
    metric_funnel: pd.DataFrame | None = None,
    episode_costs: pd.DataFrame | None = None,
    labels: Mapping[tuple[str, str], str] | None = None,
    directions: Mapping[tuple[str, str], str] | None = None,
    segment_types: tuple[str, ...] = DEFAULT_SEGMENT_TYPES,
    min_episodes: int = MIN_EPISODES,
) -> pd.DataFrame:
    """Every opportunity the given tables show, strongest first (columns
    ``OPPORTUNITY_COLUMNS``).

    ``labels``: (condition, metric) -> words for the metric (see ``labels_from``); the id is
    used otherwise. ``directions``: (condition, metric) -> "increase" / "decrease" /
    "neutral", for funnels; read from ``metric_spc``'s ``improvement`` when not given.
    ``segment_types``: which SPC series to read (everyone, sites and teams by default; the
    population groups belong to the equity page). A table left out adds no rows.
    """
    labels = dict(labels or {})
    known = dict(directions or {})
    if metric_spc is not None and not metric_spc.empty:
        first = metric_spc.drop_duplicates(["condition", "metric"])
        for c, m, d in zip(first["condition"], first["metric"], first["improvement"], strict=True):
            known.setdefault((c, m), str(d))
    parts = []
    if metric_spc is not None:
        parts.append(_spc_signals(metric_spc, labels, segment_types))
    if metric_funnel is not None:
        parts.append(_funnel_outliers(metric_funnel, labels, known))
        parts.append(_unwarranted_variation(metric_funnel, labels))
    if episode_costs is not None:
        parts.append(_cost_opportunities(episode_costs, min_episodes))
    rows = [row for part in parts for row in part]
    frame = pd.DataFrame(rows, columns=OPPORTUNITY_COLUMNS)
    if frame.empty:
        return frame.astype({"score": float})
    # The same opportunity in the next run has the same key, so a dismissal can follow it.
    parts_of_key = ["kind", "condition", "metric", "stage", "resource", "segment_type", "segment"]
    frame["key"] = frame[parts_of_key].fillna("").astype(str).agg(":".join, axis=1)
    frame = frame.sort_values(
        ["score", "condition", "kind"], ascending=[False, True, True], kind="stable"
    )
    return frame.reset_index(drop=True)


# --------------------------------------------------------------------------------------
# Helpers


def _label(labels, condition: str, metric: str) -> str:
    return labels.get((condition, metric), metric.replace("_", " "))


def _where(segment_type: str, segment: str) -> str:
    if segment_type in ("all", "", None):
        return "everyone"
    return f"{segment_type.replace('_', ' ')} {segment}"


def _number(value: float) -> str:
    if not np.isfinite(value):
        return "no value"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    return f"{value:.3g}"


def _money(value: float) -> str:
    return f"£{value:,.0f}"


def _query(**pairs) -> str:
    return urlencode({k: v for k, v in pairs.items() if v not in (None, "")})


def _segment_filter(segment_type: str, segment: str) -> dict[str, str]:
    if segment_type in ("site", "team"):
        return {segment_type: segment}
    if segment_type in _GROUP_SEGMENTS:
        return {"group": f"{segment_type}:{segment}"}
    return {}


TITLE_LENGTH = 200


def _row(**values) -> dict:
    row = dict.fromkeys(OPPORTUNITY_COLUMNS)
    row.update(values)
    title = row["title"] or ""
    row["title"] = title if len(title) <= TITLE_LENGTH else title[: TITLE_LENGTH - 1] + "…"
    return row


# --------------------------------------------------------------------------------------
# SPC special causes


def _spc_signals(spc_rows: pd.DataFrame, labels, segment_types) -> list[dict]:
    keys = ["condition", "metric", "segment_type", "segment"]
    rows = spc_rows[spc_rows["segment_type"].isin(segment_types) & spc_rows["y"].notna()]
    if rows.empty:
        return []
    latest = rows.sort_values("date", kind="stable").groupby(keys, sort=False).tail(1)
    # A series whose data stopped (a site that closed) says nothing about now.
    newest = latest.groupby("condition")["date"].transform("max")
    current = latest["date"] > newest - pd.DateOffset(months=RECENT_MONTHS)
    latest = latest[current & latest["special_cause_flag"].astype(bool)]
    found = []
    for point in latest.itertuples(index=False):
        direction = _POINT_DIRECTION.get(str(point.point_type))
        if direction is None:  # a neutral measure's special cause: no better side
            continue
        sigma = (point.upl - point.mean) / 3
        distance = abs(point.y - point.mean) / sigma if sigma > 0 else THRESHOLD_SCORE
        score = max(THRESHOLD_SCORE, float(distance))
        month = pd.Timestamp(point.date).strftime("%b %Y")
        rule = _RULE_WORDS.get(str(point.rule), str(point.rule))
        what = _label(labels, point.condition, point.metric)
        reason = (
            f"{what}, {_where(point.segment_type, point.segment)}: "
            f"the latest month ({month}, {_number(point.y)}) is a special cause of {direction} "
            f"against a mean of {_number(point.mean)} ({rule}, Making Data Count rules)."
        )
        found.append(
            _row(
                condition=point.condition,
                kind="spc_signal",
                title=f"{what}: special cause of {direction} "
                f"({_where(point.segment_type, point.segment)})",
                metric=point.metric,
                segment_type=point.segment_type,
                segment=point.segment,
                period=month,
                direction=direction,
                score=score,
                reason=reason,
                page="spc",
                query=_query(
                    metric=point.metric, **_segment_filter(point.segment_type, point.segment)
                ),
            )
        )
    return found


# --------------------------------------------------------------------------------------
# Funnels: outlying units, and more spread between units than chance


def _latest_funnels(funnel_rows: pd.DataFrame) -> pd.DataFrame:
    keys = ["condition", "metric", "segment_type"]
    if funnel_rows.empty:
        return funnel_rows
    latest = funnel_rows.groupby(keys)["period"].transform("max")
    return funnel_rows[funnel_rows["period"] == latest]


def _funnel_outliers(funnel_rows: pd.DataFrame, labels, directions) -> list[dict]:
    rows = _latest_funnels(funnel_rows)
    rows = rows[rows["outlier"].astype(bool)] if not rows.empty else rows
    found = []
    for unit in rows.itertuples(index=False):
        high = bool(unit.outlier_high)
        adjusted = bool(unit.adjusted)
        low_limit, high_limit = (
            (unit.OD99LCL, unit.OD99UCL) if adjusted else (unit.LCL99, unit.UCL99)
        )
        limit = high_limit if high else low_limit
        span = abs(limit - unit.target)
        score = THRESHOLD_SCORE * abs(unit.rr - unit.target) / span if span > 0 else THRESHOLD_SCORE
        improvement = directions.get((unit.condition, unit.metric), "neutral")
        good_side = {"increase": True, "decrease": False}.get(improvement)
        direction = "improvement" if good_side is not None and good_side == high else "concern"
        what = "observed / expected ratio" if unit.data_type == "SR" else "rate"
        side = "above" if high else "below"
        name = _label(labels, unit.condition, unit.metric)
        reason = (
            f"{name}: {_where(unit.segment_type, unit.segment)} "
            f"has a {what} of {_number(unit.rr)} in {unit.period}, {side} the 99.8% funnel limit "
            f"({_number(limit)}) around {_number(unit.target)}"
            f"{', allowing for overdispersion' if adjusted else ''}: more than chance explains."
        )
        found.append(
            _row(
                condition=unit.condition,
                kind="funnel_outlier",
                title=f"{name}: {_where(unit.segment_type, unit.segment)} outside the funnel",
                metric=unit.metric,
                segment_type=unit.segment_type,
                segment=unit.segment,
                period=unit.period,
                direction=direction,
                score=float(score),
                reason=reason,
                page="outcomes",
                query=_query(metric=unit.metric, period=unit.period),
            )
        )
    return found


def _unwarranted_variation(funnel_rows: pd.DataFrame, labels) -> list[dict]:
    rows = _latest_funnels(funnel_rows)
    if rows.empty:
        return []
    rows = rows[rows["data_type"] == "SR"]  # observed / expected: adjusted for case mix
    found = []
    keys = ["condition", "metric", "segment_type", "period"]
    for (condition, metric, segment_type, period), units in rows.groupby(keys, sort=True):
        # phi is the mean squared z of the units it used: all of them when winsorised
        # (CQC), those left after truncation (SHMI).
        winsorised = units["sr_method"].iloc[0] == "CQC"
        kept = len(units) if winsorised else int((~units["trimmed"].astype(bool)).sum())
        phi = float(units["phi"].iloc[0])
        if kept < 3 or not np.isfinite(phi):
            continue
        p = float(stats.chi2.sf(phi * kept, kept - 1))
        if p >= VARIATION_P:
            continue
        z = float(stats.norm.isf(max(p, 1e-300)))
        score = THRESHOLD_SCORE * z / float(stats.norm.isf(VARIATION_P))
        lowest, highest = units["rr"].min(), units["rr"].max()
        reason = (
            f"{_label(labels, condition, metric)}: after case-mix adjustment the "
            f"{segment_type}s range from {_number(lowest)} to {_number(highest)} times the "
            f"expected in {period}, more spread than chance allows (overdispersion "
            f"{_number(phi)}, p = {p:.2g})."
        )
        found.append(
            _row(
                condition=condition,
                kind="unwarranted_variation",
                title=f"{_label(labels, condition, metric)}: more variation between "
                f"{segment_type}s than chance",
                metric=metric,
                segment_type=segment_type,
                period=period,
                direction="concern",
                score=score,
                reason=reason,
                page="outcomes",
                query=_query(metric=metric, period=period),
            )
        )
    return found


# --------------------------------------------------------------------------------------
# Costs: what drives the cost per episode, and what varies most


def _cost_opportunities(costs: pd.DataFrame, min_episodes: int) -> list[dict]:
    found = []
    # Amounts arrive as decimals (whole pennies); a mean and a spread need floats.
    costs = costs.assign(amount=pd.to_numeric(costs["amount"].astype(float)))
    for condition, rows in costs.groupby("condition", sort=True):
        episodes = rows["episode_id"].nunique()
        if episodes < min_episodes:
            continue
        for part in ("stage", "resource"):
            per_episode = rows.groupby([part, "episode_id"], sort=True)["amount"].sum()
            found += _drivers(condition, part, per_episode, episodes)
            found += _variable(condition, part, per_episode, min_episodes)
    return found


def _drivers(condition: str, part: str, per_episode: pd.Series, episodes: int) -> list[dict]:
    mean_cost = per_episode.groupby(level=0).sum() / episodes  # over every episode
    mean_cost = mean_cost[mean_cost > 0]
    if len(mean_cost) < 2:
        return []
    bar = COST_SHARE_MULTIPLE * mean_cost.mean()
    total = mean_cost.sum()
    found = []
    for name, cost in mean_cost[mean_cost >= bar].items():
        reason = (
            f"The {name} {part} costs {_money(cost)} per episode on average, "
            f"{cost / total:.0%} of the {_money(total)} a care cycle costs: at least "
            f"{COST_SHARE_MULTIPLE:g} times the even share across {len(mean_cost)} {part}s."
        )
        found.append(_cost_row(condition, part, name, "cost_driver", cost / bar, reason))
    return found


def _variable(condition: str, part: str, per_episode: pd.Series, min_episodes: int) -> list[dict]:
    found = []
    for name, amounts in per_episode.groupby(level=0):
        used = amounts[amounts > 0]
        if len(used) < min_episodes or used.mean() <= 0:
            continue
        cv = float(used.std(ddof=1) / used.mean())
        if cv < COST_CV_THRESHOLD:
            continue
        reason = (
            f"The {name} {part} varies most between episodes: {_money(used.mean())} on "
            f"average with a standard deviation of {_money(used.std(ddof=1))} "
            f"(coefficient of variation {cv:.2f}, from {_money(used.min())} to "
            f"{_money(used.max())} over {len(used)} episodes)."
        )
        found.append(
            _cost_row(condition, part, name, "cost_variation", cv / COST_CV_THRESHOLD, reason)
        )
    return found


def _cost_row(condition, part, name, kind, ratio, reason) -> dict:
    heading = "Cost driver" if kind == "cost_driver" else "Variable cost"
    return _row(
        condition=condition,
        kind=kind,
        title=f"{heading}: the {name} {part}",
        metric="cost_mean",
        stage=name if part == "stage" else None,
        resource=name if part == "resource" else None,
        segment_type="all",
        segment="all",
        direction="concern",
        score=THRESHOLD_SCORE * float(ratio),
        reason=reason,
        page="cost",
        query=_query(**{part: name}),
    )
