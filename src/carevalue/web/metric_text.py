"""How a metric's figures read on a page: formats by kind, direction of good in words,
and what changed between two periods, in a sentence (pure)."""

from __future__ import annotations

from carevalue.reports import display

DIRECTION_WORDS = {
    "higher_is_better": "higher is better",
    "lower_is_better": "lower is better",
    "increase": "higher is better",
    "decrease": "lower is better",
    "neutral": "neither higher nor lower is better",
}


def show(kind: str, metric: str, value) -> str:
    return display.figure_format(kind, metric)(value) if not display.missing(value) else ""


def shown_interval(kind: str, metric: str, lower, upper) -> str:
    return display.interval(lower, upper, display.figure_format(kind, metric))


def with_shown(table, kind: str = "metric_kind"):
    """A copy of a metrics table (``group_metrics`` columns) with ``value_shown`` and
    ``interval_shown``: each figure as its kind shows (rates %, money £)."""
    table = table.copy()
    kinds, metrics = table[kind].tolist(), table["metric"].tolist()
    table["value_shown"] = [
        show(k, m, v) for k, m, v in zip(kinds, metrics, table["value"], strict=True)
    ]
    table["interval_shown"] = [
        shown_interval(k, m, lo, hi)
        for k, m, lo, hi in zip(kinds, metrics, table["lower"], table["upper"], strict=True)
    ]
    return table


def metric_direction(pack, metric: str) -> str:
    """higher_is_better, lower_is_better or neutral, from the pack's outcome or the metric's
    nature (cost lower is better; value higher is better; cost per good lower)."""
    outcome_id = metric.split("__", 1)[0]
    for outcome in pack.outcomes:
        if outcome.id == outcome_id:
            return (
                "lower_is_better"
                if metric.endswith("__oe") and outcome.direction == "lower_is_better"
                else (outcome.direction)
            )
    if metric.startswith("cost_") or metric.endswith("__cost_per_good"):
        return "lower_is_better"
    if metric.endswith("__per_100k"):
        return "higher_is_better"
    return "neutral"


def change_sentence(
    kind: str, metric: str, direction: str, latest: dict, previous: dict | None
) -> str:
    """What changed since the last period, in words, saying whether the intervals overlap
    (so a reader does not take noise for change) and whether the move is for the better."""
    if previous is None or display.missing(previous.get("value")):
        return f"{latest['period']}: no earlier period to compare with."
    now, before = latest["value"], previous["value"]
    fmt = display.figure_format(kind, metric)
    if now == before:
        return f"Unchanged from {previous['period']} ({fmt(before)})."
    moved = "Up" if now > before else "Down"
    sentence = (
        f"{moved} from {fmt(before)} in {previous['period']} to {fmt(now)} in {latest['period']}"
    )
    overlap = (
        not (display.missing(latest.get("lower")) or display.missing(previous.get("upper")))
        and latest["lower"] <= previous["upper"]
        and previous["lower"] <= latest["upper"]
    )
    if overlap:
        return sentence + "; the intervals overlap, so this may be chance."
    better = (now > before) == (direction == "higher_is_better")
    if direction not in ("higher_is_better", "lower_is_better"):
        return sentence + "."
    return sentence + (": better, beyond chance." if better else ": worse, beyond chance.")
