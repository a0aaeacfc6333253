"""Case-mix adjustment: the expected value of an outcome for each episode, from the risk
model its pack declares, and how good that model is.

Pure: data frames in, data frames out. statsmodels fits the GLM (logistic for 0/1
outcomes, Gaussian or gamma with a log link for numbers). A model is fitted only when the
data carry enough information (the pack's events per variable, default 10); otherwise the
result says why, in a sentence, and no expected values are given: a model fitted on too
few events would make O/E say more than the data can.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import statsmodels.api as sm
from scipy.stats import rankdata

from carevalue.packs.measures import RiskModel


@dataclass
class FittedModel:
    outcome_id: str
    family: str
    fitted: bool
    reason: str  # why it was not fitted, or how it was obtained
    n: int = 0
    events: int = 0
    terms: list[str] = field(default_factory=list)
    coefficients: dict[str, float] = field(default_factory=dict)
    c_statistic: float | None = None
    calibration: pd.DataFrame | None = None  # decile, n, expected, observed


def design_matrix(
    frame: pd.DataFrame, variables: tuple[str, ...], levels: dict[str, list] | None = None
):
    """Model terms from case-mix columns ``cm_<id>``: numbers as they are, text as one
    indicator per category except the reference (the most common in the fitting data).

    Returns (matrix with an 'intercept' column, levels used). Rows with a missing value
    have NaN in the matrix."""
    levels = dict(levels or {})
    columns = {"intercept": np.ones(len(frame))}
    for variable in variables:
        values = frame[f"cm_{variable}"]
        numeric = pd.to_numeric(values, errors="coerce")
        is_text = variable in levels or (
            values.notna().any() and numeric[values.notna()].isna().any()
        )
        if not is_text:
            columns[variable] = numeric.to_numpy(dtype="float64")
            continue
        if variable not in levels:
            counts = values.dropna().astype(str).value_counts()
            levels[variable] = sorted(counts.index, key=lambda v: (-counts[v], v))
        text = values.astype("string")
        for level in levels[variable][1:]:
            column = np.where(
                text.isna().to_numpy(), np.nan, (text == level).fillna(False).to_numpy(dtype=float)
            )
            columns[f"{variable}[{level}]"] = column
    return pd.DataFrame(columns, index=frame.index), levels


def fit_risk_model(
    outcome_id: str, model: RiskModel, fit_rows: pd.DataFrame, observed: str = "value"
) -> tuple[FittedModel, dict]:
    """Fit (or take the supplied coefficients of) ``model`` on ``fit_rows`` (measured
    episodes with their ``cm_`` columns and the observed ``value``)."""
    x, levels = design_matrix(fit_rows, model.variables)
    if model.coefficients is not None:
        unknown = sorted(set(model.coefficients) - set(x.columns))
        if unknown:
            raise ValueError(
                f"risk model of '{outcome_id}': coefficient '{unknown[0]}' is not a term of "
                f"the model; the terms are {', '.join(x.columns)}"
            )
        coefficients = {term: float(model.coefficients.get(term, 0.0)) for term in x.columns}
        result = FittedModel(
            outcome_id,
            model.family,
            True,
            "supplied coefficients",
            terms=list(x.columns),
            coefficients=coefficients,
        )
        return result, levels
    complete = x.notna().all(axis=1) & fit_rows[observed].notna()
    x, y = x[complete], fit_rows.loc[complete, observed].astype("float64")
    terms = len(x.columns) - 1
    if model.family == "logistic":
        events = int(min(y.sum(), len(y) - y.sum()))
        noun = "events (the rarer of the two results)"
    else:
        events = len(y)
        noun = "episodes"
    needed = model.min_events_per_variable * terms
    if events < needed:
        reason = (
            f"not fitted: {events} {noun} for {terms} term{'s' if terms != 1 else ''}; "
            "the pack asks for at least "
            f"{model.min_events_per_variable} per term ({needed})"
        )
        return FittedModel(outcome_id, model.family, False, reason, n=len(y), events=events), levels
    constant = [c for c in x.columns[1:] if x[c].nunique() < 2]
    if constant:
        reason = (
            f"not fitted: '{constant[0]}' has one value in the fitting data, "
            "so its effect cannot be estimated"
        )
        return FittedModel(outcome_id, model.family, False, reason, n=len(y), events=events), levels
    family = {
        "logistic": sm.families.Binomial(),
        "linear": sm.families.Gaussian(),
        "gamma": sm.families.Gamma(link=sm.families.links.Log()),
    }[model.family]
    if model.family == "gamma" and (y <= 0).any():
        reason = "not fitted: a gamma model needs every value above zero"
        return FittedModel(outcome_id, model.family, False, reason, n=len(y), events=events), levels
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = sm.GLM(y.to_numpy(), x.to_numpy(), family=family).fit()
    coefficients = dict(zip(x.columns, map(float, fit.params), strict=True))
    result = FittedModel(
        outcome_id,
        model.family,
        True,
        f"fitted on {len(y)} episodes",
        n=len(y),
        events=events,
        terms=list(x.columns),
        coefficients=coefficients,
    )
    expected = predict(result, x)
    result.c_statistic = c_statistic(y.to_numpy(), expected) if model.family == "logistic" else None
    result.calibration = calibration_by_decile(y.to_numpy(), expected)
    return result, levels


def predict(model: FittedModel, x: pd.DataFrame) -> np.ndarray:
    """Expected value per row (NaN where a case-mix value is missing)."""
    beta = np.array([model.coefficients[t] for t in model.terms])
    eta = x[model.terms].to_numpy(dtype="float64") @ beta
    if model.family == "logistic":
        return 1.0 / (1.0 + np.exp(-eta))
    if model.family == "gamma":
        return np.exp(eta)
    return eta


def c_statistic(observed: np.ndarray, expected: np.ndarray) -> float:
    """Area under the ROC curve (Mann-Whitney form; ties count a half)."""
    observed = np.asarray(observed, dtype=float)
    positives = observed == 1
    n_pos, n_neg = positives.sum(), (~positives).sum()
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    ranks = rankdata(expected)
    return float((ranks[positives].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def calibration_by_decile(observed: np.ndarray, expected: np.ndarray) -> pd.DataFrame:
    """Mean expected and observed per tenth of expected risk (fewer groups when there are
    fewer distinct predictions)."""
    frame = pd.DataFrame({"observed": observed, "expected": expected})
    groups = min(10, frame["expected"].nunique())
    frame["decile"] = pd.qcut(frame["expected"].rank(method="first"), groups, labels=False) + 1
    table = frame.groupby("decile").agg(
        n=("observed", "size"), expected=("expected", "mean"), observed=("observed", "mean")
    )
    return table.reset_index()


def expected_values(
    outcome_id: str, model: RiskModel, episodes: pd.DataFrame, fit_mask: pd.Series
) -> tuple[pd.Series, FittedModel]:
    """Expected value for every episode in ``episodes`` (indexed like it), fitting on the
    rows where ``fit_mask`` is true."""
    fitted, levels = fit_risk_model(outcome_id, model, episodes[fit_mask])
    if not fitted.fitted:
        return pd.Series(np.nan, index=episodes.index), fitted
    x, _ = design_matrix(episodes, model.variables, levels)
    for term in fitted.terms:  # a category absent from the fitting data: no effect
        if term not in x.columns:
            x[term] = 0.0
    return pd.Series(predict(fitted, x), index=episodes.index), fitted
