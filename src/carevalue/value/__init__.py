"""Value: what the outcomes that matter cost, per episode and per cohort, with intervals,
the checks around them and their charts (pure: data frames in, data frames out).

The stage's face (the run imports from here):

- ``run_value_stage(packs, outcomes, stage_costs, service_changes) -> ValueResult``;
- ``VALUE_TABLES`` and ``CHART_TABLES``, the tables it returns;
- ``summarise(outcomes, value) -> OutcomeSummary``: what the run records of them.

Inside: ``episode_value`` (per-episode cost, outcomes, numerators), ``metric_series``
(condition x metric x period x segment), ``intervals``, ``value_sensitivity``,
``prom_response`` and ``metric_charts`` (XmR charts, icons, funnels).

For readers of a run's results (the web app), the same definitions: ``group_metrics``
(every metric per group of any episodes), ``metric_labels``, ``is_binary``,
``funnel_charts``, ``prom_response``, ``weight_sets`` and the chart gap codes.
"""

from carevalue.value.episode_value import is_binary
from carevalue.value.metric_charts import (
    GAP_NO_EPISODES,
    GAP_NO_VALUE,
    GAP_SUPPRESSED,
    MIN_FUNNEL_GROUPS,
    OE_SUFFIX,
    funnel_charts,
)
from carevalue.value.metric_series import group_metrics, metric_labels
from carevalue.value.prom_response import prom_response
from carevalue.value.run_summary import HeadlineRow, ModelSummary, OutcomeSummary, summarise
from carevalue.value.value_sensitivity import weight_sets
from carevalue.value.value_stage import CHART_TABLES, VALUE_TABLES, ValueResult, run_value_stage

__all__ = [
    "CHART_TABLES",
    "GAP_NO_EPISODES",
    "GAP_NO_VALUE",
    "GAP_SUPPRESSED",
    "MIN_FUNNEL_GROUPS",
    "OE_SUFFIX",
    "VALUE_TABLES",
    "HeadlineRow",
    "ModelSummary",
    "OutcomeSummary",
    "ValueResult",
    "funnel_charts",
    "group_metrics",
    "is_binary",
    "metric_labels",
    "prom_response",
    "run_value_stage",
    "summarise",
    "weight_sets",
]
