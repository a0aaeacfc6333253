"""What a run records of its outcomes and value (``runs.outcomes``), typed: each risk
model, the scores left blank, how many outcomes were measured, the headline figure of
every metric for all episodes, and the SPC icons at the latest month."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import pandas as pd

from carevalue.outcomes import MEASURED, OutcomesResult
from carevalue.value.value_stage import ValueResult

MODEL_FIELDS = (
    "condition",
    "outcome_id",
    "family",
    "fitted",
    "reason",
    "n",
    "events",
    "c_statistic",
)


@dataclass(frozen=True)
class ModelSummary:
    condition: str
    outcome_id: str
    family: str
    fitted: bool
    reason: str
    n: int
    events: int | None
    c_statistic: float | None


@dataclass(frozen=True)
class HeadlineRow:
    """One metric for all episodes: its figure and interval (None where there is none)."""

    metric: str
    label: str
    kind: str
    value: float | None
    lower: float | None
    upper: float | None
    n_used: int
    note: str | None


@dataclass(frozen=True)
class OutcomeSummary:
    models: list[ModelSummary]
    scores_left_blank: dict[str, dict[str, int]]  # condition -> score -> episodes
    measured: dict[str, int]  # condition -> measured outcomes
    headline: dict[str, list[HeadlineRow]]  # condition -> rows
    spc: dict[str, dict[str, int]]  # condition -> icon -> metrics

    def as_json(self) -> dict[str, object]:
        """The shape ``runs.outcomes`` has always had (key order too)."""
        return {
            "models": [asdict(m) for m in self.models],
            "scores_left_blank": self.scores_left_blank,
            "measured": self.measured,
            "headline": {c: [asdict(r) for r in rows] for c, rows in self.headline.items()},
            "spc": self.spc,
        }


def summarise(outcomes: OutcomesResult, value: ValueResult) -> OutcomeSummary:
    series = value.series
    overall = series[(series["period_type"] == "all") & (series["segment_type"] == "all")]
    icons = value.icons
    charted = icons[(icons["segment_type"] == "all") & icons["charted"]]
    return OutcomeSummary(
        models=[ModelSummary(**{k: m[k] for k in MODEL_FIELDS}) for m in outcomes.models],
        scores_left_blank=outcomes.blank_scores,
        measured={
            condition: int((frame["status"] == MEASURED).sum())
            for condition, frame in outcomes.tables["episode_outcomes"].groupby("condition")
        },
        headline={
            condition: [_headline_row(r) for r in rows.itertuples()]
            for condition, rows in overall.groupby("condition")
        },
        spc={
            condition: {str(k): int(v) for k, v in rows["variation"].value_counts().items()}
            for condition, rows in charted.groupby("condition")
        },
    )


def _headline_row(r) -> HeadlineRow:
    return HeadlineRow(
        metric=r.metric,
        label=r.label,
        kind=r.metric_kind,
        value=_number(r.value),
        lower=_number(r.lower),
        upper=_number(r.upper),
        n_used=int(r.n_used),
        note=None if pd.isna(r.note) else str(r.note),
    )


def _number(value) -> float | None:
    return None if pd.isna(value) else float(value)
