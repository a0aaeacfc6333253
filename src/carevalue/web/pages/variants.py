"""The variant explorer: the distinct paths the filtered episodes took through the
pathway's activities, commonest first, each shown as its sequence of activities and
linked to the process map with its path highlighted.

Routine activities (the pack's ``flow.routine``: therapy sessions, bloods, medicines
rounds) are left out by default: they recur by design, so with them nearly every episode
is a path of its own. Roles that get secondary suppression (commissioners) see the paths
of fewer than ``min_cell`` episodes as one row: a rare path is close to one patient's
story.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from carevalue.disclosure import TOO_FEW
from carevalue.web.pages import PageContext
from carevalue.web.pages import flow_data as fd
from carevalue.web.pages.flow import page_url
from carevalue.web.panels import Column, Disclosure, Page, Panel

OPTIONS = ("show", "routine")
STEP = 20  # variants shown at first, and added by each "show more"
ROUTINE_DEFAULT = "hide"
SEPARATOR = " → "


@dataclass
class VariantsPage(Page):
    routine: bool = False  # the pack names routine activities (the form offers the choice)
    routine_shown: bool = False
    routine_labels: str = ""
    more_url: str = ""
    more_text: str = ""


def build(ctx: PageContext) -> VariantsPage:
    routine = fd.routine_shown(ctx, ROUTINE_DEFAULT)
    page = VariantsPage(
        title="Variants",
        routine=bool(ctx.pack.flow.routine),
        routine_shown=routine,
        routine_labels=", ".join(ctx.pack.flow.routine),
    )
    found = fd.flow_for(ctx, routine=routine)
    why = fd.no_flow_message(ctx, found)
    if why:
        page.messages.append(why)
        return page
    table = _variants(ctx, found.variants)
    named = table[table["variant"].notna()]
    try:
        show = max(STEP, int(ctx.options.get("show", STEP)))
    except ValueError:
        show = STEP
    shown = pd.concat([named.head(show), table[table["variant"].isna()]], ignore_index=True)
    if len(named) > show:
        more = min(STEP, len(named) - show)
        page.more_url = page_url(ctx, "flow-variants", show=str(show + STEP)) + "#panel-variants"
        page.more_text = f"Show {more} more of the {len(named) - show:,} not shown"
    top = named.head(5)
    covered = top["count"].sum() / found.cases if found.cases else 0
    leaving = (
        f" (leaving out {page.routine_labels}, which recur by design)"
        if ctx.pack.flow.routine and not routine
        else ""
    )
    page.lead = (
        f"{found.cases:,} episodes ({ctx.filters.describe()}) took {len(found.variants):,} "
        f"different paths through the pathway's activities{leaving}. The {len(top)} commonest "
        f"cover {covered:.0%} of episodes."
    )
    page.panels.append(_panel(ctx, shown, len(named), routine))
    return page


def _variants(ctx: PageContext, variants: pd.DataFrame) -> pd.DataFrame:
    table = variants[["variant", "activities", "length", "count", "share"]].copy()
    table["variant"] = table["variant"].astype("Int64")
    table["median_lead_time_s"] = variants["median_lead_time_s"].astype("float64")
    if ctx.secondary_suppression:
        rare = table["count"] < ctx.min_cell
        if rare.any():
            grouped = {
                "variant": pd.NA,
                "activities": (),
                "length": pd.NA,
                "count": int(table.loc[rare, "count"].sum()),
                "share": float(table.loc[rare, "share"].sum()),
                "median_lead_time_s": float("nan"),
                "label": f"{int(rare.sum()):,} rarer paths, each of fewer than "
                f"{ctx.min_cell} episodes ({TOO_FEW})",
            }
            table = pd.concat([table[~rare], pd.DataFrame([grouped])], ignore_index=True)
    if "label" not in table.columns:
        table["label"] = None
    table["length"] = table["length"].astype("Int64")
    table["sequence"] = [
        label if isinstance(label, str) else SEPARATOR.join(steps)
        for label, steps in zip(table["label"], table["activities"], strict=True)
    ]
    table["median_lead_time"] = table["median_lead_time_s"].map(fd.duration)
    return table.drop(columns="label")


def _panel(ctx: PageContext, shown: pd.DataFrame, total: int, routine: bool) -> Panel:
    shown = shown.copy()
    shown["map_url"] = [
        ""
        if pd.isna(rank)
        else page_url(
            ctx, "flow", keep=False, variant=str(int(rank)), routine="show" if routine else "hide"
        )
        for rank in shown["variant"]
    ]
    return Panel(
        id="variants",
        title="Paths through the pathway",
        sentence=(
            "Each distinct order of activities episodes went through, commonest first, with "
            "how many episodes took it and their median time from first to last activity."
        ),
        table=shown,
        columns=[
            Column("variant", "Rank", "count"),
            Column("sequence", "Path"),
            Column("length", "Steps", "count"),
            Column("count", "Episodes", "count"),
            Column("share", "Share of episodes", "rate"),
            Column("median_lead_time", "Median lead time"),
        ],
        caption=(
            f"Variants, {ctx.filters.describe()}, commonest first "
            f"({min(len(shown), total):,} of {total:,})"
        ),
        disclosure=Disclosure("count", ("share", "median_lead_time", "median_lead_time_s")),
        understand={
            "Variant": "One order of activities from an episode's first to its last, "
            "repeats included; two episodes share a variant when their activities came in "
            "the same order.",
            "Lead time": "From the start of the first activity to the end (or start) of the last.",
            "Routine activities": "Activities the pack says recur by design ("
            + (", ".join(ctx.pack.flow.routine) or "none")
            + "). Left out, a path shows the pathway's decisions rather than how many "
            "sessions each patient had.",
            "Map": "Each variant's link opens the process map with its path highlighted.",
            "Source": f"flow_events, run {ctx.run_id}, condition pack {ctx.pack.id} "
            f"v{ctx.pack.governance.version}.",
        },
    )
