"""The value stage of a run, for every pack: value per episode (cost beside outcomes), the
metric series with their intervals, the checks around them (do rankings depend on the
weights; who answered the PROMs) and the charts of the monthly series.

Reads the outcomes stage's frames and the run's stage costs; writes nothing itself:
``runs.run_pipeline`` publishes the frames returned here as the run's tables.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import pandas as pd

from carevalue.outcomes import OutcomesResult
from carevalue.packs.model import ConditionPack
from carevalue.value.episode_value import episode_value
from carevalue.value.metric_charts import CHART_TABLES, charts_for_run, metric_directions
from carevalue.value.metric_series import metric_series
from carevalue.value.prom_response import prom_response
from carevalue.value.value_sensitivity import value_sensitivity

VALUE_TABLES = ("episode_value", "metric_series", "value_sensitivity", "prom_response")


@dataclass
class ValueResult:
    """``tables``: the value tables and the chart tables (``CHART_TABLES``) by name;
    ``seconds``: the time of the value tables (``value``) and of the charts (``charts``)."""

    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)

    @property
    def series(self) -> pd.DataFrame:
        return self.tables["metric_series"]

    @property
    def icons(self) -> pd.DataFrame:
        return self.tables["metric_spc_icons"]


def run_value_stage(
    packs: list[ConditionPack],
    outcomes: OutcomesResult,
    stage_costs: pd.DataFrame | None,
    service_changes: pd.DataFrame | None = None,
) -> ValueResult:
    """``stage_costs``: episode_id, stage, amount of one costing method (None: not
    costed); ``service_changes``: where the SPC charts start a new baseline."""
    clock = time.perf_counter()
    parts: dict[str, list[pd.DataFrame]] = {name: [] for name in VALUE_TABLES}
    if stage_costs is None:
        stage_costs = pd.DataFrame(columns=["episode_id", "stage", "amount"])
    for pack in packs:
        frame, episode_outcomes = outcomes.episodes[pack.id], outcomes.outcomes[pack.id]
        costs = stage_costs[stage_costs["episode_id"].isin(frame["episode_id"])]
        value = episode_value(pack, frame, episode_outcomes, costs)
        parts["episode_value"].append(value)
        parts["metric_series"].append(metric_series(pack, value))
        parts["value_sensitivity"].append(value_sensitivity(pack, value))
        parts["prom_response"].append(prom_response(pack, frame, episode_outcomes))
    result = ValueResult()
    for name, frames in parts.items():
        frames = [f for f in frames if not f.empty] or frames[:1]
        result.tables[name] = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    result.seconds["value"] = round(time.perf_counter() - clock, 2)
    clock = time.perf_counter()
    charts = charts_for_run(result.series, service_changes, metric_directions(packs))
    result.tables.update(charts)
    result.seconds["charts"] = round(time.perf_counter() - clock, 2)
    return result


__all__ = ["CHART_TABLES", "VALUE_TABLES", "ValueResult", "run_value_stage"]
