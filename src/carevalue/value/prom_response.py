"""Who answered? PROM response per timepoint, responders against non-responders on case
mix, and an inverse-probability-of-response weighted estimate beside the crude one.

Due means the measure was owed (status measured or missing, excluding scores given for
death). Returned means a response was scored. Non-response is rarely random: sicker and
more deprived patients answer less, which flatters a crude mean. The weighted estimate
models the chance of responding from age, sex, deprivation and the pack's numeric case-mix
variables (statsmodels logistic regression) and weights each responder by 1 / that chance.
Pure: data frames in, data frames out.

Small numbers (``carevalue.disclosure``): the response rate rests on the episodes due, the
crude and weighted means and the responders' means on those returned, the non-responders'
means on those not returned, and the standardised difference on both groups; each is
blanked where its count is below the pack's ``reporting.min_cell``.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import statsmodels.api as sm

from carevalue.disclosure import suppress
from carevalue.outcomes import MEASURED, MISSING
from carevalue.packs.measures import PromScore
from carevalue.packs.model import ConditionPack

COLUMNS = [
    "condition",
    "outcome_id",
    "timepoint",
    "due",
    "returned",
    "response_rate",
    "crude_mean",
    "weighted_mean",
    "variable",
    "responders_mean",
    "non_responders_mean",
    "standardised_difference",
]
# Each count of episodes and the figures computed from the episodes it counts.
DISCLOSURE = {
    "due": ("response_rate",),
    "returned": ("crude_mean", "weighted_mean", "responders_mean", "standardised_difference"),
    "not_returned": ("non_responders_mean", "standardised_difference"),
}


def prom_response(pack: ConditionPack, frame: pd.DataFrame, outcomes: pd.DataFrame) -> pd.DataFrame:
    """One row per PROM outcome x compared variable."""
    records = []
    for outcome in pack.outcomes:
        if not isinstance(outcome, PromScore):
            continue
        rows = outcomes[
            (outcomes["outcome_id"] == outcome.id) & outcomes["status"].isin([MEASURED, MISSING])
        ]
        # A score given for death is not a response.
        rows = rows[~rows["note"].fillna("").str.startswith("died")]
        due = frame.set_index("episode_id").loc[rows["episode_id"]].copy()
        due["responded"] = (rows["status"] == MEASURED).to_numpy()
        due["score"] = rows["value"].to_numpy()
        due["male"] = (due["sex"] == "male").astype(float)
        variables = ["age", "imd_decile", "male", *numeric_case_mix(due)]
        crude = (
            float(due.loc[due["responded"], "score"].mean()) if due["responded"].any() else np.nan
        )
        weighted = ipw_mean(due, variables)
        base = {
            "condition": pack.id,
            "outcome_id": outcome.id,
            "timepoint": outcome.timepoint,
            "due": len(due),
            "returned": int(due["responded"].sum()),
            "response_rate": float(due["responded"].mean()) if len(due) else np.nan,
            "crude_mean": crude,
            "weighted_mean": weighted,
        }
        for variable in variables:
            values = pd.to_numeric(due[variable], errors="coerce")
            yes, no = values[due["responded"]], values[~due["responded"]]
            pooled = np.sqrt((yes.var() + no.var()) / 2) if len(yes) > 1 and len(no) > 1 else np.nan
            records.append(
                {
                    **base,
                    "variable": variable,
                    "responders_mean": float(yes.mean()),
                    "non_responders_mean": float(no.mean()),
                    "standardised_difference": float((yes.mean() - no.mean()) / pooled)
                    if pooled
                    else np.nan,
                }
            )
    table = pd.DataFrame.from_records(records, columns=COLUMNS)
    table["not_returned"] = table["due"] - table["returned"]
    return suppress(table, pack.reporting.min_cell, DISCLOSURE).drop(columns="not_returned")


def numeric_case_mix(frame: pd.DataFrame) -> list[str]:
    found = []
    for column in frame.columns:
        if column.startswith("cm_") and "__" not in column and column not in ("cm_age", "cm_sex"):
            values = pd.to_numeric(frame[column], errors="coerce")
            if values.notna().mean() > 0.8 and values.nunique() > 1:
                found.append(column)
    return found


def ipw_mean(due: pd.DataFrame, variables: list[str]) -> float:
    """Responders' scores weighted by 1 / modelled chance of responding; NaN when the
    response model cannot be fitted (too few of either group, or no variation)."""
    data = due[["responded", "score", *variables]].copy()
    x = data[variables].apply(pd.to_numeric, errors="coerce")
    complete = x.notna().all(axis=1)
    x, data = x[complete], data[complete]
    responders = int(data["responded"].sum())
    if min(responders, len(data) - responders) < 10 * max(1, len(variables)):
        return np.nan
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = sm.GLM(
            data["responded"].astype(float), sm.add_constant(x), family=sm.families.Binomial()
        ).fit()
    chance = fit.predict(sm.add_constant(x))
    answered = data["responded"].to_numpy()
    weights = 1.0 / np.clip(chance.to_numpy()[answered], 0.01, 1.0)
    return float(np.average(data["score"].to_numpy()[answered], weights=weights))
