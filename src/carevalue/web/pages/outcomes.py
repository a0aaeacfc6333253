"""Outcomes: each outcome of the pack with its Porter tier, direction of good, timepoint,
figure, 95% interval and completeness; observed / expected where a risk model was fitted;
funnel plots across sites and teams; Kaplan-Meier survival where the pack counts deaths
within N days; PROM response and who answered; and the risk models themselves.

Every figure comes from :func:`carevalue.value.metric_series.group_metrics` over the
filtered episodes (the same definitions and suppression as the run's metric_series), the
run's precomputed tables (metric_funnel, prom_response, risk_models) where they match the
filters, or carevalue.stats on the filtered episodes. Charts are drawn from each panel's
table after disclosure control, so a chart never shows what its table hides.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from carevalue.disclosure import TOO_FEW
from carevalue.packs.measures import PromScore
from carevalue.reports import display
from carevalue.stats.funnel import funnel_limits
from carevalue.stats.survival import kaplan_meier
from carevalue.value import (
    MIN_FUNNEL_GROUPS,
    OE_SUFFIX,
    funnel_charts,
    group_metrics,
    is_binary,
    prom_response,
)
from carevalue.web import charts
from carevalue.web.filters import SEGMENT_LABELS
from carevalue.web.metric_text import DIRECTION_WORDS, shown_interval, with_shown
from carevalue.web.pages import PageContext
from carevalue.web.panels import Column, Disclosure, Page, Panel

TIERS = {
    1: "1: health status achieved or retained",
    2: "2: process of recovery",
    3: "3: sustainability of health",
}
FUNNEL_PERIOD_TYPE = "financial_year"  # the period type the run's metric_funnel uses
KM_MIN_GROUP = 20  # fewest episodes for a site's own survival curve
LIMIT_GRID = 30  # points on each drawn funnel limit


def build(ctx: PageContext) -> Page:
    episodes = ctx.episodes
    page = Page(
        title="Outcomes",
        lead=(
            f"{len(episodes):,} episodes ({ctx.filters.describe()}). Each outcome of the "
            f"{ctx.pack.governance.name.lower()} pack with its Porter tier, how complete "
            "its measurement is, how sites and teams compare after case mix, survival, "
            "and who answered the patient-reported measures."
        ),
    )
    if episodes.empty:
        page.messages.append("No episodes match these filters.")
        return page
    overall = group_metrics(ctx.pack, episodes)
    page.panels.append(outcome_panel(ctx, overall))
    if any(o.risk_model is not None for o in ctx.pack.outcomes):
        page.panels.append(observed_expected_panel(ctx, overall))
    for segment_type in ("site", "team"):
        panel = funnel_panel(ctx, segment_type)
        if panel is not None:
            page.panels.append(panel)
        else:
            page.messages.append(
                f"{SEGMENT_LABELS[segment_type]}s are not compared: these episodes come from "
                f"one {segment_type} only."
            )
    survival = survival_panel(ctx)
    if survival is not None:
        page.panels.append(survival)
    if any(isinstance(o, PromScore) for o in ctx.pack.outcomes):
        response, comparison = prom_panels(ctx)
        page.panels.extend([response, comparison])
    page.panels.append(risk_model_panel(ctx))
    return page


def _drawn(ctx: PageContext, panel: Panel, draw) -> Panel:
    """The panel through disclosure for this role, then its chart drawn from what is left,
    so the chart shows exactly the figures its table shows. (The view protects it again,
    which changes nothing.)"""
    panel = ctx.protect(panel)
    panel.figure = draw(panel.table) if not panel.table.empty else None
    return panel


def _outcome_facts(ctx: PageContext) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "metric": o.id,
                "tier": o.tier,
                "tier_text": TIERS[o.tier],
                "direction": o.direction,
                "direction_text": DIRECTION_WORDS[o.direction],
                "timepoint": o.timepoint,
                "timepoint_text": _timepoint(o.timepoint),
                "definition": o.definition,
                "source": o.source,
            }
            for o in ctx.pack.outcomes
        ]
    )


def _timepoint(timepoint: str) -> str:
    if timepoint.endswith("d") and timepoint[:-1].isdigit():
        return f"{int(timepoint[:-1]):,} days after the index event"
    return {
        "discharge": "at discharge",
        "cycle_end": "end of the care cycle",
        "cycle_end_event": "the event that ends the care cycle",
    }.get(timepoint, timepoint)


# ------------------------------------------------------------------------- every outcome


def outcome_panel(ctx: PageContext, overall: pd.DataFrame) -> Panel:
    facts = _outcome_facts(ctx)
    table = overall.merge(facts, on="metric", how="inner")
    table = table.sort_values(["tier", "metric"], kind="stable").reset_index(drop=True)
    table = with_shown(table)
    due = pd.to_numeric(table["n_due"], errors="coerce")
    table["completeness"] = np.where(due > 0, table["n_used"] / due.where(due > 0), np.nan)
    panel = Panel(
        id="outcomes",
        title="Every outcome, with its tier and completeness",
        sentence=(
            f"Each outcome over {ctx.filters.describe()}: its rate or mean with a 95% "
            "interval, and how many of the episodes due it was measured for; the chart "
            "shows the rates."
        ),
        table=table,
        columns=[
            Column("label", "Outcome"),
            Column("tier_text", "Porter tier"),
            Column("direction_text", "Direction of good"),
            Column("timepoint_text", "Timepoint"),
            Column("value_shown", "Rate or mean"),
            Column("interval_shown", "95% interval"),
            Column("n_used", "Episodes measured", "count"),
            Column("n_due", "Episodes due", "count"),
            Column("completeness", "Completeness", "rate"),
            Column("note", "Note"),
        ],
        # Each row is its own outcome: no row adds up with another, so no secondary blanking.
        disclosure=Disclosure(
            "n_used",
            (
                "value",
                "lower",
                "upper",
                "numerator",
                "denominator",
                "value_shown",
                "interval_shown",
            ),
            within=("metric",),
        ),
        understand={
            "Definitions": " ".join(
                f"{lab}: {d}" for lab, d in zip(table["label"], table["definition"], strict=True)
            ),
            "Measured and due": "Due counts the episodes the outcome was owed for (measured "
            "or missing); measured counts those with a value whose window "
            "has closed. Completeness is measured over due.",
            "Intervals": "Wilson for rates, t for means (docs/outcomes.md).",
            "Porter tiers": "1 health status achieved or retained, 2 process of recovery, "
            "3 sustainability of health.",
            "Source": f"Run {ctx.run_id}, condition pack {ctx.pack.id} "
            f"v{ctx.pack.governance.version}.",
            "Small numbers": f"Figures resting on fewer than {ctx.min_cell} measured episodes "
            "are shown as 'too few to report'.",
        },
    )
    return _drawn(ctx, panel, _rate_dots)


def _interval_dots(shown: pd.DataFrame, *, name: str, hover: str) -> tuple[list, dict]:
    """One dot per row (labels top to bottom) with its 95% interval as whiskers."""
    data = [
        {
            "type": "scatter",
            "mode": "markers",
            "name": name,
            "x": charts.clean(shown["value"]),
            "y": shown["label"].tolist(),
            "error_x": {
                "type": "data",
                "symmetric": False,
                "array": charts.clean(shown["upper"] - shown["value"]),
                "arrayminus": charts.clean(shown["value"] - shown["lower"]),
                "color": charts.GREY,
            },
            "marker": {"color": charts.BLUE, "size": 9},
            "hovertemplate": f"%{{y}}: {hover}<extra></extra>",
        }
    ]
    layout = charts.layout(x_title=name, height=120 + 34 * len(shown), legend=False)
    layout["yaxis"]["automargin"] = True
    return data, layout


def _rate_dots(table: pd.DataFrame) -> dict | None:
    rates = table[(table["metric_kind"] == "rate") & table["value"].notna()].iloc[::-1]
    if rates.empty:
        return None
    data, layout = _interval_dots(rates, name="Rate (95% interval)", hover="%{x:.1%}")
    layout["xaxis"]["tickformat"] = ".0%"
    layout["xaxis"]["rangemode"] = "tozero"
    return {"data": data, "layout": layout}


# -------------------------------------------------------------- observed / expected


def _risk_models(ctx: PageContext) -> pd.DataFrame:
    models = ctx.table("risk_models")
    if models.empty:
        return pd.DataFrame(
            columns=[
                "outcome_id",
                "family",
                "fitted",
                "reason",
                "n",
                "events",
                "c_statistic",
                "fit_on",
                "suppressed",
                "note",
            ]
        )
    models = models.copy()
    models["c_statistic"] = pd.to_numeric(models["c_statistic"], errors="coerce")
    return models


def observed_expected_panel(ctx: PageContext, overall: pd.DataFrame) -> Panel:
    table = overall[overall["metric"].str.endswith(OE_SUFFIX)].copy()
    table["outcome_id"] = table["metric"].str.removesuffix(OE_SUFFIX)
    models = _risk_models(ctx)[["outcome_id", "fitted", "reason"]]
    table = table.merge(models, on="outcome_id", how="left")
    table["model"] = [
        "no model in this run" if display.missing(f) else ("fitted: " if f else "") + str(r)
        for f, r in zip(table["fitted"], table["reason"], strict=True)
    ]
    # An outcome whose model was not fitted has no expected values: nothing to show, and
    # "too few to report" would mislead; the risk-models panel says why.
    unfitted = table[table["n_used"] == 0]
    table = with_shown(table[table["n_used"] > 0]).reset_index(drop=True)
    notes = [
        f"No observed / expected for {label.split(':')[0]}: {model}."
        for label, model in zip(unfitted["label"], unfitted["model"], strict=True)
    ]
    panel = Panel(
        id="observed-expected",
        title="Observed against expected, after case mix",
        sentence=(
            "For each outcome with a risk model, what happened over what the case mix "
            "predicted (1 = as expected); the chart shows the ratios with 95% intervals."
        ),
        table=table,
        columns=[
            Column("label", "Outcome"),
            Column("numerator", "Observed", "number"),
            Column("expected", "Expected", "number"),
            Column("value_shown", "O / E"),
            Column("interval_shown", "95% interval"),
            Column("n_used", "Episodes", "count"),
            Column("model", "Risk model"),
            Column("note", "Note"),
        ],
        notes=notes,
        disclosure=Disclosure(
            "n_used",
            ("value", "lower", "upper", "numerator", "expected", "value_shown", "interval_shown"),
            within=("metric",),
        ),
        understand={
            "Expected": "The sum over episodes of each one's predicted chance (0/1 outcomes) or "
            "value from the pack's risk model for its case mix.",
            "Intervals": "Exact Poisson limits for 0/1 outcomes, a ratio estimator for numbers.",
            "Direction": "Below 1 means fewer events (or a lower value) than the case mix "
            "predicts; whether that is good depends on the outcome's direction.",
        },
    )
    return _drawn(ctx, panel, _ratio_dots)


def _ratio_dots(table: pd.DataFrame) -> dict | None:
    shown = table[table["value"].notna()].iloc[::-1]
    if shown.empty:
        return None
    data, layout = _interval_dots(
        shown, name="Observed / expected (95% interval)", hover="%{x:.2f}"
    )
    # 1 = as many events as the case mix predicts
    layout["shapes"] = [
        {
            "type": "line",
            "xref": "x",
            "yref": "paper",
            "x0": 1,
            "x1": 1,
            "y0": 0,
            "y1": 1,
            "line": {"color": charts.DARK_BLUE, "dash": "dot"},
        }
    ]
    return {"data": data, "layout": layout}


# ------------------------------------------------------------------------ funnel plots


def funnel_metrics(ctx: PageContext) -> list[str]:
    """Metrics a funnel compares, risk-adjusted ones first: the O/E of each 0/1 outcome
    with a risk model (SR), then each 0/1 outcome's rate (PR), by tier."""
    outcomes = sorted(ctx.pack.outcomes, key=lambda o: o.tier)
    ratios = [f"{o.id}{OE_SUFFIX}" for o in outcomes if is_binary(o) and o.risk_model]
    return ratios + [o.id for o in outcomes if is_binary(o)]


def funnel_rows(
    ctx: PageContext, segment_type: str, by_unit: pd.DataFrame
) -> tuple[pd.DataFrame, str]:
    """The funnel rows for ``segment_type`` (columns of metric_funnel) and where they came
    from: the run's metric_funnel for the filters' financial year when the filters name no
    site, team or group, else computed here from ``by_unit`` (group_metrics per unit)."""
    if ctx.filters.period and ctx.filters.segments_named() == 0:
        stored = ctx.table("metric_funnel")
        if not stored.empty:
            stored = stored[
                (stored["period_type"] == FUNNEL_PERIOD_TYPE)
                & (stored["period"] == ctx.filters.period)
                & (stored["segment_type"] == segment_type)
            ]
            if not stored.empty:
                return stored, (
                    f"Funnel limits as run {ctx.run_id} computed them for FY "
                    f"{ctx.filters.period} (its metric_funnel table)."
                )
    cells = by_unit.rename(columns={segment_type: "segment"}).assign(
        period_type="filtered", period="filtered", segment_type=segment_type
    )
    cells["segment"] = cells["segment"].astype("string")
    computed = funnel_charts(cells, period_type="filtered", segment_types=(segment_type,))
    return computed, (
        "Funnel limits computed for these filters from the episodes "
        "(carevalue.stats.funnel: SHMI method for O/E, 99.8% limits decide, "
        "widened for overdispersion where phi > 1), as the run does per year."
    )


LIMIT_NAMES = {
    95: ("LCL95", "UCL95", "OD95LCL", "OD95UCL"),
    99: ("LCL99", "UCL99", "OD99LCL", "OD99UCL"),
}


def funnel_panel(ctx: PageContext, segment_type: str) -> Panel | None:
    episodes = ctx.episodes
    units = episodes[segment_type].astype("string").fillna("unknown").nunique()
    if units < 2:
        return None
    wanted = funnel_metrics(ctx)
    by_unit = group_metrics(ctx.pack, episodes, (segment_type,))
    by_unit[segment_type] = by_unit[segment_type].astype("string")
    rows, source = funnel_rows(ctx, segment_type, by_unit)
    table = by_unit[by_unit["metric"].isin(wanted)].rename(columns={segment_type: "segment"})
    # O/E of an outcome whose risk model was not fitted has no expected values anywhere.
    measured = table.groupby("metric")["n_used"].sum()
    wanted = [m for m in wanted if measured.get(m, 0) > 0]
    table = table[table["metric"].isin(wanted)]
    keep = [
        "metric",
        "segment",
        "data_type",
        "rr",
        *LIMIT_NAMES[95],
        *LIMIT_NAMES[99],
        "outlier_high",
        "outlier_low",
        "target",
        "tau2",
        "adjusted",
        "sr_method",
    ]
    funnel_part = rows[[c for c in keep if c in rows.columns]].copy()
    funnel_part["segment"] = funnel_part["segment"].astype("string")
    table = table.merge(funnel_part, on=["metric", "segment"], how="left")
    order = {m: i for i, m in enumerate(wanted)}
    table = (
        table.assign(_order=table["metric"].map(order))
        .sort_values(["_order", "segment"], kind="stable")
        .drop(columns="_order")
        .reset_index(drop=True)
    )
    table = with_shown(table)
    directions = {o.id: o.direction for o in ctx.pack.outcomes}
    table["in_funnel"] = table["rr"].notna()
    table["funnel_x"] = np.where(
        table["metric"].str.endswith(OE_SUFFIX), table["expected"], table["denominator"]
    )
    table["limits95"] = _limit_text(table, 95)
    table["limits99"] = _limit_text(table, 99)
    table["position"] = [
        _position(high, low, directions.get(m.removesuffix(OE_SUFFIX), ""), inside)
        for high, low, m, inside in zip(
            table["outlier_high"],
            table["outlier_low"],
            table["metric"],
            table["in_funnel"],
            strict=True,
        )
    ]
    no_funnel = ~table["in_funnel"] & table["value"].notna()
    table.loc[no_funnel, "position"] = (
        f"no funnel: fewer than {MIN_FUNNEL_GROUPS} {segment_type}s to compare"
    )
    shown = table["in_funnel"].groupby(table["metric"]).sum()
    notes = [source]
    short = [m for m in wanted if shown.get(m, 0) < MIN_FUNNEL_GROUPS]
    if short:
        labels = table.drop_duplicates("metric").set_index("metric")["label"]
        notes.append(
            f"No funnel for {', '.join(str(labels.get(m, m)) for m in short)}: a funnel needs "
            f"at least {MIN_FUNNEL_GROUPS} {segment_type}s with reportable figures; the "
            "figures are in the table."
        )
    noun = SEGMENT_LABELS[segment_type].lower()
    panel = Panel(
        id=f"funnel-{segment_type}",
        title=f"{SEGMENT_LABELS[segment_type]}s compared: funnel plot",
        sentence=(
            f"Each {noun}'s outcome (observed / expected after case mix where a risk "
            f"model was fitted, else the crude rate) against the all-{noun} figure, with "
            "limits that narrow as the number of episodes grows: outside the 99.8% "
            "limits is more than chance."
        ),
        table=table,
        columns=[
            Column("label", "Measure"),
            Column("segment", SEGMENT_LABELS[segment_type]),
            Column("n_used", "Episodes measured", "count"),
            Column("numerator", "Observed", "count"),
            Column("funnel_x", "Expected (O/E) or measured (rate)", "number1"),
            Column("value_shown", "Value"),
            Column("interval_shown", "95% interval"),
            Column("limits95", "95% funnel limits"),
            Column("limits99", "99.8% funnel limits"),
            Column("position", "Against the funnel"),
            Column("note", "Note"),
        ],
        notes=notes,
        disclosure=Disclosure(
            "n_used",
            (
                "value",
                "lower",
                "upper",
                "numerator",
                "denominator",
                "expected",
                "rr",
                "funnel_x",
                "value_shown",
                "interval_shown",
                "limits95",
                "limits99",
                "position",
            ),
            within=("metric",),
        ),
        understand={
            "Method": "Funnel plots after Spiegelhalter (2005) as FunnelPlotR draws them: "
            "indirectly standardised ratios (SR) for O/E, proportions (PR) for rates; "
            "limits widened for overdispersion when the units vary more than chance "
            "(docs/funnel-plots.md).",
            "Source": source,
            "Case mix": "Crude rates are not adjusted for case mix: a unit treating sicker "
            "patients can sit high for that reason alone.",
            "Small numbers": f"Units resting on fewer than {ctx.min_cell} episodes are left out "
            "of the funnel and shown as 'too few to report'.",
        },
    )
    return _drawn(ctx, panel, lambda t: _funnel_figure(t, noun))


def _limit_text(table: pd.DataFrame, level: int) -> list[str]:
    low, high, od_low, od_high = LIMIT_NAMES[level]
    if low not in table.columns:
        return [""] * len(table)
    adjusted = table["adjusted"].fillna(False).astype(bool)
    lows = table[od_low].where(adjusted, table[low])
    highs = table[od_high].where(adjusted, table[high])
    out = []
    for metric, kind, lo, hi in zip(
        table["metric"], table["metric_kind"], lows, highs, strict=True
    ):
        out.append(shown_interval(kind, metric, lo, hi))
    return out


def _position(high, low, direction: str, inside: bool) -> str:
    if not inside:
        return ""
    if high is True or high == 1:
        side, worse = "above the 99.8% limit", direction == "lower_is_better"
    elif low is True or low == 1:
        side, worse = "below the 99.8% limit", direction == "higher_is_better"
    else:
        return "within the limits"
    if direction not in ("higher_is_better", "lower_is_better"):
        return side
    return f"{side}: {'worse' if worse else 'better'} than the rest"


def _funnel_figure(table: pd.DataFrame, noun: str) -> dict | None:
    """One funnel per metric with enough units, a menu to switch between them."""
    drawn = table[table["in_funnel"] & table["rr"].notna()]
    metrics = [
        m
        for m in dict.fromkeys(drawn["metric"])
        if (drawn["metric"] == m).sum() >= MIN_FUNNEL_GROUPS
    ]
    if not metrics:
        return None
    data, per_metric, axes, names = [], [], [], []
    for metric in metrics:
        rows = drawn[drawn["metric"] == metric]
        first = rows.iloc[0]
        ratio = metric.endswith(OE_SUFFIX)
        x = rows["funnel_x"].astype(float)
        top = max(float(x.max()) * 1.1, 1.0)
        grid = np.linspace(max(top / LIMIT_GRID, 0.5), top, LIMIT_GRID)
        adjusted = bool(first["adjusted"]) if not display.missing(first["adjusted"]) else False
        limits = funnel_limits(
            grid,
            data_type=str(first["data_type"]),
            target=float(first["target"]),
            tau2=float(first["tau2"]) if not display.missing(first["tau2"]) else 0.0,
            sr_method=str(first["sr_method"])
            if not display.missing(first["sr_method"])
            else "SHMI",
            adjusted=adjusted,
        )
        prefix = "OD" if adjusted else ""
        traces = [
            {
                "type": "scatter",
                "mode": "markers",
                "name": noun.capitalize() + "s",
                "x": charts.clean(x),
                "y": charts.clean(rows["rr"]),
                "text": rows["segment"].tolist(),
                "marker": {
                    "color": [
                        charts.ORANGE if p.startswith(("above", "below")) else charts.BLUE
                        for p in rows["position"]
                    ],
                    "size": 10,
                },
                "hovertemplate": "%{text}: %{y:" + (".2f" if ratio else ".1%") + "}<extra></extra>",
            }
        ]
        xs = [float(f"{v:.3g}") for v in grid]
        for level, dash in ((95, "dash"), (99, "solid")):
            low, high = (
                (f"{prefix}{level}LCL", f"{prefix}{level}UCL")
                if adjusted
                else (f"LCL{level}", f"UCL{level}")
            )
            # Lower and upper limit as one trace, broken between them.
            ys = [*limits[low], None, *limits[high]]
            traces.append(
                {
                    "type": "scatter",
                    "mode": "lines",
                    "name": "95% limits" if level == 95 else "99.8% limits",
                    "x": [*xs, None, *xs],
                    "y": [None if v is None else round(float(v), 4) for v in ys],
                    "line": {"color": charts.GREY, "dash": dash, "width": 1},
                    "connectgaps": False,
                    "hoverinfo": "skip",
                }
            )
        traces.append(
            {
                "type": "scatter",
                "mode": "lines",
                "name": "All-" + noun + " figure",
                "x": [float(grid[0]), float(grid[-1])],
                "y": [float(first["target"])] * 2,
                "line": {"color": "#000000", "width": 1},
                "hoverinfo": "skip",
            }
        )
        per_metric.append(len(traces))
        data.extend(traces)
        axes.append(
            {
                "xaxis.title.text": "Expected events" if ratio else "Episodes measured",
                "yaxis.title.text": "Observed / expected" if ratio else "Rate",
                "yaxis.tickformat": ".2f" if ratio else ".0%",
            }
        )
        names.append(str(first["label"]))
    visible = []
    for i, count in enumerate(per_metric):
        visible.extend([i == 0] * count)
    for trace, show_it in zip(data, visible, strict=True):
        trace["visible"] = show_it
    # One funnel: its name as the title; several: a menu naming the one shown.
    layout = charts.layout(
        names[0] if len(metrics) == 1 else "",
        x_title=axes[0]["xaxis.title.text"],
        y_title=axes[0]["yaxis.title.text"],
        height=440,
    )
    layout["yaxis"]["tickformat"] = axes[0]["yaxis.tickformat"]
    layout["legend"]["y"] = -0.3
    if len(metrics) > 1:
        buttons = []
        start = 0
        for i, count in enumerate(per_metric):
            mask = [False] * len(data)
            mask[start : start + count] = [True] * count
            start += count
            buttons.append(
                {"method": "update", "label": names[i][:48], "args": [{"visible": mask}, axes[i]]}
            )
        layout["updatemenus"] = [
            {
                "buttons": buttons,
                "direction": "down",
                "x": 0,
                "y": 1.02,
                "xanchor": "left",
                "yanchor": "bottom",
                "showactive": True,
            }
        ]
        layout["margin"]["t"] = 60
    return {"data": data, "layout": layout}


# ------------------------------------------------------------------------ survival


def _death_outcomes(ctx: PageContext) -> list:
    return [o for o in ctx.pack.outcomes if o.kind == "death_within" and o.window is not None]


def survival_data(ctx: PageContext, horizon: int) -> tuple[pd.DataFrame, int]:
    """Days from the index date to death (event) or to the end of follow-up (censored):
    the data's last date or ``horizon`` days, whichever comes first. Returns the episodes'
    site, index date, days and event, and how many were left out (a death date before the index
    date, or no index date)."""
    ids = ctx.episodes["episode_id"]
    frame = ctx.table("episodes")
    if not {"episode_id", "site", "index_date", "death_date"} <= set(frame.columns):
        return pd.DataFrame(columns=["site", "index_date", "days", "event"]), 0
    frame = frame.loc[
        frame["episode_id"].isin(ids), ["episode_id", "site", "index_date", "death_date"]
    ]
    index = pd.to_datetime(frame["index_date"], errors="coerce")
    death = pd.to_datetime(frame["death_date"], errors="coerce")
    last = pd.Timestamp(str(ctx.snapshot.manifest.get("run", {}).get("data_last_date") or "NaT"))
    if pd.isna(last):
        last = max(index.max(), death.max()) if len(frame) else pd.NaT
    end = (index + pd.Timedelta(days=horizon)).where(
        index + pd.Timedelta(days=horizon) < last, last
    )
    died = death.notna() & (death <= end)
    stop = death.where(died, end)
    days = (stop - index).dt.days
    usable = index.notna() & days.notna() & (days >= 0)
    out = pd.DataFrame(
        {
            "site": frame["site"].astype("string").fillna("unknown"),
            "index_date": index,
            "days": days,
            "event": died,
        }
    )[usable.to_numpy()]
    return out.reset_index(drop=True), int((~usable).sum())


def survival_panel(ctx: PageContext) -> Panel | None:
    deaths = _death_outcomes(ctx)
    if not deaths:
        return None
    horizon = max(o.window.to_day for o in deaths)
    data, left_out = survival_data(ctx, horizon)
    notes = []
    if data.empty:
        return None
    counts = data["site"].value_counts()
    enough = counts[counts >= max(KM_MIN_GROUP, ctx.min_cell)].index.tolist()
    overall = _km_table(data["days"], data["event"], None, "All episodes")
    tables = [overall]
    if len(enough) >= 2:
        chosen = data[data["site"].isin(enough)]
        by_site = kaplan_meier(
            chosen["days"].astype(float), chosen["event"], chosen["site"].to_numpy(dtype=object)
        )
        for site in sorted(enough):
            tables.append(
                _start_at_one(
                    by_site[by_site["group"] == site].reset_index(drop=True), f"Site {site}"
                )
            )
        logrank = by_site.attrs.get("logrank")
        if logrank:
            notes.append(
                f"Log-rank test between the sites: p = {logrank['p_value']:.2f} "
                f"({logrank['df']} degrees of freedom); a small p says the curves "
                "differ by more than chance (not adjusted for case mix)."
            )
        small = [s for s in counts.index if s not in enough]
        if small:
            notes.append(
                f"Sites with fewer than {max(KM_MIN_GROUP, ctx.min_cell)} episodes "
                f"have no curve of their own ({', '.join(small)}); they are in the "
                "all-episodes curve."
            )
    elif len(counts) >= 2:
        notes.append(
            f"One curve for all sites: fewer than two sites have "
            f"{max(KM_MIN_GROUP, ctx.min_cell)} or more episodes."
        )
    table = pd.concat(tables, ignore_index=True)
    if left_out:
        notes.append(
            f"{left_out:,} episodes left out: a death date before the index date, or no index date."
        )
    names = ", ".join(f"{o.name} ({o.window.to_day} days)" for o in deaths)
    panel = Panel(
        id="survival",
        title="Survival after the index event (Kaplan-Meier)",
        sentence=(
            f"The share of patients alive each day up to day {horizon:,} after the index "
            "event, counting everyone followed so far (censored at the data's last date), "
            + ("for all episodes and for each site." if len(tables) > 1 else "for all episodes.")
        ),
        table=table,
        columns=[
            Column("group", "Curve"),
            Column("time", "Day", "count"),
            Column("at_risk", "At risk", "count"),
            Column("events", "Deaths", "count"),
            Column("censored", "Censored", "count"),
            Column("survival", "Survival", "rate"),
            Column("ci_lower", "95% CI from", "rate"),
            Column("ci_upper", "95% CI to", "rate"),
        ],
        notes=notes,
        disclosure=Disclosure("at_risk", ("survival", "ci_lower", "ci_upper"), within=("group",)),
        understand={
            "What is counted": f"Death from any cause from the index date, followed to day "
            f"{horizon:,} ({names}). Episodes whose follow-up has not "
            "reached that day are censored at the data's last date "
            f"({ctx.snapshot.manifest.get('run', {}).get('data_last_date', '')}).",
            "Method": "Kaplan-Meier product-limit estimate with the exponential-Greenwood (log-"
            "log) 95% interval, checked against lifelines (docs/survival.md).",
            "Against the outcome rates": "The death rates above count only episodes whose "
            "window has closed; this curve also uses the time "
            "followed so far of those still in their window.",
            "Small numbers": f"Survival is shown as 'too few to report' where fewer than "
            f"{ctx.min_cell} patients are still at risk.",
        },
    )
    panel = _drawn(ctx, panel, lambda t: _survival_figure(t, horizon))
    panel.notes[:0] = _survival_at(panel.table, deaths)
    return panel


def _start_at_one(frame: pd.DataFrame, label: str) -> pd.DataFrame:
    """The group's rows, labelled, beginning with survival 1 at day 0 before any death on the
    day of the index event (so every curve starts at 1)."""
    frame = frame.assign(group=label)
    first = frame.iloc[0]
    if first["time"] == 0 and first["events"] > 0:
        start = pd.DataFrame(
            [
                {
                    "group": label,
                    "time": 0.0,
                    "at_risk": first["at_risk"],
                    "events": 0,
                    "censored": 0,
                    "survival": 1.0,
                    "ci_lower": 1.0,
                    "ci_upper": 1.0,
                }
            ]
        )
        frame = pd.concat([start, frame], ignore_index=True)
    return frame


def _km_table(days, events, groups, label: str) -> pd.DataFrame:
    table = kaplan_meier(
        pd.Series(days, dtype=float).reset_index(drop=True),
        pd.Series(events, dtype=bool).reset_index(drop=True),
        groups,
    )
    return _start_at_one(table, label)


def _survival_at(table: pd.DataFrame, deaths: list) -> list[str]:
    """Survival at each death outcome's day, for all episodes, in words."""
    rows = table[table["group"] == "All episodes"]
    out = []
    for outcome in deaths:
        day = outcome.window.to_day
        upto = rows[rows["time"] <= day]
        if upto.empty:
            continue
        last = upto.iloc[-1]
        if display.missing(last["survival"]):
            out.append(f"Survival to day {day:,} ({outcome.name.lower()}): {TOO_FEW}.")
        else:
            out.append(
                f"Survival to day {day:,} ({outcome.name.lower()}): "
                f"{last['survival']:.1%} (95% CI {last['ci_lower']:.1%} to "
                f"{last['ci_upper']:.1%})."
            )
    return out


def _survival_figure(table: pd.DataFrame, horizon: int) -> dict | None:
    data = []
    groups = list(dict.fromkeys(table["group"]))
    for number, group in enumerate(groups):
        rows = table[(table["group"] == group) & table["survival"].notna()]
        if rows.empty:
            continue
        colour = charts.DARK_BLUE if number == 0 else charts.PALETTE[(number) % len(charts.PALETTE)]
        x = [round(float(v), 1) for v in rows["time"]]
        if len(groups) == 1:
            data.append(
                {
                    "type": "scatter",
                    "mode": "lines",
                    "name": "95% interval",
                    "x": x + x[::-1],
                    "y": charts.clean(pd.concat([rows["ci_upper"], rows["ci_lower"][::-1]])),
                    "line": {"shape": "hv", "width": 0},
                    "fill": "toself",
                    "fillcolor": "rgba(0,94,184,0.15)",
                    "hoverinfo": "skip",
                }
            )
        data.append(
            {
                "type": "scatter",
                "mode": "lines",
                "name": group,
                "x": x,
                "y": [round(float(v), 4) for v in rows["survival"]],
                "line": {"shape": "hv", "color": colour, "width": 2 if number == 0 else 1.5},
                "hovertemplate": group + ", day %{x}: %{y:.1%}<extra></extra>",
            }
        )
    if not data:
        return None
    layout = charts.layout(
        x_title="Days after the index event", y_title="Alive (share)", height=380
    )
    layout["yaxis"]["tickformat"] = ".0%"
    layout["xaxis"]["range"] = [0, horizon]
    return {"data": data, "layout": layout}


# ------------------------------------------------------------------------ PROMs


def prom_table(ctx: PageContext) -> tuple[pd.DataFrame, str]:
    """The run's prom_response rows when no filter is set; otherwise computed for the
    filtered episodes the same way."""
    if not ctx.filters.active():
        stored = ctx.table("prom_response")
        if not stored.empty:
            return stored.copy(), f"run {ctx.run_id} (its prom_response table)"
    ids = ctx.episodes["episode_id"]
    episodes = ctx.table("episodes")
    outcomes = ctx.table("episode_outcomes")
    if episodes.empty or outcomes.empty:
        return pd.DataFrame(), "no episodes"
    frame = episodes[episodes["episode_id"].isin(ids)]
    rows = outcomes[outcomes["episode_id"].isin(ids)]
    return prom_response(ctx.pack, frame, rows), "these filters' episodes (computed here)"


def prom_panels(ctx: PageContext) -> tuple[Panel, Panel]:
    table, source = prom_table(ctx)
    labels = {o.id: o.name for o in ctx.pack.outcomes}
    if table.empty:
        table = pd.DataFrame(
            columns=[
                "outcome_id",
                "timepoint",
                "due",
                "returned",
                "response_rate",
                "crude_mean",
                "weighted_mean",
                "variable",
                "responders_mean",
                "non_responders_mean",
                "standardised_difference",
                "suppressed",
                "note",
            ]
        )
    table["label"] = table["outcome_id"].map(labels)
    table["not_returned"] = table["due"] - table["returned"]
    table = table[table["outcome_id"].isin(labels)].copy() if len(table) else table
    per_outcome = table.drop_duplicates("outcome_id").reset_index(drop=True)
    per_outcome["timepoint_text"] = per_outcome["timepoint"].map(_timepoint)
    per_outcome = per_outcome.drop(
        columns=["variable", "responders_mean", "non_responders_mean", "standardised_difference"]
    )
    per_outcome["weighting"] = [
        ""
        if display.missing(c)
        else (
            "not estimated: too few responders and non-responders to model response"
            if display.missing(w)
            else ""
        )
        for c, w in zip(per_outcome["crude_mean"], per_outcome["weighted_mean"], strict=True)
    ]
    response = Panel(
        id="prom-response",
        title="Patient-reported measures: who answered",
        sentence=(
            "For each patient- or clinician-reported measure, how many were due and "
            "returned, and the mean among those who answered, crude and weighted for "
            "who tends not to answer."
        ),
        table=per_outcome,
        columns=[
            Column("label", "Measure"),
            Column("timepoint_text", "Timepoint"),
            Column("due", "Due", "count"),
            Column("returned", "Returned", "count"),
            Column("response_rate", "Response rate", "rate"),
            Column("crude_mean", "Mean of those who answered", "number"),
            Column("weighted_mean", "Weighted for non-response", "number"),
            Column("weighting", "Weighting"),
            Column("note", "Note"),
        ],
        notes=[f"From {source}."],
        disclosure=Disclosure(
            "returned", ("response_rate", "crude_mean", "weighted_mean"), within=("outcome_id",)
        ),
        understand={
            "Due and returned": "Due: the measure was owed (measured or missing), not counting "
            "a score given for death. Returned: a response was scored.",
            "Weighted mean": "Each responder weighted by 1 / their modelled chance of "
            "responding (logistic regression on age, sex, deprivation and the "
            "pack's numeric case mix): what the mean might be had everyone "
            "answered.",
            "Why it matters": "Sicker and more deprived patients answer less often, which "
            "flatters a crude mean.",
        },
    )
    response = _drawn(ctx, response, _response_bars)
    compared = table[table["variable"].notna()].reset_index(drop=True).copy()
    names = {f"cm_{v.id}": v.name for v in ctx.pack.case_mix}
    compared["variable_text"] = [names.get(v) or _variable_words(v) for v in compared["variable"]]
    # Each comparison rests on both groups: blank it where either is small.
    compared["smaller_group"] = compared[["returned", "not_returned"]].min(axis=1)
    comparison = Panel(
        id="prom-responders",
        title="Responders against non-responders",
        sentence=(
            "How those who answered differ from those who did not, per case-mix "
            "variable: a standardised difference beyond ±0.1 is a notable imbalance."
        ),
        table=compared,
        columns=[
            Column("label", "Measure"),
            Column("variable_text", "Compared on"),
            Column("returned", "Responders", "count"),
            Column("not_returned", "Non-responders", "count"),
            Column("responders_mean", "Responders' mean", "number"),
            Column("non_responders_mean", "Non-responders' mean", "number"),
            Column("standardised_difference", "Standardised difference", "number"),
        ],
        notes=[f"From {source}."],
        disclosure=Disclosure(
            "smaller_group",
            ("responders_mean", "non_responders_mean", "standardised_difference"),
            within=("outcome_id", "variable"),
        ),
        understand={
            "Standardised difference": "Difference of the means over the pooled standard "
            "deviation; beyond ±0.1 is the usual mark of imbalance.",
            "Small numbers": f"Shown as 'too few to report' where responders or "
            f"non-responders number fewer than {ctx.min_cell}.",
        },
    )
    comparison = _drawn(ctx, comparison, _difference_dots)
    return response, comparison


def _variable_words(variable: str) -> str:
    words = {
        "age": "Age",
        "imd_decile": "Deprivation decile (1 = most deprived)",
        "male": "Male (share)",
    }
    if variable in words:
        return words[variable]
    return str(variable).removeprefix("cm_").replace("_", " ").capitalize()


def _response_bars(table: pd.DataFrame) -> dict | None:
    shown = table[table["response_rate"].notna()].iloc[::-1]
    if shown.empty:
        return None
    layout = charts.layout(x_title="Response rate", height=120 + 40 * len(shown), legend=False)
    layout["xaxis"]["tickformat"] = ".0%"
    layout["xaxis"]["range"] = [0, 1]
    layout["yaxis"]["automargin"] = True
    return {
        "data": [
            {
                "type": "bar",
                "orientation": "h",
                "y": shown["label"].tolist(),
                "x": charts.clean(shown["response_rate"]),
                "marker": {"color": charts.BLUE},
                "hovertemplate": "%{y}: %{x:.1%}<extra></extra>",
            }
        ],
        "layout": layout,
    }


def _difference_dots(table: pd.DataFrame) -> dict | None:
    shown = table[table["standardised_difference"].notna()]
    if shown.empty:
        return None
    data = []
    for number, (outcome, rows) in enumerate(shown.groupby("label", sort=False)):
        data.append(
            {
                "type": "scatter",
                "mode": "markers",
                "name": str(outcome),
                "x": charts.clean(rows["standardised_difference"]),
                "y": rows["variable_text"].tolist(),
                "marker": {"color": charts.PALETTE[number % len(charts.PALETTE)], "size": 9},
                "hovertemplate": "%{y}: %{x:.2f}<extra>" + str(outcome) + "</extra>",
            }
        )
    variables = shown["variable_text"].nunique()
    layout = charts.layout(x_title="Standardised difference", height=160 + 30 * variables)
    layout["yaxis"]["automargin"] = True
    layout["shapes"] = [
        {
            "type": "line",
            "xref": "x",
            "yref": "paper",
            "x0": v,
            "x1": v,
            "y0": 0,
            "y1": 1,
            "line": {"color": charts.GREY, "dash": "dot", "width": 1},
        }
        for v in (-0.1, 0.1)
    ]
    return {"data": data, "layout": layout}


# ------------------------------------------------------------------------ risk models


def risk_model_panel(ctx: PageContext) -> Panel:
    models = _risk_models(ctx).copy()
    labels = {o.id: o.name for o in ctx.pack.outcomes}
    models["label"] = models["outcome_id"].map(labels).fillna(models["outcome_id"])
    models["fitted_text"] = models["fitted"].map(
        lambda f: "" if display.missing(f) else ("yes" if f else "no")
    )
    models["terms"] = [
        _terms(c)
        for c in models.get("coefficients", pd.Series([None] * len(models), index=models.index))
    ]
    panel = Panel(
        id="risk-models",
        title="Risk models behind observed / expected",
        sentence=(
            "Each case-mix model the run fitted, or why it did not, with its "
            "discrimination (c-statistic: 0.5 is chance, 1 is perfect)."
        ),
        table=models.reset_index(drop=True),
        columns=[
            Column("label", "Outcome"),
            Column("family", "Model"),
            Column("fitted_text", "Fitted"),
            Column("reason", "Why, or on what"),
            Column("n", "Episodes", "count"),
            Column("events", "Events", "count"),
            Column("c_statistic", "c-statistic", "number"),
            Column("terms", "Terms"),
            Column("fit_on", "Fitted on"),
        ],
        disclosure=Disclosure("n", ("c_statistic",), within=("outcome_id",)),
        understand={
            "Not fitted": "A model is fitted only with enough events per term (the pack's "
            "min_events_per_variable); without one there is no observed / "
            "expected.",
            "c-statistic": "The chance that a random patient with the event was predicted a "
            "higher risk than one without (area under the ROC curve); only for "
            "0/1 outcomes.",
            "Filters": "Models are fitted once per run on all the condition's episodes; the "
            "filters do not change them.",
        },
    )
    return panel


def _terms(coefficients) -> str:
    if display.missing(coefficients) or coefficients in ("", "{}"):
        return ""
    try:
        values = json.loads(coefficients) if isinstance(coefficients, str) else dict(coefficients)
    except (ValueError, TypeError):
        return ""
    return ", ".join(k for k in values if k != "intercept")
