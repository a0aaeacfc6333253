"""Value: outcomes against cost for each site, team and financial year (a quadrant chart
with lines at the overall mean cost and outcome), the pack's value equations with their
intervals, the composite index's weights, and whether the rankings depend on those weights
(the run's ``value_sensitivity`` table), in words.

Every figure comes from :func:`carevalue.value.metric_series.group_metrics` over the
filtered episodes, so it has the pipeline's definitions, intervals and small-number rule.
The outcome of a value equation always reads "higher is better": its numerator puts each
outcome on a 0-1 scale where 1 is best (a death becomes survival).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from carevalue.reports import display
from carevalue.value import group_metrics, is_binary, weight_sets
from carevalue.web import charts
from carevalue.web.metric_text import shown_interval
from carevalue.web.pages import PageContext
from carevalue.web.panels import Column, Disclosure, Page, Panel

# (episode_value column, what a cell of it is called)
GROUPINGS = (("site", "Site"), ("team", "Team"), ("financial_year", "Financial year"))
COMPARED_WORDS = {"site": "sites", "team": "teams", "financial_year": "financial years"}
OVERALL = "All these episodes"
QUADRANTS = {
    (True, True): "top-left: better outcomes at lower cost",
    (True, False): "top-right: better outcomes at higher cost",
    (False, True): "bottom-left: worse outcomes at lower cost",
    (False, False): "bottom-right: worse outcomes at higher cost",
}
ON_A_LINE = "on a line: the same as all these episodes"
MAP_FIGURES = (
    "cost_mean",
    "cost_interval",
    "outcome",
    "outcome_interval",
    "per_100k",
    "per_100k_interval",
    "cost_per_good",
    "cost_per_good_interval",
    "quadrant",
    "clear",
)
EQUATION_FIGURES = ("per_100k", "per_100k_interval", "cost_per_good", "cost_per_good_interval")
PACK_WEIGHTS = "pack weights"


# ---------------------------------------------------------------- pure helpers


def quadrants(cost, outcome, cost_line: float, outcome_line: float) -> list[str]:
    """Which quadrant each (cost, outcome) point is in, against the lines at the overall
    mean cost and overall outcome (outcome: higher is better); "on a line" when it is at
    either mean, blank where a figure or a line is missing."""
    cost = np.asarray(pd.to_numeric(pd.Series(cost, dtype="object"), errors="coerce"), dtype=float)
    outcome = np.asarray(
        pd.to_numeric(pd.Series(outcome, dtype="object"), errors="coerce"), dtype=float
    )
    if display.missing(cost_line) or display.missing(outcome_line):
        return [""] * len(cost)
    out = []
    for c, o in zip(cost, outcome, strict=True):
        if np.isnan(c) or np.isnan(o):
            out.append("")
        elif np.isclose(c, cost_line, rtol=1e-9, atol=0) or np.isclose(
            o, outcome_line, rtol=1e-9, atol=0
        ):
            out.append(ON_A_LINE)
        else:
            out.append(QUADRANTS[(bool(o > outcome_line), bool(c < cost_line))])
    return out


def clear_of_lines(
    cost_lower: float,
    cost_upper: float,
    outcome_lower: float,
    outcome_upper: float,
    cost_line: float,
    outcome_line: float,
) -> str:
    """Whether a cell's quadrant is beyond chance: both its intervals clear of the lines."""
    values = (cost_lower, cost_upper, outcome_lower, outcome_upper, cost_line, outcome_line)
    if any(display.missing(v) for v in values):
        return ""
    crosses = [
        name
        for name, low, high, line in (
            ("cost", cost_lower, cost_upper, cost_line),
            ("outcome", outcome_lower, outcome_upper, outcome_line),
        )
        if low <= line <= high
    ]
    if not crosses:
        return "yes: both intervals are clear of the lines"
    if len(crosses) == 2:
        return "no: both intervals cross the lines, so the quadrant may be chance"
    return f"no: the {crosses[0]} interval crosses its line, so the quadrant may be chance"


def parse_ranking(text) -> list[str]:
    """The cells of a ``value_sensitivity`` ranking ("North (8.00) > South (7.84)"), best
    first."""
    if display.missing(text) or not str(text).strip():
        return []
    return [part.rsplit(" (", 1)[0] for part in str(text).split(" > ")]


def _ordinal(number: int) -> str:
    suffix = (
        "th" if 10 <= number % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(number % 10, "th")
    )
    return f"{number}{suffix}"


def rank_moves(main: list[str], other: list[str]) -> list[str]:
    """Cells whose place differs between two rankings, over the cells ranked in both (as
    ``value_sensitivity`` compares them): "North from 2nd to 1st"."""
    common = [c for c in main if c in other]
    theirs = [c for c in other if c in common]
    return [
        f"{cell} from {_ordinal(common.index(cell) + 1)} to {_ordinal(place + 1)}"
        for place, cell in enumerate(theirs)
        if common.index(cell) != place
    ]


def sensitivity_sentences(rows: pd.DataFrame, names: dict[str, str]) -> list[str]:
    """One sentence per value equation in ``value_sensitivity`` rows: whether the ranking of
    sites, teams and financial years under the pack's weights survives each alternative
    weight set, naming the cells that change place when it does not."""
    out = []
    for equation, mine in rows.groupby("equation", sort=False):
        name = names.get(str(equation), str(equation))
        alternatives = [w for w in dict.fromkeys(mine["weight_set"]) if w != PACK_WEIGHTS]
        changes, ranked, unranked = [], [], []
        for compared, per in mine.groupby("compared", sort=False):
            words = COMPARED_WORDS.get(str(compared), str(compared))
            main = per[per["weight_set"] == PACK_WEIGHTS]
            main_order = parse_ranking(main["ranking"].iloc[0]) if len(main) else []
            if len(main_order) < 2:
                unranked.append(words)
                continue
            ranked.append(words)
            moved: dict[str, list[str]] = {}
            for record in per[per["weight_set"] != PACK_WEIGHTS].to_dict("records"):
                if bool(record["same_order"]):
                    continue
                moves = rank_moves(main_order, parse_ranking(record["ranking"]))
                moved.setdefault(", ".join(moves) or "order differs", []).append(
                    f"'{record['weight_set']}'"
                )
            changes += [f"{words} under {_join(sets)} ({moves})" for moves, sets in moved.items()]
        tried = ", ".join(f"'{w}'" for w in alternatives)
        if not ranked:
            sentence = (
                f"{name}: too few sites, teams or years have enough complete episodes "
                "to rank, so the weights cannot change a ranking"
            )
        elif not changes:
            sentence = (
                f"{name}: rankings of {_join(ranked)} unchanged under the alternative "
                f"weights ({tried})"
            )
        else:
            sentence = f"{name}: rankings change under the alternative weights: " + "; ".join(
                changes
            )
        if unranked and ranked:
            sentence += (
                f"; {_join(unranked)} not compared: fewer than two had enough complete episodes"
            )
        out.append(sentence + ".")
    return out


def _join(words: list[str]) -> str:
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


def scatter_equation(pack):
    """The value equation the quadrant chart plots: the first that counts the whole care
    cycle's cost (so its cost is the cost per episode on the x axis), else the first."""
    for equation in pack.value_equations:
        if equation.cost.scope == "whole_cycle":
            return equation
    return pack.value_equations[0] if pack.value_equations else None


def outcome_axis(pack, equation) -> tuple[str | None, str, str]:
    """(outcome metric or None, what the y axis is called, "rate" or "number") for an
    equation: a single 0/1 outcome is its rate, reversed when lower is better (a death
    becomes survival); any other numerator is its mean score from 0 to 1, 1 best."""
    outcomes = {o.id: o for o in pack.outcomes}
    if len(equation.numerator) == 1 and equation.numerator[0].outcome in outcomes:
        outcome = outcomes[equation.numerator[0].outcome]
        if is_binary(outcome):
            if outcome.direction == "lower_is_better":
                return outcome.id, f"Without {outcome.name[0].lower()}{outcome.name[1:]}", "rate"
            return outcome.id, outcome.name, "rate"
    return None, "Good-outcome score (0 to 1, 1 is best)", "number"


def cost_words(pack, equation) -> str:
    """The cost an equation counts, in words."""
    if equation.cost.scope == "whole_cycle":
        return "the whole care cycle"
    names = {stage.id: stage.name for stage in pack.stages}
    names["other"] = "other activity"
    return ", ".join(names.get(s, s) for s in equation.cost.stages)


# ---------------------------------------------------------------- the figures


def _by_metric(frame: pd.DataFrame, column: str) -> pd.DataFrame:
    """``group_metrics`` rows indexed by metric, each cell's name in ``cell``."""
    cells = frame[column].astype("string").fillna("unknown") if column else "all"
    return frame.assign(cell=cells).set_index("metric")


def _metric(frame: pd.DataFrame, metric: str) -> pd.DataFrame:
    """One metric's rows of a :func:`_by_metric` frame, indexed by cell."""
    if metric not in frame.index:
        return pd.DataFrame(
            columns=["value", "lower", "upper", "n_used", "n", "note"],
            index=pd.Index([], name="cell"),
        )
    return frame.loc[[metric]].set_index("cell")[["value", "lower", "upper", "n_used", "n", "note"]]


def _score(episodes: pd.DataFrame, equation, key: str | None) -> pd.DataFrame:
    """Mean good-outcome score of an equation's complete cases per cell, t interval."""
    good = episodes[f"num__{equation.id}"].astype("float64")
    keep = good.notna() & episodes[f"cost__{equation.id}"].notna()
    labels = (
        episodes[key].astype("string").fillna("unknown")
        if key
        else pd.Series("all", index=episodes.index)
    )
    grouped = good[keep].groupby(labels[keep])
    out = pd.DataFrame(
        {"value": grouped.mean(), "sd": grouped.std(ddof=1), "n_used": grouped.size()}
    )
    half = stats.t.ppf(0.975, np.maximum(out["n_used"] - 1, 1)) * out["sd"] / np.sqrt(out["n_used"])
    half = half.where(out["n_used"] > 1)
    return out.assign(lower=out["value"] - half, upper=out["value"] + half)


def _outcome(
    per: pd.DataFrame,
    episodes: pd.DataFrame,
    equation,
    metric: str | None,
    reverse: bool,
    column: str | None,
) -> pd.DataFrame:
    """The equation's outcome per cell: its 0/1 outcome's rate (Wilson interval, from
    ``group_metrics``; the complement when lower is better) or its mean score."""
    if metric is None:
        return _score(episodes, equation, column)[["value", "lower", "upper", "n_used"]]
    rows = _metric(per, metric)[["value", "lower", "upper", "n_used"]]
    if reverse:
        rows = rows.assign(
            value=1 - rows["value"], lower=1 - rows["upper"], upper=1 - rows["lower"]
        )
    return rows


def value_map_table(
    ctx: PageContext, equation, per_grouping: dict[str, pd.DataFrame]
) -> pd.DataFrame:
    """One row per cell (everyone, then each site, team and financial year): episodes,
    complete cases, mean cost, the equation's outcome and value figures with intervals, the
    quadrant and whether it is beyond chance."""
    metric, _, kind = outcome_axis(ctx.pack, equation)
    directions = {o.id: o.direction for o in ctx.pack.outcomes}
    reverse = metric is not None and directions[metric] == "lower_is_better"
    rows = []
    for column, label in (("", OVERALL), *GROUPINGS):
        per = per_grouping.get(column)
        if per is None or per.empty:
            continue
        cost = _metric(per, "cost_mean")
        outcome = _outcome(per, ctx.episodes, equation, metric, reverse, column or None)
        value = _metric(per, f"{equation.id}__per_100k")
        per_good = _metric(per, f"{equation.id}__cost_per_good")
        frame = pd.DataFrame(
            {
                "grouping": label if column else OVERALL,
                "cell": cost.index.astype(str),
                "label": [
                    OVERALL
                    if not column
                    else (f"FY {c}" if column == "financial_year" else f"{label} {c}")
                    for c in cost.index.astype(str)
                ],
                "n": cost["n"].astype("int64").to_numpy(),
                "cost_mean": cost["value"].to_numpy(),
                "cost_lower": cost["lower"].to_numpy(),
                "cost_upper": cost["upper"].to_numpy(),
            }
        )
        frame["outcome"] = outcome["value"].reindex(cost.index).to_numpy()
        frame["outcome_lower"] = outcome["lower"].reindex(cost.index).to_numpy()
        frame["outcome_upper"] = outcome["upper"].reindex(cost.index).to_numpy()
        used = np.minimum(
            value["n_used"].reindex(cost.index).fillna(0).to_numpy(),
            outcome["n_used"].reindex(cost.index).fillna(0).to_numpy(),
        )
        frame["n_used"] = used.astype("int64")
        for name, source in (("per_100k", value), ("cost_per_good", per_good)):
            frame[name] = source["value"].reindex(cost.index).to_numpy()
            frame[f"{name}_lower"] = source["lower"].reindex(cost.index).to_numpy()
            frame[f"{name}_upper"] = source["upper"].reindex(cost.index).to_numpy()
        rows.append(frame)
    table = pd.concat(rows, ignore_index=True) if rows else pd.DataFrame()
    if table.empty:
        return table
    everyone = table[table["grouping"] == OVERALL]
    cost_line = everyone["cost_mean"].iloc[0] if len(everyone) else np.nan
    outcome_line = everyone["outcome"].iloc[0] if len(everyone) else np.nan
    table["quadrant"] = quadrants(table["cost_mean"], table["outcome"], cost_line, outcome_line)
    table["clear"] = [
        clear_of_lines(*values, cost_line, outcome_line)
        for values in zip(
            table["cost_lower"],
            table["cost_upper"],
            table["outcome_lower"],
            table["outcome_upper"],
            strict=True,
        )
    ]
    table.loc[table["grouping"] == OVERALL, ["quadrant", "clear"]] = "(where the lines are)"
    table["cost_interval"] = [
        shown_interval("cost", "cost_mean", lo, hi)
        for lo, hi in zip(table["cost_lower"], table["cost_upper"], strict=True)
    ]
    outcome_kind = "rate" if kind == "rate" else "mean"
    table["outcome_interval"] = [
        shown_interval(outcome_kind, "", lo, hi)
        for lo, hi in zip(table["outcome_lower"], table["outcome_upper"], strict=True)
    ]
    per_100k, cost_per_good = f"{equation.id}__per_100k", f"{equation.id}__cost_per_good"
    table["per_100k_interval"] = [
        shown_interval("value", per_100k, lo, hi)
        for lo, hi in zip(table["per_100k_lower"], table["per_100k_upper"], strict=True)
    ]
    table["cost_per_good_interval"] = [
        shown_interval("value", cost_per_good, lo, hi)
        for lo, hi in zip(table["cost_per_good_lower"], table["cost_per_good_upper"], strict=True)
    ]
    table["suppressed"] = False
    table["note"] = None
    return table


def _translucent(colour: str, alpha: float = 0.35) -> str:
    red, green, blue = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgba({red},{green},{blue},{alpha})"


def _value_map_figure(table: pd.DataFrame, y_title: str, kind: str) -> dict:
    everyone = table[table["grouping"] == OVERALL]
    data = []
    symbols = {"Site": "circle", "Team": "square", "Financial year": "diamond"}
    y_hover = "%{y:.1%}" if kind == "rate" else "%{y:.2f}"
    for number, (_, label) in enumerate(GROUPINGS):
        points = table[
            (table["grouping"] == label) & table["cost_mean"].notna() & table["outcome"].notna()
        ]
        if points.empty:
            continue
        colour = charts.PALETTE[number]
        whisker = _translucent(colour)
        data.append(
            {
                "type": "scatter",
                "mode": "markers+text",
                "name": label,
                "x": charts.clean(points["cost_mean"]),
                "y": charts.clean(points["outcome"]),
                "text": [str(c) for c in points["cell"]],
                "textposition": "top center",
                "marker": {
                    "color": colour,
                    "size": 11,
                    "symbol": symbols[label],
                    "line": {"color": "#ffffff", "width": 1},
                },
                "error_x": {
                    "type": "data",
                    "symmetric": False,
                    "array": charts.clean(points["cost_upper"] - points["cost_mean"]),
                    "arrayminus": charts.clean(points["cost_mean"] - points["cost_lower"]),
                    "color": whisker,
                    "thickness": 1.5,
                    "width": 0,
                },
                "error_y": {
                    "type": "data",
                    "symmetric": False,
                    "array": charts.clean(points["outcome_upper"] - points["outcome"]),
                    "arrayminus": charts.clean(points["outcome"] - points["outcome_lower"]),
                    "color": whisker,
                    "thickness": 1.5,
                    "width": 0,
                },
                "hovertemplate": (
                    f"{label} %{{text}}<br>Mean cost £%{{x:,.0f}}<br>"
                    f"Outcome {y_hover}<extra></extra>"
                ),
            }
        )
    layout = charts.layout(x_title="Mean cost per episode (£)", y_title=y_title, height=460)
    layout["xaxis"].update({"tickprefix": "£", "tickformat": ",.0f"})
    if kind == "rate":
        layout["yaxis"]["tickformat"] = ".0%"
    shapes, annotations = [], []
    if len(everyone) and not everyone[["cost_mean", "outcome"]].isna().any(axis=None):
        cost_line = float(everyone["cost_mean"].iloc[0])
        outcome_line = float(everyone["outcome"].iloc[0])
        line = {"color": charts.GREY, "dash": "dash", "width": 1}
        shapes = [
            {
                "type": "line",
                "xref": "x",
                "yref": "paper",
                "x0": cost_line,
                "x1": cost_line,
                "y0": 0,
                "y1": 1,
                "line": line,
            },
            {
                "type": "line",
                "xref": "paper",
                "yref": "y",
                "x0": 0,
                "x1": 1,
                "y0": outcome_line,
                "y1": outcome_line,
                "line": line,
            },
        ]
        for x, y, anchor_x, anchor_y, text in (
            (0, 1, "left", "top", "Better outcomes, lower cost"),
            (1, 1, "right", "top", "Better outcomes, higher cost"),
            (0, 0, "left", "bottom", "Worse outcomes, lower cost"),
            (1, 0, "right", "bottom", "Worse outcomes, higher cost"),
        ):
            annotations.append(
                {
                    "xref": "paper",
                    "yref": "paper",
                    "x": x,
                    "y": y,
                    "xanchor": anchor_x,
                    "yanchor": anchor_y,
                    "text": text,
                    "showarrow": False,
                    "font": {"size": 11, "color": charts.GREY},
                }
            )
    layout["shapes"], layout["annotations"] = shapes, annotations
    return {"data": data, "layout": layout}


# ---------------------------------------------------------------- the page


def build(ctx: PageContext) -> Page:
    episodes = ctx.episodes
    pack = ctx.pack
    page = Page(
        title="Value",
        lead=(
            f"{len(episodes):,} episodes ({ctx.filters.describe()}). Value is the outcomes "
            "that matter to patients divided by the cost of the care that achieved them; "
            "each figure has its 95% interval."
        ),
    )
    names = {e.id: e.name for e in pack.value_equations}
    if not pack.value_equations:
        page.messages.append("This condition pack defines no value equation.")
    if episodes.empty:
        page.messages.append("No episodes match these filters.")
    elif pack.value_equations:
        per_grouping = {"": _by_metric(group_metrics(pack, episodes), "")}
        for column, _ in GROUPINGS:
            if column in episodes.columns:
                per_grouping[column] = _by_metric(group_metrics(pack, episodes, (column,)), column)
        page.panels.append(_value_map(ctx, per_grouping))
        page.panels.append(_equations(ctx, per_grouping))
    composite = _weights(ctx)
    if composite is not None:
        page.panels.append(composite)
    sensitivity = _sensitivity(ctx, names)
    if sensitivity is not None:
        page.panels.append(sensitivity)
    elif composite is not None:
        page.messages.append("This run published no weight sensitivity check for this condition.")
    return page


def _value_map(ctx: PageContext, per_grouping: dict[str, pd.DataFrame]) -> Panel:
    equation = scatter_equation(ctx.pack)
    _, y_title, kind = outcome_axis(ctx.pack, equation)
    table = value_map_table(ctx, equation, per_grouping)
    outcome_kind = "rate" if kind == "rate" else "number"
    panel = Panel(
        id="value-map",
        title="Outcomes against cost",
        sentence=(
            f"Each site, team and financial year: {y_title[0].lower()}{y_title[1:]} "
            "(higher is better) against mean cost per episode, with lines at the mean "
            f"of {ctx.filters.describe()}; top-left: better outcomes at lower cost, "
            "bottom-right: worse outcomes at higher cost."
        ),
        table=table,
        columns=[
            Column("label", "Cell"),
            Column("n", "Episodes", "count"),
            Column("n_used", "Complete cases", "count"),
            Column("cost_mean", "Mean cost per episode", "money"),
            Column("cost_interval", "Cost 95% CI"),
            Column("outcome", y_title, outcome_kind),
            Column("outcome_interval", "Outcome 95% CI"),
            Column("per_100k", "Good outcomes per £100,000", "number"),
            Column("per_100k_interval", "Good outcomes 95% CI"),
            Column("cost_per_good", "£ per good outcome", "money"),
            Column("cost_per_good_interval", "£ per good outcome 95% CI"),
            Column("quadrant", "Quadrant"),
            Column("clear", "Beyond chance?"),
            Column("note", "Note"),
        ],
        caption=f"Outcomes against cost: {equation.name}",
        disclosure=Disclosure("n_used", MAP_FIGURES, within=("grouping",)),
        understand={
            "Outcome": (
                f"{equation.name}. {equation.definition} Each outcome is on a 0 to 1 "
                "scale where 1 is best (an outcome where lower is better is reversed), "
                "so higher is better on the vertical axis."
            ),
            "Cost": "Mean whole-pathway cost per episode from the costing run (PLICS, in "
            "pounds), over every episode of the cell.",
            "Quadrants": "The lines are the mean cost and outcome of all the episodes in the "
            "filters. A cell is only clearly in its quadrant when both its "
            "intervals are clear of the lines ('Beyond chance?').",
            "Complete cases": "Episodes with the equation's outcomes measured and their "
            "windows closed; the outcome and value figures rest on these.",
            "Small numbers": f"A cell's figures are shown only when it has at least "
            f"{ctx.min_cell} complete cases; such cells are not drawn.",
            "Source": f"Run {ctx.run_id}, condition pack {ctx.pack.id} "
            f"v{ctx.pack.governance.version}",
        },
    )
    ctx.protect(panel)  # before drawing: the chart shows only what the table shows
    everyone = (
        panel.table[panel.table["grouping"] == OVERALL] if not panel.table.empty else panel.table
    )
    if len(everyone) and int(everyone["n_used"].iloc[0]) == 0:
        panel.notes.append(
            "No episode in these filters has the outcome measured with its "
            "follow-up window closed yet, so there are no outcome or value "
            "figures to plot; mean cost per episode is on the Cost page."
        )
    if not panel.table.empty:
        panel.figure = _value_map_figure(panel.table, y_title, kind)
        hidden = panel.table[panel.table["suppressed"].eq(True)]
        if len(hidden):
            panel.notes.append(
                f"{len(hidden)} of {len(panel.table)} cells are too few to "
                "report and are not drawn."
            )
    return panel


def _equations(ctx: PageContext, per_grouping: dict[str, pd.DataFrame]) -> Panel:
    parts = []
    for equation in ctx.pack.value_equations:
        for column in ("", "site"):
            per = per_grouping.get(column)
            if per is None or per.empty:
                continue
            value = _metric(per, f"{equation.id}__per_100k")
            per_good = _metric(per, f"{equation.id}__cost_per_good").reindex(value.index)
            parts.append(
                pd.DataFrame(
                    {
                        "equation": equation.id,
                        "name": equation.name,
                        "cell": [OVERALL if not column else f"Site {c}" for c in value.index],
                        "cost": cost_words(ctx.pack, equation),
                        "n": value["n"].astype("int64").to_numpy(),
                        "n_used": value["n_used"].astype("int64").to_numpy(),
                        "per_100k": value["value"].to_numpy(),
                        "per_100k_lower": value["lower"].to_numpy(),
                        "per_100k_upper": value["upper"].to_numpy(),
                        "cost_per_good": per_good["value"].to_numpy(),
                        "cost_per_good_lower": per_good["lower"].to_numpy(),
                        "cost_per_good_upper": per_good["upper"].to_numpy(),
                        "note": value["note"].to_numpy(),
                    }
                )
            )
    table = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()
    if not table.empty:
        table["per_100k_interval"] = [
            shown_interval("value", "x__per_100k", lo, hi)
            for lo, hi in zip(table["per_100k_lower"], table["per_100k_upper"], strict=True)
        ]
        table["cost_per_good_interval"] = [
            shown_interval("value", "x__cost_per_good", lo, hi)
            for lo, hi in zip(
                table["cost_per_good_lower"], table["cost_per_good_upper"], strict=True
            )
        ]
    panel = Panel(
        id="value-equations",
        title="The value equations",
        sentence=(
            f"Each of the pack's value equations over {ctx.filters.describe()} and for "
            "each site: good outcomes per £100,000 spent (higher is better) and £ per "
            "good outcome (lower is better), with 95% intervals."
        ),
        table=table,
        columns=[
            Column("name", "Value equation"),
            Column("cell", "Cell"),
            Column("cost", "Cost counted"),
            Column("n", "Episodes", "count"),
            Column("n_used", "Complete cases", "count"),
            Column("per_100k", "Good outcomes per £100,000", "number"),
            Column("per_100k_interval", "Good outcomes 95% CI"),
            Column("cost_per_good", "£ per good outcome", "money"),
            Column("cost_per_good_interval", "£ per good outcome 95% CI"),
            Column("note", "Note"),
        ],
        disclosure=Disclosure("n_used", EQUATION_FIGURES, within=("equation",)),
        understand={
            **{e.name: e.definition for e in ctx.pack.value_equations},
            "How it is worked out": "Good outcomes (each outcome on a 0 to 1 scale where 1 "
            "is best, weighted) summed over the complete cases and "
            "divided by their cost; ratio-estimator intervals "
            "(docs/outcomes.md).",
            "Small numbers": f"Figures resting on fewer than {ctx.min_cell} complete cases "
            "are shown as 'too few to report'.",
            "Source": f"Run {ctx.run_id}, condition pack {ctx.pack.id} "
            f"v{ctx.pack.governance.version}",
        },
    )
    ctx.protect(panel)
    table = panel.table
    if not table.empty:
        series = []
        for equation in ctx.pack.value_equations:
            mine = table[table["equation"] == equation.id]
            series.append(
                {
                    "title": equation.name,
                    "labels": mine["cell"].tolist(),
                    "value": mine["per_100k"],
                    "lower": mine["per_100k_lower"],
                    "upper": mine["per_100k_upper"],
                    "kind": "number",
                    "x_title": "Good outcomes per £100,000",
                }
            )
        panel.figure = charts.dot_whisker(series, side_by_side=False)
    return panel


def _weights(ctx: PageContext) -> Panel | None:
    """The composite index's weights: the pack's and every set the sensitivity tries."""
    composites = [e for e in ctx.pack.value_equations if len(weight_sets(e)) > 1]
    if not composites:
        return None
    outcomes = {o.id: o for o in ctx.pack.outcomes}
    set_names = list(dict.fromkeys(name for e in composites for name, _ in weight_sets(e)))
    rows = []
    for equation in composites:
        sets = dict(weight_sets(equation))
        ids = list(dict.fromkeys(t.outcome for _, terms in sets.items() for t in terms))
        for outcome_id in ids:
            outcome = outcomes.get(outcome_id)
            row = {
                "equation": equation.name,
                "outcome": outcome.name if outcome else outcome_id,
                "counted": _counted(outcome),
            }
            for number, name in enumerate(set_names):
                terms = sets.get(name)
                row[f"weight_{number}"] = (
                    None
                    if terms is None
                    else sum(t.weight for t in terms if t.outcome == outcome_id)
                )
            rows.append(row)
    table = pd.DataFrame(rows)
    data = []
    for number, name in enumerate(set_names):
        data.append(
            {
                "type": "bar",
                "orientation": "h",
                "name": name.capitalize(),
                "y": table["outcome"].tolist(),
                "x": charts.clean(table[f"weight_{number}"]),
                "marker": {"color": charts.PALETTE[number % len(charts.PALETTE)]},
                "hovertemplate": f"{name}: %{{x:.2f}}<extra>%{{y}}</extra>",
            }
        )
    layout = charts.layout(
        x_title="Weight (the weights of a set sum to 1)",
        height=max(300, 160 + 20 * len(table) * max(1, len(set_names))),
    )
    layout["barmode"] = "group"
    layout["legend"]["y"] = -0.35
    layout["margin"]["b"] = 110
    layout["margin"]["l"] = 200
    layout["yaxis"]["autorange"] = "reversed"
    layout["yaxis"]["automargin"] = True
    names = ", ".join(e.name for e in composites)
    return Panel(
        id="composite-weights",
        title="The composite index and its weights",
        sentence=(
            f"How much each outcome counts in {names}: the pack's weights beside equal "
            "weights and each alternative set the sensitivity check tries."
        ),
        table=table,
        columns=[
            Column("equation", "Value equation"),
            Column("outcome", "Outcome"),
            Column("counted", "Counted as a good outcome"),
            *[
                Column(f"weight_{n}", f"Weight: {name}", "number")
                for n, name in enumerate(set_names)
            ],
        ],
        figure={"data": data, "layout": layout},
        notes=[f"{e.name}: {e.why}" for e in composites if e.why],
        understand={
            "Scale": "Each outcome is put on a 0 to 1 scale where 1 is best before weighting: "
            "a yes/no outcome counts 1 when it is the good result; a number is scaled "
            "between the lowest and highest measured values of the condition.",
            "Complete cases": "The index is blank for an episode missing any of its outcomes, "
            "so a missing PROM counts neither for nor against.",
            "Source": f"Condition pack {ctx.pack.id} v{ctx.pack.governance.version}",
        },
    )


def _counted(outcome) -> str:
    if outcome is None:
        return ""
    lower = outcome.direction == "lower_is_better"
    if is_binary(outcome):
        return "when it does not happen (lower is better)" if lower else "when it happens"
    return "scaled 0 to 1, lowest value best" if lower else "scaled 0 to 1, highest value best"


def _sensitivity(ctx: PageContext, names: dict[str, str]) -> Panel | None:
    rows = ctx.table("value_sensitivity")
    if rows.empty:
        return None
    rows = rows.copy()
    sentences = sensitivity_sentences(rows, names)
    main = {
        (r["equation"], r["compared"]): parse_ranking(r["ranking"])
        for r in rows[rows["weight_set"] == PACK_WEIGHTS].to_dict("records")
    }
    rows["name"] = rows["equation"].map(names).fillna(rows["equation"])
    rows["compared_words"] = rows["compared"].map(COMPARED_WORDS).fillna(rows["compared"])
    rows["same"] = np.where(
        rows["weight_set"] == PACK_WEIGHTS,
        "(the ranking compared with)",
        np.where(rows["same_order"].astype(bool), "yes", "no"),
    )
    rows["moves"] = [
        "" if w == PACK_WEIGHTS else ", ".join(rank_moves(main.get((e, c), []), parse_ranking(r)))
        for e, c, w, r in zip(
            rows["equation"], rows["compared"], rows["weight_set"], rows["ranking"], strict=True
        )
    ]
    return Panel(
        id="weight-sensitivity",
        title="Do the rankings depend on the weights?",
        sentence=(
            "Sites, teams and financial years ranked by the composite index under the "
            "pack's weights, equal weights and each alternative set, and whether the "
            "order changes (worked out by the run over every episode; the filters do "
            "not apply)."
        ),
        table=rows,
        columns=[
            Column("name", "Value equation"),
            Column("compared_words", "Ranking of"),
            Column("weight_set", "Weights"),
            Column("cells", "Cells ranked", "count"),
            Column("same", "Same order as the pack's weights?"),
            Column("kendall_tau", "Kendall's tau", "number"),
            Column("moves", "Changes of place"),
            Column("ranking", "Ranking (good outcomes per £100,000)"),
        ],
        notes=sentences,
        understand={
            "What is ranked": f"Only cells with at least {ctx.min_cell} complete episodes are "
            "ranked; the others cannot be reported, so cannot be ranked.",
            "Kendall's tau": "1 is the same order, -1 the reverse; blank when fewer than two "
            "cells could be ranked.",
            "Source": f"The run's value_sensitivity table, run {ctx.run_id}",
        },
    )
