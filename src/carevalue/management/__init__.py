"""Value-based management: the statistics of the loop a pathway team runs (pure).

The face (other packages import from here):

- ``find_opportunities(metric_spc=, metric_funnel=, episode_costs=, ...)`` -> a ranked
  frame of improvement opportunities with a reason in words and a link target;
- ``evaluate_change(values, dates, change_date, improvement=, ...)`` -> ``Evaluation``:
  before/after difference with its 95 % interval, SPC evidence, an interrupted
  time-series estimate where the points allow, and a verdict in words; the same of a
  run's episodes with ``evaluate_episodes(episode_value, outcome, change_date, ...)`` and
  of one ``metric_series`` series with ``evaluate_series(metric_series, condition=, ...)``;
- ``return_on_investment(...)`` -> ``ReturnOnInvestment``: net saving and ROI over a
  horizon, discounted at the Green Book rate, with the interval carried through.

Inside: ``opportunities``, ``evaluation``, ``roi``. See docs/management.md.
"""

from carevalue.management.evaluation import (
    DETERIORATION,
    IMPROVEMENT,
    ITS_MIN_POINTS,
    NO_CHANGE,
    Evaluation,
    InterruptedTimeSeries,
    evaluate_change,
    evaluate_episodes,
    evaluate_series,
)
from carevalue.management.opportunities import (
    KINDS,
    OPPORTUNITY_COLUMNS,
    THRESHOLD_SCORE,
    find_opportunities,
    labels_from,
)
from carevalue.management.roi import GREEN_BOOK_RATE, ReturnOnInvestment, return_on_investment

__all__ = [
    "DETERIORATION",
    "GREEN_BOOK_RATE",
    "IMPROVEMENT",
    "ITS_MIN_POINTS",
    "KINDS",
    "NO_CHANGE",
    "OPPORTUNITY_COLUMNS",
    "THRESHOLD_SCORE",
    "Evaluation",
    "InterruptedTimeSeries",
    "ReturnOnInvestment",
    "evaluate_change",
    "evaluate_episodes",
    "evaluate_series",
    "find_opportunities",
    "labels_from",
    "return_on_investment",
]
