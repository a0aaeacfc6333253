"""Cost along the pathway: where the money goes for the episodes the filters keep.

Every figure is for the filtered episodes: ``episode_costs`` rows are joined to
``ctx.episodes`` by episode_id, so period, site, team and population group all apply. The
top-down method (PLICS, or the trust's imported costs) is summed; the TDABC rows a stage
with a process map carries sit beside it for comparison only, so no pound is counted twice.

Money is summed in whole pennies (the run's amounts are exact pennies), so the stage totals
add up to the whole-cycle total of the same episodes exactly. Each panel's table goes
through ``carevalue.disclosure`` (the view protects it); the charts are drawn from the
protected tables, so a chart never shows what its table hides. For roles with secondary
suppression a stage hidden in the stage table is hidden in every panel that could give it
away by subtraction.
"""

from __future__ import annotations

import itertools
import json
import math
import textwrap
import threading
from collections import OrderedDict
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from carevalue.costing import METHOD_TDABC, cost_model, load_tdabc_model
from carevalue.disclosure import TOO_FEW
from carevalue.errors import UserError
from carevalue.reports import display
from carevalue.web import charts
from carevalue.web.pages import PageContext
from carevalue.web.panels import Card, Column, Disclosure, Page, Panel

OTHER = "other"
TOP_DRIVERS = 15
TOP_PROVENANCE = 50
PERCENTILES = (10, 25, 50, 75, 90)
HISTOGRAM_BINS = 24
TAIL_PERCENTILE = 95  # the histogram's last bar holds every episode above this centile
TDABC_COLOURS = (charts.IMPROVEMENT, "#9fdcf3")
SECONDARY_NOTE = f"{TOO_FEW}: hidden with a smaller cell so that cell cannot be worked out"

MONEY_FIGURES = ("total", "mean_per_episode", "mean_per_user", "share")


# --- the condition's cost rows, prepared once per run --------------------------------------


@dataclass(frozen=True)
class _Prepared:
    """The condition's top-down rows as integer codes and whole pennies, so that every
    grouping below is a ``np.bincount`` (milliseconds at 100k rows), and the TDABC rows."""

    episode_ids: pd.Index  # position = episode code
    ep: np.ndarray  # per top-down row: episode code
    stage: np.ndarray  # codes into ``stages``
    resource: np.ndarray  # codes into ``resources``
    department: np.ndarray  # codes into ``departments``
    line: np.ndarray  # codes into ``lines`` (provenance × resource × department)
    pennies: np.ndarray
    activities: np.ndarray
    stages: list[str]
    resources: list[str]
    departments: list[str]
    lines: pd.DataFrame  # provenance, resource, department
    tdabc: pd.DataFrame  # the TDABC rows: episode_id, stage, resource, provenance, …
    method: str
    costing: dict  # the run's costing summary (runs.costing)
    ledger: _Ledger | None  # the run's reconciliation; None when costs were imported

    def rows(self, keep: np.ndarray) -> _Rows:
        return _Rows(
            self,
            self.ep[keep],
            self.stage[keep],
            self.resource[keep],
            self.department[keep],
            self.line[keep],
            self.pennies[keep],
            self.activities[keep],
        )


@dataclass(frozen=True)
class _Rows:
    """The top-down rows of the episodes in view."""

    of: _Prepared
    ep: np.ndarray
    stage: np.ndarray
    resource: np.ndarray
    department: np.ndarray
    line: np.ndarray
    pennies: np.ndarray
    activities: np.ndarray

    def where(self, keep: np.ndarray) -> _Rows:
        return _Rows(
            self.of,
            self.ep[keep],
            self.stage[keep],
            self.resource[keep],
            self.department[keep],
            self.line[keep],
            self.pennies[keep],
            self.activities[keep],
        )

    def cells(self, key: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per cell code 0..size-1: total pennies, activities, and distinct episodes."""
        total = np.bincount(key, weights=self.pennies, minlength=size)
        activities = np.bincount(key, weights=self.activities, minlength=size)
        episodes_n = len(self.of.episode_ids) or 1
        pairs = np.unique(key.astype("int64") * episodes_n + self.ep)
        episodes = np.bincount(pairs // episodes_n, minlength=size)
        # Sums of whole pennies in float64 are exact below 2^53 pennies.
        return np.rint(total).astype("int64"), np.rint(activities).astype("int64"), episodes


@dataclass(frozen=True)
class _Ledger:
    """The run's reconciliation to the ledger in whole pennies (whole trust, every month)."""

    quantum: int
    left_out: int
    in_pools: int
    allocated: int
    unallocated: int
    reasons: tuple[tuple[str, int], ...]
    pools_off: int

    @property
    def gap(self) -> int:
        return self.quantum - self.allocated - self.unallocated


def _ledger(ctx: PageContext) -> _Ledger | None:
    rec = ctx.table("cost_reconciliation")
    quantum = ctx.table("cost_quantum")
    if rec.empty or quantum.empty:
        return None
    in_quantum = quantum["in_quantum"].astype("boolean").fillna(False).to_numpy(dtype=bool)
    amounts = _pennies(quantum["amount"])
    unallocated = _pennies(rec["unallocated"])
    reasons = (
        pd.Series(unallocated, index=rec.index)
        .groupby(rec["unallocated_reason"].astype("string").fillna(""))
        .sum()
    )
    return _Ledger(
        quantum=int(amounts[in_quantum].sum()),
        left_out=int(amounts[~in_quantum].sum()),
        in_pools=int(_pennies(rec["cost_in_pool"]).sum()),
        allocated=int(_pennies(rec["allocated"]).sum()),
        unallocated=int(unallocated.sum()),
        reasons=tuple((str(r), int(a)) for r, a in reasons.items() if r),
        pools_off=int((_pennies(rec["difference"]) != 0).sum()),
    )


def _run_costing(ctx: PageContext) -> dict:
    runs = ctx.table("runs")
    if runs.empty or "costing" not in runs.columns:
        return {}
    mine = runs[runs["run_id"] == ctx.run_id] if "run_id" in runs.columns else runs
    if mine.empty:
        return {}
    value = mine["costing"].iloc[-1]
    try:
        return json.loads(value) if isinstance(value, str) else dict(value or {})
    except (ValueError, TypeError):
        return {}


_prepared: OrderedDict[tuple[str, str], _Prepared] = OrderedDict()
_lock = threading.Lock()
_KEEP_PREPARED = 16


def _pennies(amounts: pd.Series) -> np.ndarray:
    """Money (Decimal, float or text) as whole pennies. Amounts are exact pennies below
    2^53 / 100 pounds, so the float step cannot move a penny."""
    return np.rint(pd.to_numeric(amounts, errors="coerce").to_numpy(dtype="float64") * 100).astype(
        "int64"
    )


def _codes(values: pd.Series, fill: str) -> tuple[np.ndarray, list[str]]:
    codes, uniques = pd.factorize(values.astype("string").fillna(fill), sort=True)
    return codes.astype("int64"), [str(u) for u in uniques]


def _read_costs(ctx: PageContext) -> pd.DataFrame:
    """The condition's ``episode_costs`` rows from the snapshot, amounts as float pounds.
    Read with pyarrow rather than ``ctx.table``: turning 100k decimal amounts into Python
    Decimal objects (as pandas does) and back takes seconds; Arrow casts them at once."""
    if not ctx.snapshot.has("episode_costs"):
        return pd.DataFrame()
    table = pq.read_table(
        ctx.snapshot.parquet_path("episode_costs"), filters=[("condition", "==", ctx.condition)]
    )
    if "amount" in table.column_names:
        at = table.column_names.index("amount")
        table = table.set_column(at, "amount", pc.cast(table["amount"], pa.float64()))
    return table.to_pandas()


def _prepare(ctx: PageContext) -> _Prepared | None:
    """The condition's cost rows ready to group, made once per snapshot and condition and
    kept (bounded) for the next request: a snapshot never changes."""
    key = (str(ctx.snapshot.path), ctx.condition)
    with _lock:
        found = _prepared.get(key)
        if found is not None:
            _prepared.move_to_end(key)
            return found
    costs = _read_costs(ctx)
    if costs.empty:
        return None
    tdabc = (costs["method"] == METHOD_TDABC).to_numpy(dtype=bool)
    top = costs[~tdabc]
    ep, episode_ids = _codes(top["episode_id"], "")
    stage, stages = _codes(top["stage"], OTHER)
    resource, resources = _codes(top["resource"], "unspecified")
    department, departments = _codes(top["department"], "")
    provenance = top["provenance"].astype("string").fillna("")
    triple = pd.DataFrame(
        {
            "provenance": provenance.to_numpy(),
            "resource": np.asarray(resources, dtype=object)[resource],
            "department": np.asarray(departments, dtype=object)[department],
        }
    )
    line = (
        triple.groupby(["provenance", "resource", "department"], sort=True)
        .ngroup()
        .to_numpy(dtype="int64")
    )
    lines = (
        triple.drop_duplicates()
        .sort_values(["provenance", "resource", "department"])
        .reset_index(drop=True)
    )
    methods = top["method"].astype("string").dropna().unique().tolist()
    prepared = _Prepared(
        episode_ids=pd.Index(episode_ids),
        ep=ep,
        stage=stage,
        resource=resource,
        department=department,
        line=line,
        pennies=_pennies(top["amount"]),
        activities=pd.to_numeric(top["activities"], errors="coerce")
        .fillna(0)
        .to_numpy(dtype="int64"),
        stages=stages,
        resources=resources,
        departments=departments,
        lines=lines,
        tdabc=pd.DataFrame(
            {
                "episode_id": costs.loc[tdabc, "episode_id"].astype("string").to_numpy(),
                "stage": costs.loc[tdabc, "stage"].astype("string").to_numpy(),
                "resource": costs.loc[tdabc, "resource"].astype("string").to_numpy(),
                "provenance": costs.loc[tdabc, "provenance"].astype("string").to_numpy(),
                "pennies": _pennies(costs.loc[tdabc, "amount"]),
            }
        ),
        method=", ".join(sorted(map(str, methods))) or "plics",
        costing=_run_costing(ctx),
        ledger=_ledger(ctx),
    )
    with _lock:
        _prepared[key] = prepared
        while len(_prepared) > _KEEP_PREPARED:
            _prepared.popitem(last=False)
    return prepared


def _in_view(prepared: _Prepared, episodes: pd.DataFrame) -> _Rows:
    """The top-down rows of the filtered episodes (joined by episode_id)."""
    wanted = prepared.episode_ids.get_indexer(episodes["episode_id"].astype("string"))
    keep = np.zeros(len(prepared.episode_ids), dtype=bool)
    keep[wanted[wanted >= 0]] = True
    return prepared.rows(keep[prepared.ep])


# --- stage names and order -----------------------------------------------------------------


def _stage_names(ctx: PageContext) -> dict[str, str]:
    names = {stage.id: stage.name for stage in ctx.pack.stages}
    names[OTHER] = "Other (in the cycle, no stage)"
    return names


def _ordered(stages, names: dict[str, str]) -> list[str]:
    """The pack's stages in the pack's order, then 'other', then any stage the pack no
    longer names (a run made with an older pack)."""
    present = set(map(str, stages))
    known = [s for s in names if s in present]
    return known + sorted(present - set(known))


# --- disclosure helpers ----------------------------------------------------------------------


def _hide(table: pd.DataFrame, where: np.ndarray, figures: tuple[str, ...], note: str) -> None:
    """Blank ``figures`` on the rows ``where`` (in place), marking them suppressed."""
    if not where.any():
        return
    for column in figures:
        if column in table.columns:
            table[column] = table[column].astype("float64").mask(where)
    before = (
        table["suppressed"].eq(True).to_numpy()
        if "suppressed" in table.columns
        else np.zeros(len(table), dtype=bool)
    )
    notes = table["note"] if "note" in table.columns else pd.Series(None, index=table.index)
    table["note"] = np.where(where & ~before, note, notes.astype("object"))
    table["suppressed"] = before | where


def _blank_figure_values(values: pd.Series) -> list:
    return charts.clean(values.astype("float64").round(2))


def _short(label: str, width: int = 20) -> str:
    """A long axis label shortened (the full label is in the hover and the table)."""
    return textwrap.shorten(str(label), width, placeholder="…")


def _stage_axis(figure: dict, labels: list[str], *, y_title: str) -> dict:
    """Stages along x with short slanted labels; money up the y axis."""
    axis = figure["layout"]["xaxis"]
    axis.update(
        tickmode="array",
        tickvals=labels,
        ticktext=[_short(x) for x in labels],
        tickangle=-35 if len(labels) > 3 else 0,
        automargin=True,
    )
    axis["title"] = {"text": ""}
    figure["layout"]["yaxis"].update(tickprefix="£", tickformat=",.0f", title={"text": y_title})
    figure["layout"]["margin"]["b"] = 90
    return figure


def _colour(resources: list[str], resource: str) -> str:
    """Each resource keeps its colour whatever the filters (its place among the condition's
    resources)."""
    at = resources.index(resource) if resource in resources else len(resources)
    return charts.PALETTE[at % len(charts.PALETTE)]


# --- the page --------------------------------------------------------------------------------


def build(ctx: PageContext) -> Page:
    episodes = ctx.episodes
    n = len(episodes)
    page = Page(
        title="Cost along the pathway",
        lead=(
            f"{n:,} episodes of {ctx.pack.governance.name.lower()} care "
            f"({ctx.filters.describe()}): what each stage of the pathway costs, what drives "
            "it, and how the costing reconciles to the ledger."
        ),
    )
    prepared = _prepare(ctx)
    if prepared is None:
        page.messages.append(
            "This run was not costed, so there are no costs to show "
            "(a run needs --costing-rules or --imported-costs)."
        )
        return page
    if episodes.empty:
        page.messages.append("No episodes match these filters.")
        page.panels.append(_reconciliation_panel(ctx, prepared))
        return page

    rows = _in_view(prepared, episodes)
    names = _stage_names(ctx)
    whole = (
        pd.to_numeric(episodes["cost_whole_cycle"], errors="coerce").fillna(0.0)
        if "cost_whole_cycle" in episodes.columns
        else pd.Series(dtype="float64")
    )
    total_pennies = int(rows.pennies.sum())

    page.cards.extend(_cards(ctx, n, total_pennies, whole))

    stages = _stage_panel(ctx, rows, n, total_pennies, names)
    hidden_stages = set(stages.table.loc[stages.table["suppressed"].eq(True), "stage_id"])
    resources = _stage_resource_panel(ctx, rows, n, names, hidden_stages)
    page.panels.append(resources)
    page.panels.append(stages)
    page.panels.append(_distribution_panel(ctx, whole))
    page.panels.append(
        _drivers_panel(ctx, rows, n, total_pennies, names, hidden_stages, resources.table)
    )
    page.panels.extend(_tdabc_panels(ctx, prepared, rows, hidden_stages, page))
    if ctx.costing_detail:
        provenance = _provenance_panels(ctx, rows, names)
        page.panels.extend(provenance)
        # Each stage row links to its provenance table further down this page.
        stages.links = {
            names.get(p.id.removeprefix("provenance-"), p.id): f"{ctx.url('cost')}#panel-{p.id}"
            for p in provenance
        }
    else:
        page.messages.append(
            "Where each stage's cost comes from (the ledger lines and cost pools behind it, "
            "and the steps of a TDABC process map) is shown to finance, service managers and "
            "team leads."
        )
    page.panels.append(_reconciliation_panel(ctx, prepared))
    return page


# --- headline cards ----------------------------------------------------------------------------


def _cards(ctx: PageContext, n: int, total_pennies: int, whole: pd.Series) -> list[Card]:
    enough = n >= ctx.min_cell
    few = TOO_FEW
    return [
        Card(
            label="Episodes",
            value=f"{n:,}",
            detail=ctx.filters.describe(),
            help="Care cycles that began in the period and meet the pack's cohort rules.",
        ),
        Card(
            label="Mean cost per episode",
            value=display.money(total_pennies / 100 / n) if enough else few,
            detail=f"{n:,} episodes",
            improvement="neutral",
            help="Whole-cycle cost of the episodes divided by their number (top-down method).",
        ),
        Card(
            label="Median cost per episode",
            value=display.money(float(whole.median())) if enough and len(whole) else few,
            detail=f"{n:,} episodes",
            improvement="neutral",
            help="Half the episodes cost less than this, half more.",
        ),
        Card(
            label="Total cost of these episodes",
            value=display.money(total_pennies / 100) if enough else few,
            detail="in the care cycle, all stages",
            improvement="neutral",
            help="Every pound the costing gave these episodes' care cycles.",
        ),
    ]


# --- cost by stage (waterfall) ----------------------------------------------------------------


def _stage_panel(
    ctx: PageContext, rows: _Rows, n: int, total_pennies: int, names: dict[str, str]
) -> Panel:
    stages = rows.of.stages
    total, _, episodes = rows.cells(rows.stage, len(stages))
    present = [stages[i] for i in np.flatnonzero(episodes)]
    order = _ordered(present, names)
    at = [stages.index(s) for s in order]
    table = pd.DataFrame(
        {
            "stage_id": order,
            "stage": [names.get(s, s) for s in order],
            "episodes": episodes[at].astype("int64"),
            "total": total[at].astype("float64") / 100,
        }
    )
    table["mean_per_episode"] = table["total"] / n
    table["mean_per_user"] = table["total"] / table["episodes"]
    table["share"] = table["total"] / (total_pennies / 100) if total_pennies else np.nan
    whole_row = pd.DataFrame(
        [
            {
                "stage_id": "",
                "stage": "Whole cycle",
                "episodes": n,
                "total": total_pennies / 100,
                "mean_per_episode": total_pennies / 100 / n,
                "mean_per_user": total_pennies / 100 / n,
                "share": 1.0 if total_pennies else np.nan,
            }
        ]
    )
    table = pd.concat([table, whole_row], ignore_index=True)
    panel = Panel(
        id="stages",
        title="Mean cost per episode, stage by stage",
        sentence=(
            "How the mean cost per episode builds up stage by stage along the pathway to "
            "the whole-cycle mean, for "
            f"{ctx.filters.describe()}; each stage's share of the whole is beside it."
        ),
        table=table,
        columns=[
            Column("stage", "Stage"),
            Column("episodes", "Episodes reaching the stage", "count"),
            Column("total", "Total cost", "money"),
            Column("mean_per_episode", "Mean per episode", "money"),
            Column("mean_per_user", "Mean per episode reaching the stage", "money"),
            Column("share", "Share of the whole", "rate"),
        ],
        caption=f"Cost by stage, {ctx.filters.describe()}",
        disclosure=Disclosure("episodes", MONEY_FIGURES),
        understand={
            "Definition": "Mean per episode: the stage's total cost divided by every episode "
            "in view (so the stages add up to the whole-cycle mean). Mean per "
            "episode reaching the stage: divided by the episodes with any cost "
            "in it.",
            "Source": f"episode_costs of run {ctx.run_id} ({_method_words(rows.of)}), pack "
            f"{ctx.pack.id} v{ctx.pack.governance.version}; stages as the pack "
            "defines them, 'other' for care in the cycle that matches no stage.",
            "Direction": "Neutral: a higher cost is neither better nor worse on its own; "
            "read it beside the outcomes on the Value page.",
            "Small numbers": f"A stage reached by fewer than {ctx.min_cell} episodes shows "
            "'too few to report'.",
        },
    )
    ctx.protect(panel)
    panel.figure = _waterfall(panel.table)
    if panel.table["suppressed"].eq(True).any():
        panel.notes.append(
            "Stages with too few episodes to report are drawn together as one "
            "bar, so the chart still adds up to the whole-cycle mean."
        )
    return panel


def _waterfall(table: pd.DataFrame) -> dict | None:
    stages = table[table["stage_id"] != ""]
    whole = table[table["stage_id"] == ""]
    whole_mean = whole["mean_per_episode"].iloc[0]
    if pd.isna(whole_mean):
        return None
    shown = stages[stages["mean_per_episode"].notna()]
    x = shown["stage"].tolist()
    y = [round(float(v), 2) for v in shown["mean_per_episode"]]
    hidden = stages["mean_per_episode"].isna()
    if hidden.any():
        x.append(f"{int(hidden.sum())} stages: {TOO_FEW}")
        y.append(round(float(whole_mean) - sum(y), 2))
    measure = ["relative"] * len(x) + ["total"]
    x.append("Whole cycle")
    y.append(round(float(whole_mean), 2))
    figure = {
        "data": [
            {
                "type": "waterfall",
                "x": x,
                "y": y,
                "measure": measure,
                "text": [display.money(v) for v in y],
                "textposition": "outside",
                "cliponaxis": False,
                "connector": {"line": {"color": charts.GREY, "width": 1}},
                "increasing": {"marker": {"color": charts.BLUE}},
                "decreasing": {"marker": {"color": charts.GREEN}},
                "totals": {"marker": {"color": charts.DARK_BLUE}},
                "hovertemplate": "%{x}: £%{y:,.0f}<extra></extra>",
                "name": "Mean cost per episode",
            }
        ],
        "layout": charts.layout(legend=False, height=420),
    }
    return _stage_axis(figure, x, y_title="Mean cost per episode (£)")


# --- cost by stage and resource (stacked bars) ---------------------------------------------


def _stage_resource_panel(
    ctx: PageContext, rows: _Rows, n: int, names: dict[str, str], hidden_stages: set[str]
) -> Panel:
    stages, resources = rows.of.stages, rows.of.resources
    width = len(resources)
    total, _, episodes = rows.cells(rows.stage * width + rows.resource, len(stages) * width)
    cells = np.flatnonzero(episodes)
    stage_of = [stages[i] for i in cells // width]
    order = _ordered(set(stage_of), names)
    rank = {stage: i for i, stage in enumerate(order)}
    # Stages in the pack's order, the largest resource first within each.
    cells = cells[np.lexsort((-total[cells], [rank[stages[i]] for i in cells // width]))]
    table = pd.DataFrame(
        {
            "stage_id": [stages[i] for i in cells // width],
            "stage": [names.get(stages[i], stages[i]) for i in cells // width],
            "resource": [resources[i] for i in cells % width],
            "episodes": episodes[cells].astype("int64"),
            "total": total[cells].astype("float64") / 100,
        }
    )
    table["mean_per_episode"] = table["total"] / n
    table["mean_per_user"] = table["total"] / table["episodes"]
    figures = ("total", "mean_per_episode", "mean_per_user")
    panel = Panel(
        id="stage-resource",
        title="Cost per episode by stage and resource",
        sentence=(
            "The mean cost per episode of each stage split by the resource it went on "
            f"(beds, staff, theatres, drugs, tests …), for {ctx.filters.describe()}; the "
            "bars stack to each stage's mean per episode."
        ),
        table=table.reset_index(drop=True),
        columns=[
            Column("stage", "Stage"),
            Column("resource", "Resource"),
            Column("episodes", "Episodes", "count"),
            Column("total", "Total cost", "money"),
            Column("mean_per_episode", "Mean per episode", "money"),
            Column("mean_per_user", "Mean per episode using it", "money"),
        ],
        caption=f"Cost by stage and resource, {ctx.filters.describe()}",
        disclosure=Disclosure("episodes", figures, within=("stage",)),
        understand={
            "Definition": "Total: every pound of the resource in the stage for these "
            "episodes. Mean per episode: the total divided by every episode in "
            "view. Mean per episode using it: divided by the episodes with that "
            "resource in that stage.",
            "Resource": "The resource of the cost pool the pounds came through, as the "
            "costing rules name it.",
            "Source": f"episode_costs of run {ctx.run_id} ({_method_words(rows.of)}).",
            "Small numbers": f"A cell resting on fewer than {ctx.min_cell} episodes shows "
            "'too few to report'; where one is hidden in a stage, the next "
            "smallest may be hidden too so that it cannot be worked out.",
        },
    )
    ctx.protect(panel)
    if ctx.secondary_suppression and hidden_stages:
        # The stage table hides these stages; their resources would add up to them.
        _hide(
            panel.table,
            panel.table["stage_id"].isin(hidden_stages).to_numpy(),
            figures,
            SECONDARY_NOTE,
        )
    panel.figure = _stacked_bars(panel.table, order, names, rows.of.resources)
    return panel


def _stacked_bars(
    table: pd.DataFrame, order: list[str], names: dict[str, str], resources: list[str]
) -> dict:
    x_labels = [names.get(s, s) for s in order]
    grid = table.pivot(index="resource", columns="stage_id", values="mean_per_episode").reindex(
        columns=order
    )
    # The largest resource first, so it sits at the foot of every stack.
    grid = grid.loc[grid.sum(axis=1).sort_values(ascending=False).index]
    data = []
    for resource, values in grid.iterrows():  # one trace per resource (a handful)
        data.append(
            {
                "type": "bar",
                "name": str(resource),
                "x": x_labels,
                "y": _blank_figure_values(values),
                "marker": {"color": _colour(resources, str(resource))},
                "hovertemplate": f"{resource}<br>%{{x}}: £%{{y:,.0f}} per episode<extra></extra>",
            }
        )
    figure = {"data": data, "layout": charts.layout(height=460)}
    figure["layout"]["barmode"] = "stack"
    figure["layout"]["legend"].update(y=-0.45, title={"text": "Resource "})
    return _stage_axis(figure, x_labels, y_title="Mean cost per episode (£)")


# --- distribution of whole-cycle cost -------------------------------------------------------


def _distribution_panel(ctx: PageContext, whole: pd.Series) -> Panel:
    n = len(whole)
    values = whole.to_numpy(dtype="float64")
    rows = [{"measure": "Episodes", "value": np.nan, "episodes": n}]
    if n:
        rows.append({"measure": "Mean", "value": float(values.mean()), "episodes": n})
        centiles = np.percentile(values, PERCENTILES)
        for centile, value in zip(PERCENTILES, centiles, strict=True):
            label = "Median (50th centile)" if centile == 50 else f"{centile}th centile"
            rows.append({"measure": label, "value": float(value), "episodes": n})
    table = pd.DataFrame(rows)
    table["value"] = table["value"].round(2)
    panel = Panel(
        id="distribution",
        title="Whole-cycle cost per episode: the spread",
        sentence=(
            "How the whole-cycle cost varies between episodes for "
            f"{ctx.filters.describe()}: how many episodes fall in each cost band, with "
            "the median and mean marked."
        ),
        table=table,
        columns=[
            Column("measure", "Measure"),
            Column("value", "Cost per episode", "money"),
            Column("episodes", "Episodes", "count"),
        ],
        caption=f"Whole-cycle cost per episode, centiles, {ctx.filters.describe()}",
        disclosure=Disclosure("episodes", ("value",), within=("measure",)),
        understand={
            "Definition": "Each episode's whole-cycle cost (cost_whole_cycle of episode_value: "
            "every stage, top-down method), episodes with no cost counting as "
            "£0. Centiles by linear interpolation.",
            "Chart": f"Counts of episodes per cost band; the last bar holds every episode "
            f"above the {TAIL_PERCENTILE}th centile, so no one episode's cost can be "
            "read off the chart.",
            "Direction": "Neutral.",
        },
    )
    ctx.protect(panel)
    if n >= ctx.min_cell:
        panel.figure = _histogram(values, table)
    return panel


def _nice_width(span: float, bins: int) -> float:
    raw = max(span / bins, 1.0)
    power = 10 ** math.floor(math.log10(raw))
    for step in (1, 2, 2.5, 5, 10):
        if raw <= step * power:
            return step * power
    return 10 * power


def _histogram(values: np.ndarray, table: pd.DataFrame) -> dict:
    tail = float(np.percentile(values, TAIL_PERCENTILE))
    low = min(0.0, float(values.min()))
    width = _nice_width(tail - low, HISTOGRAM_BINS)
    start = math.floor(low / width) * width
    edges = start + width * np.arange(max(1, math.ceil((tail - start) / width)) + 1)
    inside = values <= edges[-1]
    counts = np.histogram(values[inside], bins=edges)[0].tolist()
    centres = ((edges[:-1] + edges[1:]) / 2).tolist()
    labels = [f"£{a:,.0f} to £{b:,.0f}" for a, b in itertools.pairwise(edges)]
    colours = [charts.BLUE] * len(counts)
    above = int((~inside).sum())
    if above:  # the tail in one band, so no single episode's cost shows
        centres.append(float(edges[-1] + width / 2))
        labels.append(f"above £{edges[-1]:,.0f}")
        counts.append(above)
        colours.append(charts.GREY)
    figure = {
        "data": [
            {
                "type": "bar",
                "x": centres,
                "y": counts,
                "width": [width * 0.95] * len(counts),
                "customdata": labels,
                "marker": {"color": colours},
                "name": "Episodes",
                "hovertemplate": "%{customdata}: %{y} episodes<extra></extra>",
            }
        ],
        "layout": charts.layout(
            x_title="Whole-cycle cost per episode (£)", y_title="Episodes", legend=False
        ),
    }
    figure["layout"]["xaxis"]["tickprefix"] = "£"
    figure["layout"]["xaxis"]["tickformat"] = ",.0f"
    shapes, annotations = [], []
    marks = {
        "Median": table.loc[table["measure"].str.startswith("Median"), "value"],
        "Mean": table.loc[table["measure"] == "Mean", "value"],
    }
    for (label, found), colour, anchor in zip(
        marks.items(), (charts.DARK_BLUE, charts.ORANGE), ("right", "left"), strict=True
    ):
        if found.empty or pd.isna(found.iloc[0]):
            continue
        value = float(found.iloc[0])
        shapes.append(
            {
                "type": "line",
                "xref": "x",
                "yref": "paper",
                "x0": value,
                "x1": value,
                "y0": 0,
                "y1": 1,
                "line": {"color": colour, "dash": "dash", "width": 2},
            }
        )
        annotations.append(
            {
                "xref": "x",
                "yref": "paper",
                "x": value,
                "y": 1,
                "text": f"{label} {display.money(value)}",
                "showarrow": False,
                "xanchor": anchor,
                "yanchor": "bottom",
                "font": {"size": 12, "color": colour},
            }
        )
    figure["layout"]["shapes"] = shapes
    figure["layout"]["annotations"] = annotations
    return figure


# --- top cost drivers ------------------------------------------------------------------------


def _drivers_panel(
    ctx: PageContext,
    rows: _Rows,
    n: int,
    total_pennies: int,
    names: dict[str, str],
    hidden_stages: set[str],
    resources: pd.DataFrame,
) -> Panel:
    of = rows.of
    r_width, d_width = len(of.resources), len(of.departments)
    key = (rows.stage * r_width + rows.resource) * d_width + rows.department
    total, activities, episodes = rows.cells(key, len(of.stages) * r_width * d_width)
    used = np.flatnonzero(episodes)
    top = used[np.argsort(-total[used], kind="stable")][:TOP_DRIVERS]
    stage_of = [of.stages[i] for i in top // (r_width * d_width)]
    table = pd.DataFrame(
        {
            "rank": np.arange(1, len(top) + 1),
            "stage_id": stage_of,
            "stage": [names.get(s, s) for s in stage_of],
            "resource": [of.resources[i] for i in (top // d_width) % r_width],
            "department": [of.departments[i] for i in top % d_width],
            "episodes": episodes[top].astype("int64"),
            "activities": activities[top].astype("int64"),
            "total": total[top].astype("float64") / 100,
        }
    )
    table["share"] = table["total"] / (total_pennies / 100) if total_pennies else np.nan
    table["mean_per_episode"] = table["total"] / n
    figures = ("total", "share", "mean_per_episode")
    panel = Panel(
        id="drivers",
        title="Top cost drivers",
        sentence=(
            f"The {TOP_DRIVERS} stage, resource and department combinations that cost "
            f"the most for {ctx.filters.describe()}, with each one's share of the "
            "whole-cycle cost."
        ),
        table=table,
        columns=[
            Column("rank", "Rank", "count"),
            Column("stage", "Stage"),
            Column("resource", "Resource"),
            Column("department", "Department"),
            Column("episodes", "Episodes", "count"),
            Column("activities", "Activities", "count"),
            Column("total", "Total cost", "money"),
            Column("share", "Share of the whole", "rate"),
            Column("mean_per_episode", "Mean per episode", "money"),
        ],
        caption=f"Top cost drivers, {ctx.filters.describe()}",
        # Each row stands alone: the top cells do not add up to any total shown.
        disclosure=Disclosure("episodes", figures, within=("rank",)),
        understand={
            "Definition": "A driver is one stage × resource × department cell; its total is "
            "every pound of it for these episodes, its share that total over "
            "the whole-cycle cost of the same episodes.",
            "Ranking": "By total cost. A cell with too few episodes keeps its rank (the order "
            "discloses no one's cost) and loses its figures, as in 'carevalue "
            "costing report'.",
            "Source": f"episode_costs of run {ctx.run_id} ({_method_words(rows.of)}).",
        },
    )
    ctx.protect(panel)
    if ctx.secondary_suppression:
        hidden_cells = resources.loc[resources["suppressed"].eq(True), ["stage_id", "resource"]]
        pairs = set(zip(hidden_cells["stage_id"], hidden_cells["resource"], strict=True))
        where = panel.table["stage_id"].isin(hidden_stages).to_numpy() | np.array(
            [
                (s, r) in pairs
                for s, r in zip(panel.table["stage_id"], panel.table["resource"], strict=True)
            ],
            dtype=bool,
        )
        _hide(panel.table, where, figures, SECONDARY_NOTE)
    panel.figure = _drivers_chart(panel.table)
    return panel


def _drivers_chart(table: pd.DataFrame) -> dict:
    rows = table.iloc[::-1]
    labels = [
        textwrap.shorten(f"{k}. {r}, {d or s}", 30, placeholder="…")
        for k, s, r, d in zip(
            rows["rank"], rows["stage"], rows["resource"], rows["department"], strict=True
        )
    ]
    full = [
        f"{s} · {r} · {d}" if d else f"{s} · {r}"
        for s, r, d in zip(rows["stage"], rows["resource"], rows["department"], strict=True)
    ]
    figure = {
        "data": [
            {
                "type": "bar",
                "orientation": "h",
                "y": labels,
                "x": _blank_figure_values(rows["total"]),
                "customdata": full,
                "marker": {"color": charts.BLUE},
                "name": "Total cost",
                "hovertemplate": "%{customdata}: £%{x:,.0f}<extra></extra>",
            }
        ],
        "layout": charts.layout(
            x_title="Total cost (£)", legend=False, height=max(380, 26 * len(labels) + 90)
        ),
    }
    figure["layout"]["yaxis"]["automargin"] = True
    figure["layout"]["margin"]["l"] = 10
    figure["layout"]["xaxis"]["tickprefix"] = "£"
    figure["layout"]["xaxis"]["tickformat"] = ",.0f"
    return figure


# --- provenance (finance, service managers, team leads, administrators) -------------------


def _provenance_panels(ctx: PageContext, rows: _Rows, names: dict[str, str]) -> list[Panel]:
    of = rows.of
    width = len(of.lines)
    total, activities, episodes = rows.cells(rows.stage * width + rows.line, len(of.stages) * width)
    _, _, reached_by_stage = rows.cells(rows.stage, len(of.stages))
    present = [of.stages[i] for i in np.flatnonzero(reached_by_stage)]
    panels = []
    for stage in _ordered(present, names):
        code = of.stages.index(stage)
        cells = np.flatnonzero(episodes[code * width : (code + 1) * width])
        cells = cells[np.argsort(-total[code * width + cells], kind="stable")]
        stage_total = int(total[code * width + cells].sum())
        top, rest = cells[:TOP_PROVENANCE], cells[TOP_PROVENANCE:]
        table = of.lines.iloc[top][["provenance", "resource", "department"]].reset_index(drop=True)
        table["episodes"] = episodes[code * width + top].astype("int64")
        table["activities"] = activities[code * width + top].astype("int64")
        table["amount"] = total[code * width + top].astype("float64") / 100
        if len(rest):
            in_rest = rows.where((rows.stage == code) & np.isin(rows.line, rest))
            table = pd.concat(
                [
                    table,
                    pd.DataFrame(
                        [
                            {
                                "provenance": f"{len(rest):,} more ledger lines",
                                "resource": "",
                                "department": "",
                                "episodes": len(np.unique(in_rest.ep)),
                                "activities": int(activities[code * width + rest].sum()),
                                "amount": float(total[code * width + rest].sum()) / 100,
                            }
                        ]
                    ),
                ],
                ignore_index=True,
            )
        table["share"] = table["amount"] / (stage_total / 100) if stage_total else np.nan
        name = names.get(stage, stage)
        reached = int(reached_by_stage[code])
        panel = Panel(
            id=f"provenance-{stage}",
            title=f"Where the cost of {name.lower()} comes from",
            sentence=(
                f"The ledger lines (cost pool, cost centre and expense code) behind the "
                f"{display.money(stage_total / 100)} of {name.lower()} for "
                f"{ctx.filters.describe()} ({reached:,} episodes), largest first"
                + (f"; the {TOP_PROVENANCE} largest, the rest in one row." if len(rest) else ".")
            ),
            table=table,
            columns=[
                Column("provenance", "Ledger line (pool:cost centre/expense code)"),
                Column("department", "Department"),
                Column("episodes", "Episodes", "count"),
                Column("activities", "Activities", "count"),
                Column("amount", "Amount", "money2"),
                Column("share", "Share of the stage", "rate"),
            ],
            caption=f"Provenance of the cost of {name.lower()}, {ctx.filters.describe()}",
            disclosure=Disclosure("episodes", ("amount", "share")),
            understand={
                "Provenance": "Every pound in episode_costs keeps the ledger line it was "
                "allocated from (pool:cost_centre/expense_code; docs/costing.md), "
                "so a stage's cost can be checked against the general ledger.",
                "Activities": "Activities of these episodes in the stage that drew on the line "
                "(an activity can draw on several lines).",
                "Source": f"episode_costs of run {ctx.run_id} ({_method_words(rows.of)}).",
            },
        )
        panels.append(panel)
    return panels


# --- TDABC beside PLICS ------------------------------------------------------------------------


@lru_cache(maxsize=32)
def _process_steps(path: str, process_id: str) -> tuple[tuple[str, str, float, float, float], ...]:
    """(step, resource, expected minutes, rate per minute, expected cost to the penny) of a
    mapped process, read from the snapshot's own copy of the pack."""
    process = cost_model(load_tdabc_model(Path(path))).process(process_id)
    return tuple(
        (
            step.id,
            step.resource,
            float(step.expected_minutes),
            float(step.rate_per_minute),
            round(float(step.expected_cost), 2),
        )
        for step in process.steps
    )


def _tdabc_panels(
    ctx: PageContext, prepared: _Prepared, rows: _Rows, hidden_stages: set[str], page: Page
) -> list[Panel]:
    """The comparison for everyone; each mapped stage's steps (the TDABC provenance) for
    the roles that see costing detail."""
    mapped = [s for s in ctx.pack.stages if s.process_map]
    if not mapped:
        return []
    compared, detail = [], []
    for stage in mapped:
        file, process_id = stage.process_map.split("#", 1)
        path = ctx.snapshot.pack_files() / ctx.pack.id / file
        try:
            steps = _process_steps(str(path), process_id)
        except (UserError, OSError, KeyError, ValueError) as problem:
            steps = _steps_from_run(prepared, stage.id, stage.process_map)
            if not steps:
                page.messages.append(
                    f"TDABC for {stage.name.lower()} is not available from this snapshot: its "
                    f"process map {stage.process_map} could not be read ({problem})."
                )
                continue
        code = prepared.stages.index(stage.id) if stage.id in prepared.stages else -1
        in_stage = rows.where(rows.stage == code)
        episodes = len(np.unique(in_stage.ep))
        tdabc = round(sum(s[4] for s in steps), 2)
        plics = float(in_stage.pennies.sum()) / 100 / episodes if episodes else np.nan
        compared.append(
            {
                "stage_id": stage.id,
                "stage": stage.name,
                "process_map": stage.process_map,
                "episodes": episodes,
                "tdabc_per_patient": tdabc,
                "plics_mean_per_episode": plics,
                "difference": plics - tdabc if episodes else np.nan,
                "difference_pct": (plics - tdabc) / tdabc if episodes and tdabc else np.nan,
            }
        )
        if ctx.costing_detail:
            detail.append(_tdabc_stage_panel(ctx, stage, steps, in_stage, episodes, hidden_stages))
    if not compared:
        return []
    table = pd.DataFrame(compared)
    figures = ("plics_mean_per_episode", "difference", "difference_pct")
    panel = Panel(
        id="tdabc",
        title="Bottom-up (TDABC) beside top-down (PLICS), stage by stage",
        sentence=(
            "For each stage with a process map, what one patient's pass through it costs "
            "bottom up from staff and equipment time (TDABC) against the mean top-down "
            f"cost the ledger gave the episodes that reached it, for "
            f"{ctx.filters.describe()}."
        ),
        table=table,
        columns=[
            Column("stage", "Stage"),
            Column("process_map", "Process map"),
            Column("episodes", "Episodes reaching the stage", "count"),
            Column("tdabc_per_patient", "TDABC per patient", "money"),
            Column("plics_mean_per_episode", "PLICS mean per episode", "money"),
            Column("difference", "PLICS less TDABC", "money"),
            Column("difference_pct", "Difference", "rate"),
        ],
        caption=f"TDABC beside PLICS, {ctx.filters.describe()}",
        disclosure=Disclosure("episodes", figures, within=("stage",)),
        understand={
            "Reading the gap": "A gap is a finding for the team, not an error: TDABC prices "
            "the staff and equipment minutes of the process map, PLICS "
            "carries everything the ledger spent (beds, hotel services, "
            "overheads), and a step missing from the map shows up here.",
            "TDABC": "The expected cost of one unit of the mapped process, its condition "
            "shares applied (docs/tdabc.md), from the pack the run used.",
            "Same as": "'carevalue costing compare', for the episodes in view.",
        },
    )
    ctx.protect(panel)
    if ctx.secondary_suppression and hidden_stages:
        _hide(
            panel.table,
            panel.table["stage_id"].isin(hidden_stages).to_numpy(),
            figures,
            SECONDARY_NOTE,
        )
    panel.figure = _tdabc_chart(panel.table)
    return [panel, *detail]


def _steps_from_run(prepared: _Prepared, stage: str, process_map: str):
    """The steps as the run costed them (its TDABC rows), when the map cannot be read."""
    rows = prepared.tdabc[prepared.tdabc["stage"] == stage]
    if rows.empty:
        return ()
    first = rows["episode_id"].iloc[0]
    one = rows[rows["episode_id"] == first]
    return tuple(
        (str(p).removeprefix(f"{process_map}/"), str(r), np.nan, np.nan, float(c) / 100)
        for p, r, c in zip(one["provenance"], one["resource"], one["pennies"], strict=True)
    )


def _tdabc_chart(table: pd.DataFrame) -> dict:
    figure = {
        "data": [
            {
                "type": "bar",
                "name": "TDABC per patient (bottom up)",
                "x": table["stage"].tolist(),
                "y": _blank_figure_values(table["tdabc_per_patient"]),
                "marker": {"color": charts.IMPROVEMENT},
                "hovertemplate": "TDABC %{x}: £%{y:,.0f}<extra></extra>",
            },
            {
                "type": "bar",
                "name": "PLICS mean per episode (top down)",
                "x": table["stage"].tolist(),
                "y": _blank_figure_values(table["plics_mean_per_episode"]),
                "marker": {"color": charts.DARK_BLUE},
                "hovertemplate": "PLICS %{x}: £%{y:,.0f}<extra></extra>",
            },
        ],
        "layout": charts.layout(),
    }
    figure["layout"]["barmode"] = "group"
    return _stage_axis(figure, table["stage"].tolist(), y_title="Cost per patient (£)")


def _tdabc_stage_panel(
    ctx: PageContext, stage, steps, in_stage: _Rows, episodes: int, hidden_stages: set[str]
) -> Panel:
    step_rows = pd.DataFrame(
        {
            "method": "TDABC (bottom up)",
            "component": [s[0].replace("_", " ") for s in steps],
            "resource": [s[1] for s in steps],
            "minutes": [s[2] for s in steps],
            "rate_per_minute": [s[3] for s in steps],
            "per_patient": [s[4] for s in steps],
            "episodes": episodes,
        }
    )
    resources = in_stage.of.resources
    total, _, users = in_stage.cells(in_stage.resource, len(resources))
    used = np.flatnonzero(users)
    used = used[np.argsort(-total[used], kind="stable")]
    plics_rows = pd.DataFrame(
        {
            "method": "PLICS (top down)",
            "component": [resources[i] for i in used],
            "resource": [resources[i] for i in used],
            "minutes": np.nan,
            "rate_per_minute": np.nan,
            "per_patient": total[used].astype("float64") / 100 / max(episodes, 1),
            "episodes": users[used].astype("int64"),
        }
    )
    table = pd.concat([step_rows, plics_rows], ignore_index=True)
    table["tdabc"] = table["method"].str.startswith("TDABC")
    # TDABC figures are a model's prices, not anyone's care: only the PLICS rows are cells.
    table["plics_episodes"] = np.where(
        table["tdabc"], max(episodes, ctx.min_cell), table["episodes"]
    )
    panel = Panel(
        id=f"tdabc-{stage.id}",
        title=f"{stage.name}: process steps beside ledger resources",
        sentence=(
            f"The steps of the process map {stage.process_map} with their minutes and "
            "cost for one patient, beside the top-down cost per episode of the same "
            f"stage by resource, for {ctx.filters.describe()}."
        ),
        table=table,
        columns=[
            Column("method", "Method"),
            Column("component", "Step or resource"),
            Column("resource", "Resource"),
            Column("minutes", "Minutes", "number1"),
            Column("rate_per_minute", "£ per minute", "number"),
            Column("per_patient", "Cost per patient", "money2"),
            Column("episodes", "Episodes", "count"),
        ],
        caption=f"{stage.name}: TDABC steps and PLICS resources, {ctx.filters.describe()}",
        disclosure=Disclosure("plics_episodes", ("per_patient",), within=("method",)),
        understand={
            "TDABC": "Expected minutes of one patient (base minutes plus each condition's "
            "share of its added minutes) times the resource's cost per minute.",
            "PLICS": "Each resource's top-down cost in the stage divided by the episodes that "
            "reached the stage; they add up to the stage's PLICS mean per episode.",
        },
    )
    ctx.protect(panel)
    if ctx.secondary_suppression and stage.id in hidden_stages:
        _hide(panel.table, (~panel.table["tdabc"]).to_numpy(), ("per_patient",), SECONDARY_NOTE)
    panel.figure = _tdabc_stage_chart(panel.table, in_stage.of.resources)
    return panel


def _tdabc_stage_chart(table: pd.DataFrame, resources: list[str]) -> dict:
    data = []
    for number, row in enumerate(table.itertuples()):  # one trace per step or resource (few)
        if pd.isna(row.per_patient):
            continue
        data.append(
            {
                "type": "bar",
                "name": f"{row.component}",
                "x": [row.method],
                "y": [round(float(row.per_patient), 2)],
                "showlegend": False,
                "text": [f"{row.component} £{row.per_patient:,.0f}"],
                "textposition": "inside",
                "insidetextanchor": "middle",
                "textangle": 0,
                # TDABC steps in two light blues; PLICS resources in their own colours
                "marker": {
                    "color": TDABC_COLOURS[number % 2]
                    if row.tdabc
                    else _colour(resources, str(row.resource)),
                    "line": {"color": "#ffffff", "width": 1},
                },
                "hovertemplate": f"{row.component}: £%{{y:,.2f}}<extra>{row.method}</extra>",
            }
        )
    figure = {
        "data": data,
        "layout": charts.layout(y_title="Cost per patient (£)", legend=False, height=460),
    }
    figure["layout"]["barmode"] = "stack"
    figure["layout"]["uniformtext"] = {"minsize": 10, "mode": "hide"}
    figure["layout"]["yaxis"].update(tickprefix="£", tickformat=",.0f")
    return figure


# --- reconciliation to the ledger ------------------------------------------------------------


def _reconciliation_panel(ctx: PageContext, prepared: _Prepared) -> Panel:
    costing, ledger = prepared.costing, prepared.ledger
    columns = [Column("line", "Line"), Column("amount", "Amount", "money2")]
    if ledger is None:
        source = str(costing.get("source", prepared.method))
        how = (
            "imported from the trust's own costing"
            if source == "imported"
            else "not allocated from a ledger"
        )
        return Panel(
            id="reconciliation",
            title="Reconciliation to the ledger",
            sentence=(
                f"This run's costs were {how} (source '{source}'), so there is no "
                "ledger allocation to reconcile here."
            ),
            table=pd.DataFrame({"line": [], "amount": []}),
            columns=columns,
        )
    condition = ctx.pack.governance.name.lower()
    lines = [
        ("Cost quantum (ledger less exclusions)", ledger.quantum),
        ("Left out of the quantum (excluded and income lines)", ledger.left_out),
        ("In cost pools (direct and overheads)", ledger.in_pools),
        ("Allocated to activities", ledger.allocated),
        ("Unallocated (reported, not loaded onto patients)", ledger.unallocated),
        *[(f"Unallocated: {reason}", amount) for reason, amount in ledger.reasons],
        ("Difference: quantum less allocated less unallocated (must be 0.00)", ledger.gap),
        (
            f"Of the allocated: in {condition} care-cycle episodes (every episode of the run)",
            int(prepared.pennies.sum()),
        ),
    ]
    table = pd.DataFrame(
        [(line, pennies / 100) for line, pennies in lines], columns=["line", "amount"]
    )

    def pounds(pennies: int) -> str:
        return display.money(pennies / 100, places=2)

    if ledger.gap == 0 and ledger.pools_off == 0:
        words = (
            f"The allocation reconciles to the ledger to the penny: the cost quantum of "
            f"{pounds(ledger.quantum)} is {pounds(ledger.allocated)} allocated to "
            f"activities plus {pounds(ledger.unallocated)} reported unallocated with its "
            "reasons, and every pool balances in every month."
        )
    else:
        words = (
            f"The allocation does not reconcile: {pounds(ledger.gap)} of the cost quantum "
            f"is unaccounted for, and {ledger.pools_off:,} pool-months do not balance. A "
            "run that does not reconcile should not have been published: tell the costing "
            "team."
        )
    notes = []
    recorded = costing.get("cost_quantum")
    if recorded is not None and round(float(recorded) * 100) != ledger.quantum:
        notes.append(
            f"The run recorded a cost quantum of {display.money(float(recorded), places=2)}"
            ", which differs from its quantum table: tell the costing team."
        )
    return Panel(
        id="reconciliation",
        title="Reconciliation to the ledger",
        sentence=words,
        table=table,
        columns=columns,
        notes=notes,
        caption=f"Reconciliation of run {ctx.run_id} to the general ledger (whole trust)",
        understand={
            "What it covers": "The whole trust's ledger for the run's months, not just this "
            "condition or these filters: cost quantum = allocated to "
            "activities + unallocated, per pool and month and in total "
            "(docs/costing.md, 'Reconciliation').",
            "Why unallocated": "Money no activity could take (a pool with no activity that "
            "month, an overhead share of a department with no direct cost, "
            "ledger lines no rule takes) is reported, never forced onto "
            "patients.",
            "Rules": f"Costing rules version {costing.get('rules_version') or 'not recorded'}.",
            "Small numbers": "Not suppressed: these are ledger lines, not cells of anyone's "
            "episodes.",
        },
    )


def _method_words(prepared: _Prepared) -> str:
    if prepared.costing.get("source", prepared.method) == "imported":
        return "the trust's own costs per activity, imported"
    return "top down from the general ledger (PLICS)"
