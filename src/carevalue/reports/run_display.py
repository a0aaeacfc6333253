"""A run's report as a person reads it: the rows of its tables and its sentences, shown
with the display rules (``reports.display``). The command line prints these; the web
application shows the same."""

from __future__ import annotations

from carevalue.costing import CostingSummary
from carevalue.reports.display import figure_format, interval, money
from carevalue.runs import RunReport
from carevalue.value import HeadlineRow, OutcomeSummary

EPISODE_HEADINGS = ("condition", "episodes", "activities by stage")
HEADLINE_HEADINGS = ("measure", "figure", "95% interval", "episodes")


def episode_rows(report: RunReport) -> list[tuple[str, str, str]]:
    rows = []
    for condition, p in report.packs.items():
        stages = ", ".join(f"{stage} {n:,}" for stage, n in p.activities_by_stage.items())
        rows.append((condition, f"{p.episodes:,}", stages))
    return rows


def costing_lines(c: CostingSummary) -> list[str]:
    if c.source == "plics":
        first = (
            f"Costing (rules {c.rules_version}): cost quantum {_pounds(c.cost_quantum)}, "
            f"allocated to activities {_pounds(c.allocated_to_activities)} (reconciled to the "
            f"penny), of which in care-cycle episodes {_pounds(c.in_episodes)}."
        )
    else:
        first = (
            f"Costing (imported per-activity costs): {_pounds(c.imported_total)} imported, of "
            f"which in care-cycle episodes {_pounds(c.in_episodes)}."
        )
    return [first] + [
        f"  {condition:<24} mean whole-pathway cost per episode {money(f.mean_cost)} "
        f"({f.episodes:,} episodes)"
        for condition, f in c.by_condition.items()
    ]


def headline_title(condition: str) -> str:
    return f"{condition}: outcomes and value, all episodes (95% intervals)"


def headline_rows(rows: list[HeadlineRow]) -> list[tuple[str, str, str, str]]:
    """Measure, figure, interval, episodes; a metric without a figure shows its note."""
    shown = []
    for row in rows:
        if row.value is None:
            shown.append((row.label, row.note or "—", "", f"{row.n_used:,}"))
            continue
        show = figure_format(row.kind, row.metric)
        figure, between = show(row.value), interval(row.lower, row.upper, show)
        shown.append((row.label, figure, between, f"{row.n_used:,}"))
    return shown


def outcome_lines(outcomes: OutcomeSummary) -> list[str]:
    """The sentences after the headline tables: scores left blank, SPC, risk models."""
    lines = []
    for condition, blanks in outcomes.scores_left_blank.items():
        absent = {score: n for score, n in blanks.items() if n}
        if absent:
            listing = ", ".join(f"{score} for {n:,} episodes" for score, n in absent.items())
            lines.append(
                f"Case-mix scores left blank for want of their inputs, {condition}: {listing}."
            )
    for condition, icons in outcomes.spc.items():
        special = {k: v for k, v in icons.items() if k != "common_cause"}
        named = [f"{n} {icon.replace('_', ' ')}" for icon, n in sorted(special.items())]
        listing = ", ".join(named) or "none"
        lines.append(
            f"SPC, {condition}: {sum(icons.values())} monthly metrics charted for all patients; "
            f"special cause at the latest month: {listing} (metric_spc_icons)."
        )
    for model in outcomes.models:
        where = f"{model.condition}/{model.outcome_id}"
        if model.fitted and model.family == "logistic":
            lines.append(
                f"Risk model {where}: {model.reason} ({model.events:,} events), "
                f"c-statistic {model.c_statistic:.2f}."
            )
        elif model.fitted:
            lines.append(f"Risk model {where} ({model.family}): {model.reason}.")
        else:
            lines.append(f"Risk model {where}: {model.reason}.")
    return lines


def _pounds(value: float) -> str:
    return money(value, places=2)
