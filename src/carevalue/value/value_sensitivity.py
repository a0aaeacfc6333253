"""Does a comparison depend on the weights? For each value equation with a composite
numerator, rank sites, teams and financial years by value (weighted good outcomes per
£100,000) under the pack's weights, under equal weights and under every alternative weight
set the pack lists, and report whether the order changes.

Only cells with at least ``reporting.min_cell`` complete episodes are ranked (the others
cannot be reported, so they cannot be ranked either: ``carevalue.disclosure.reportable``).
"""

from __future__ import annotations

import pandas as pd
from scipy.stats import kendalltau

from carevalue.disclosure import reportable
from carevalue.packs.measures import WeightedOutcome
from carevalue.packs.model import ConditionPack
from carevalue.value.episode_value import numerator, outcome_scales

COMPARISONS = ("site", "team", "financial_year")
COLUMNS = [
    "condition",
    "equation",
    "weight_set",
    "compared",
    "cells",
    "ranking",
    "same_order",
    "kendall_tau",
]


def weight_sets(equation) -> list[tuple[str, tuple[WeightedOutcome, ...]]]:
    sets = [("pack weights", equation.numerator)]
    ids = [term.outcome for term in equation.numerator]
    if len(ids) > 1:
        sets.append(
            ("equal weights", tuple(WeightedOutcome(outcome=i, weight=1 / len(ids)) for i in ids))
        )
    sets += [
        (alternative.name, alternative.numerator) for alternative in equation.sensitivity_weights
    ]
    return sets


def value_sensitivity(pack: ConditionPack, frame: pd.DataFrame) -> pd.DataFrame:
    scales = outcome_scales(pack, frame)
    records = []
    for equation in pack.value_equations:
        sets = weight_sets(equation)
        if len(sets) < 2:
            continue
        cost = frame[f"cost__{equation.id}"]
        for compared in COMPARISONS:
            main_order = None
            for name, weights in sets:
                good = numerator(frame, weights, scales)
                cells = pd.DataFrame(
                    {"cell": frame[compared].astype("string"), "good": good, "cost": cost}
                ).dropna()
                per = cells.groupby("cell").agg(
                    n=("good", "size"), good=("good", "sum"), cost=("cost", "sum")
                )
                per = per[reportable(per["n"], pack.reporting.min_cell) & (per["cost"] > 0)]
                value = (per["good"] / per["cost"] * 1e5).sort_values(ascending=False)
                order = list(value.index)
                if main_order is None:
                    main_order = order
                # Compare the cells ranked under both: a weight set over fewer outcomes has
                # more complete cases and may rank a cell the pack's weights could not.
                common = [c for c in main_order if c in order]
                same = [c for c in order if c in common] == common
                tau = (
                    kendalltau(
                        [main_order.index(c) for c in common], [order.index(c) for c in common]
                    ).statistic
                    if len(common) > 1
                    else float("nan")
                )
                records.append(
                    {
                        "condition": pack.id,
                        "equation": equation.id,
                        "weight_set": name,
                        "compared": compared,
                        "cells": len(order),
                        "ranking": " > ".join(f"{c} ({v:.2f})" for c, v in value.items()),
                        "same_order": same,
                        "kendall_tau": float(tau),
                    }
                )
    return pd.DataFrame.from_records(records, columns=COLUMNS)
