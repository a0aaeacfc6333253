"""Clinical scores for outcomes and case mix: EQ-5D, stroke scales, Charlson, EuroSCORE II
and the liver scores. See docs/scores.md for the user's view of every score.

A pure library: plain values in, a number (or a small tuple) out. The only I/O is reading
the package's own published reference tables (``outcomes/reference/*.csv``, cited in its
``README.md``), each once and lazily (``reference_tables``).

One module per family: ``eq5d``, ``charlson_index``, ``stroke`` (mRS, NIHSS, smRSq),
``euroscore`` (EuroSCORE II, Cockcroft-Gault) and ``liver``; ``checks`` holds the input
checks and the rounding they share. Import the scores from here.

Conventions shared by every function:

- Inputs are checked before any arithmetic. A missing value (None or NaN), a value of the
  wrong kind, or a value outside the allowed range raises ``ValueError`` whose message names
  the input and the allowed values, so a bad row fails loudly instead of carrying a NaN into
  a cohort's mean.
- Units are in the argument names (``creatinine_mg_dl``, ``bilirubin_umol_l``) because the
  liver scores mix US and SI units and a unit slip changes the score silently.
- Where a published method rounds, it rounds half up (OPTN's rule), not Python's
  round-half-to-even; see ``checks.round_half_up``.
"""

from __future__ import annotations

from carevalue.outcomes.scores.charlson_index import CHARLSON_HIERARCHY, charlson, charlson_groups
from carevalue.outcomes.scores.eq5d import eq5d3l_index, eq5d5l_index, eq5d5l_to_3l
from carevalue.outcomes.scores.euroscore import cockcroft_gault, euroscore2
from carevalue.outcomes.scores.liver import apri, child_pugh, fib4, meld, meld_na, ukeld
from carevalue.outcomes.scores.stroke import (
    NIHSS_ITEMS,
    NIHSS_UNTESTABLE_ITEMS,
    SMRSQ_QUESTIONS,
    mrs_from_smrsq,
    nihss_band,
    nihss_total,
    uw_mrs,
)

__all__ = [
    "CHARLSON_HIERARCHY",
    "NIHSS_ITEMS",
    "NIHSS_UNTESTABLE_ITEMS",
    "SMRSQ_QUESTIONS",
    "apri",
    "charlson",
    "charlson_groups",
    "child_pugh",
    "cockcroft_gault",
    "eq5d3l_index",
    "eq5d5l_index",
    "eq5d5l_to_3l",
    "euroscore2",
    "fib4",
    "meld",
    "meld_na",
    "mrs_from_smrsq",
    "nihss_band",
    "nihss_total",
    "ukeld",
    "uw_mrs",
]
