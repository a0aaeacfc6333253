"""The filters every page shares (period, site, team, population group), read from the
query string so each page's URL is its permalink, and applied to episode rows."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode

import pandas as pd

# Population groups a user can filter by: (episode_value column, what a person calls it).
GROUPS = {
    "age_band": "Age band",
    "sex": "Sex",
    "imd_quintile": "Deprivation quintile (1 = most deprived)",
    "ethnic_group": "Ethnic group",
}
SEGMENT_LABELS = {"all": "Everyone", "site": "Site", "team": "Team", **GROUPS}


@dataclass(frozen=True)
class Filters:
    period: str = ""  # a financial year as the run labels it ("2023/24"); "" = every year
    site: str = ""
    team: str = ""
    group: str = ""  # "<group column>:<value>", e.g. "sex:female"

    @classmethod
    def from_query(cls, query) -> Filters:
        def one(name: str) -> str:
            return str(query.get(name, "") or "").strip()[:100]

        group = one("group")
        if group and group.split(":", 1)[0] not in GROUPS:
            group = ""
        return cls(period=one("period"), site=one("site"), team=one("team"), group=group)

    @property
    def group_column(self) -> str:
        return self.group.split(":", 1)[0] if self.group else ""

    @property
    def group_value(self) -> str:
        return self.group.split(":", 1)[1] if ":" in self.group else ""

    def active(self) -> bool:
        return any((self.period, self.site, self.team, self.group))

    def apply(self, episodes: pd.DataFrame) -> pd.DataFrame:
        """The rows of ``episodes`` (episode_value columns) the filters keep."""
        keep = pd.Series(True, index=episodes.index)
        for column, value in (
            ("financial_year", self.period),
            ("site", self.site),
            ("team", self.team),
            (self.group_column, self.group_value),
        ):
            if value and column in episodes.columns:
                keep &= as_labels(episodes[column]) == value
        return episodes[keep]

    def segment(self) -> tuple[str, str]:
        """The one precomputed segment (for SPC charts and series) these filters name:
        the site, else the team, else the group; ("all", "all") when none."""
        if self.site:
            return "site", self.site
        if self.team:
            return "team", self.team
        if self.group:
            return self.group_column, self.group_value
        return "all", "all"

    def segments_named(self) -> int:
        return sum(bool(v) for v in (self.site, self.team, self.group))

    def query(self, **changes: str) -> str:
        values = {
            "period": self.period,
            "site": self.site,
            "team": self.team,
            "group": self.group,
            **changes,
        }
        return urlencode({k: v for k, v in values.items() if v})

    def describe(self) -> str:
        """The filters in words, for captions, downloads and the board pack."""
        parts = []
        if self.period:
            parts.append(f"FY {self.period}")
        if self.site:
            parts.append(f"site {self.site}")
        if self.team:
            parts.append(f"team {self.team}")
        if self.group:
            parts.append(f"{GROUPS[self.group_column].split(' (')[0].lower()} {self.group_value}")
        return ", ".join(parts) if parts else "all episodes"


def as_labels(column: pd.Series) -> pd.Series:
    """A column's values as the text filters use: whole numbers without a decimal point
    (a quintile read back as 1.0 is "1"), missing as "unknown"."""
    if column.dtype.kind == "f" and (column.dropna() % 1 == 0).all():
        column = column.astype("Int64")
    return column.astype("string").fillna("unknown")


def choices(episodes: pd.DataFrame) -> dict[str, list[tuple[str, str]]]:
    """The values each filter offers, from the condition's episodes: (value, label)."""

    def values(column: str) -> list[str]:
        if column not in episodes.columns:
            return []
        return sorted(as_labels(episodes[column]).unique().tolist())

    def group_label(column: str, label: str, value: str) -> str:
        name = label.split(" (")[0]
        if column == "imd_quintile" and value in ("1", "5"):
            value += " (most deprived)" if value == "1" else " (least deprived)"
        return f"{name}: {value}"

    groups = [
        (f"{column}:{value}", group_label(column, label, value))
        for column, label in GROUPS.items()
        for value in values(column)
    ]
    return {
        "period": [(v, f"FY {v}") for v in values("financial_year")],
        "site": [(v, v) for v in values("site")],
        "team": [(v, v) for v in values("team")],
        "group": groups,
    }
