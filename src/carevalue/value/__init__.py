"""Value: what the outcomes that matter cost, per episode and per cohort, with intervals,
the checks around them and their charts (pure: data frames in, data frames out).

The stage's face (the run imports from here):

- ``run_value_stage(packs, outcomes, stage_costs, service_changes) -> ValueResult``;
- ``VALUE_TABLES`` and ``CHART_TABLES``, the tables it returns;
- ``summarise(outcomes, value) -> OutcomeSummary``: what the run records of them.

Inside: ``episode_value`` (per-episode cost, outcomes, numerators), ``metric_series``
(condition x metric x period x segment), ``intervals``, ``value_sensitivity``,
``prom_response`` and ``metric_charts`` (XmR charts, icons, funnels).
"""

from carevalue.value.run_summary import HeadlineRow, ModelSummary, OutcomeSummary, summarise
from carevalue.value.value_stage import CHART_TABLES, VALUE_TABLES, ValueResult, run_value_stage

__all__ = [
    "CHART_TABLES",
    "VALUE_TABLES",
    "HeadlineRow",
    "ModelSummary",
    "OutcomeSummary",
    "ValueResult",
    "run_value_stage",
    "summarise",
]
