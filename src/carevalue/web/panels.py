"""What a page is made of: headline cards and panels (a chart with its table beside it).

Page builders (``carevalue.web.pages``) return these; one template renders every panel
the same way (title, one sentence saying what it shows, the chart, the table, downloads,
"understand this number"), and the downloads serialise the same ``table`` a panel shows.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import pandas as pd

from carevalue.disclosure import TOO_FEW
from carevalue.reports import display

# How a column's values show in the HTML table (downloads keep the raw values).
FORMATS: dict[str, Callable[[object], str]] = {
    "text": lambda v: "" if display.missing(v) else str(v),
    "count": lambda v: "" if display.missing(v) else f"{int(v):,}",
    "rate": display.rate,
    "money": lambda v: display.money(v),
    "money2": lambda v: display.money(v, places=2),
    "number": lambda v: display.number(v),
    "number1": lambda v: display.number(v, 1),
    "date": lambda v: "" if display.missing(v) else str(v)[:10],
}
NUMERIC = {"count", "rate", "money", "money2", "number", "number1"}


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    kind: str = "text"

    @property
    def numeric(self) -> bool:
        return self.kind in NUMERIC


@dataclass(frozen=True)
class Disclosure:
    """How a panel's table is protected for roles that need secondary suppression:
    ``count`` is the episodes each figure rests on, ``figures`` the columns blanked with it;
    ``within`` the columns that group rows which add up to a shown total."""

    count: str
    figures: tuple[str, ...]
    within: tuple[str, ...] = ()


@dataclass
class Panel:
    id: str  # unique on the page; the download's file name
    title: str
    sentence: str  # what it shows and what it is compared with, in one line
    table: pd.DataFrame  # exactly the rows the page shows and the downloads carry
    columns: list[Column]
    figure: dict | None = None  # a Plotly figure as a dict (fig.to_plotly_json())
    caption: str = ""
    notes: list[str] = field(default_factory=list)
    understand: dict[str, str] = field(default_factory=dict)  # definition, source, direction…
    disclosure: Disclosure | None = None
    patients: list[str] = field(default_factory=list)  # pseudonymised ids shown (audited)
    links: dict[str, str] = field(default_factory=dict)  # row label → drill-down URL

    def link_for(self, row: list[tuple[str, bool]]) -> str | None:
        """The drill-down URL of a row, keyed by its first cell's shown text."""
        return self.links.get(row[0][0]) if row and self.links else None

    def linked_rows(self) -> list[tuple[list[tuple[str, bool]], str | None]]:
        """Rows with their links, made once per panel (a cached page is rendered many
        times; its tables no longer change once the view has protected them)."""
        made = self.__dict__.get("_linked_rows")
        if made is None:
            made = [(row, self.link_for(row)) for row in self.rows()]
            self.__dict__["_linked_rows"] = made
        return made

    def rows(self) -> list[list[tuple[str, bool]]]:
        """The table's cells as (shown text, numeric) for the template. A figure blanked by
        disclosure reads "too few to report", never a blank that could pass for zero."""
        hidden = set(self.disclosure.figures) if self.disclosure else set()
        out = []
        for record in self.table.to_dict("records"):
            suppressed = bool(record.get("suppressed")) is True
            cells = []
            for c in self.columns:
                text = FORMATS.get(c.kind, FORMATS["text"])(record.get(c.key))
                if not text and suppressed and c.key in hidden:
                    text = TOO_FEW
                cells.append((text, c.numeric))
            out.append(cells)
        return out

    def download_frame(self) -> pd.DataFrame:
        """The table with its shown column names, for CSV and Excel; a figure blanked by
        disclosure says "too few to report" there too."""
        frame = self.table[[c.key for c in self.columns]].copy()
        if self.disclosure is not None and "suppressed" in self.table.columns:
            hidden = self.table["suppressed"].eq(True).to_numpy()
            for column in frame.columns:
                if column in self.disclosure.figures:
                    blank = hidden & frame[column].isna().to_numpy()
                    if blank.any():
                        frame[column] = frame[column].astype(object).mask(blank, TOO_FEW)
        frame.columns = [c.label for c in self.columns]
        return frame


@dataclass
class Card:
    """A headline figure: large number, interval, its SPC icons and a sparkline."""

    label: str
    value: str
    detail: str = ""  # e.g. "95% CI 10.1% to 14.0% · 212 episodes"
    variation: str | None = None  # spc variation code (carevalue.web.mdc_icons)
    assurance: str | None = None
    improvement: str | None = None  # "increase", "decrease" or "neutral"
    sparkline: dict | None = None
    change: str = ""  # what changed since the last period, in words
    help: str = ""


@dataclass
class Page:
    title: str
    lead: str = ""
    cards: list[Card] = field(default_factory=list)
    panels: list[Panel] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)

    def panel(self, panel_id: str) -> Panel | None:
        return next((p for p in self.panels if p.id == panel_id), None)
