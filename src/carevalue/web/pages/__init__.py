"""The pages of a condition's dashboard: one module per page, each a ``build(ctx) -> Page``.

``PAGES`` is the registry the views, the navigation, the downloads and the board pack
read: slug, title, the permission a user needs, and whether the page shows patient-level
rows (then every view of it is audited).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property

import pandas as pd

from carevalue import disclosure
from carevalue.packs.model import ConditionPack
from carevalue.snapshots import Snapshot
from carevalue.web import results
from carevalue.web.filters import Filters
from carevalue.web.panels import Page, Panel


@dataclass
class PageContext:
    """Everything a page builder may read: the snapshot, the pack, the filters and what
    the user's role allows. Builders never see the request or the user."""

    snapshot: Snapshot
    pack: ConditionPack
    filters: Filters
    secondary_suppression: bool = True  # roles without view_small_cells (commissioners)
    costing_detail: bool = False
    patient_level: bool = False
    base_url: str = ""  # the condition's URL prefix, for drill-down links
    # The page's own query parameters (PageSpec.options) beyond the shared filters, e.g. the
    # process map's frequency filter; part of the page's permalink and cache key.
    options: dict[str, str] = field(default_factory=dict)

    @property
    def condition(self) -> str:
        return self.pack.id

    @property
    def min_cell(self) -> int:
        return self.pack.reporting.min_cell

    @property
    def run_id(self) -> str:
        return self.snapshot.run_id

    def table(self, name: str) -> pd.DataFrame:
        """A results table's rows for this condition (shared: copy before changing)."""
        return results.condition_table(self.snapshot, name, self.condition)

    @cached_property
    def all_episodes(self) -> pd.DataFrame:
        """The condition's episode_value rows, unfiltered."""
        return self.table("episode_value")

    @cached_property
    def episodes(self) -> pd.DataFrame:
        """The condition's episode_value rows the filters keep."""
        return self.filters.apply(self.all_episodes)

    def protect(self, panel: Panel) -> Panel:
        """The panel's table through the disclosure module for this role: primary
        suppression always, secondary where the role needs it."""
        rule = panel.disclosure
        if rule is None:
            return panel
        table = disclosure.suppress(panel.table, self.min_cell, {rule.count: rule.figures})
        if self.secondary_suppression:
            table = disclosure.suppress_complementary(
                table, count=rule.count, figures=rule.figures, within=rule.within
            )
        panel.table = table
        return panel

    def url(self, page: str, **filters: str) -> str:
        query = self.filters.query(**filters)
        return f"{self.base_url}{page}/" + (f"?{query}" if query else "")


@dataclass(frozen=True)
class PageSpec:
    slug: str
    title: str
    permission: str
    build: Callable[[PageContext], Page]
    patient_level: bool = False
    summary: str = ""
    template: str = "carevalue/page.html"
    options: tuple[str, ...] = ()  # query parameters the page reads (PageContext.options)
    section: str = ""  # pages of one section share one header link and a menu of their own
    header: bool = True  # in the header's navigation (a section's first page)

    @property
    def nav_title(self) -> str:
        return self.section or self.title


def _registry() -> dict[str, PageSpec]:
    # Imported here so each page module can import PageContext from this package.
    from carevalue.web.pages import (
        cost,
        data_quality,
        equity,
        flow,
        outcomes,
        overview,
        patients,
        spc,
        value,
        value_stream,
        variants,
    )
    from carevalue.web.permissions import (
        VIEW_DASHBOARDS,
        VIEW_DATA_QUALITY,
        VIEW_PATIENTS,
    )

    specs = [
        PageSpec(
            "overview",
            "Overview",
            VIEW_DASHBOARDS,
            overview.build,
            summary="Headline figures for the latest period, and what changed.",
        ),
        PageSpec(
            "value",
            "Value",
            VIEW_DASHBOARDS,
            value.build,
            summary="Outcomes against cost, the value equations and the composite index.",
        ),
        PageSpec(
            "cost",
            "Cost along the pathway",
            VIEW_DASHBOARDS,
            cost.build,
            summary="Cost per episode by stage and resource, drivers and provenance.",
        ),
        PageSpec(
            "outcomes",
            "Outcomes",
            VIEW_DASHBOARDS,
            outcomes.build,
            summary="Each outcome with its tier, risk-adjusted comparison and PROM response.",
        ),
        PageSpec(
            "spc",
            "SPC charts",
            VIEW_DASHBOARDS,
            spc.build,
            summary="Every metric as a Making Data Count chart.",
        ),
        PageSpec(
            "equity",
            "Equity",
            VIEW_DASHBOARDS,
            equity.build,
            summary="Value and outcomes by deprivation, age, sex and ethnic group.",
        ),
        PageSpec(
            "data-quality",
            "Data quality",
            VIEW_DATA_QUALITY,
            data_quality.build,
            summary="What was quarantined at ingest, and completeness findings.",
        ),
        PageSpec(
            "flow",
            "Process map",
            VIEW_DASHBOARDS,
            flow.build,
            summary="How episodes move between activities, and how long they wait between them.",
            template="carevalue/flow.html",
            options=flow.OPTIONS,
            section=flow.SECTION,
        ),
        PageSpec(
            "flow-variants",
            "Variants",
            VIEW_DASHBOARDS,
            variants.build,
            summary="The distinct paths episodes take, most common first.",
            template="carevalue/flow_variants.html",
            options=variants.OPTIONS,
            section=flow.SECTION,
            header=False,
        ),
        PageSpec(
            "value-stream",
            "Value stream",
            VIEW_DASHBOARDS,
            value_stream.build,
            summary="Lead time, processing and waiting per stage, key intervals and bottlenecks.",
            template="carevalue/flow_value_stream.html",
            section=flow.SECTION,
            header=False,
        ),
        PageSpec(
            "patients",
            "Patients",
            VIEW_PATIENTS,
            patients.build,
            patient_level=True,
            summary="The episodes behind the numbers, for case review (audited).",
        ),
    ]
    return {spec.slug: spec for spec in specs}


_PAGES: dict[str, PageSpec] | None = None


def pages() -> dict[str, PageSpec]:
    global _PAGES
    if _PAGES is None:
        _PAGES = _registry()
    return _PAGES
