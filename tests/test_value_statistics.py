"""The statistics behind value reports, checked against published worked values,
independent computations and reference implementations.

- carevalue.value.intervals: Wilson intervals against Newcombe RG. Two-sided confidence
  intervals for the single proportion: comparison of seven methods. Stat Med
  1998;17:857-872, Table I (method 3, score interval without continuity correction), and
  statsmodels' proportion_confint; t intervals against scipy; order-statistic median
  intervals against the binomial coverage sum and the ranks tabulated by Campbell MJ,
  Gardner MJ. Calculating confidence intervals for some non-parametric analyses. BMJ
  1988;296:1454-6 (n = 10: 2nd and 9th; n = 20: 6th and 15th); exact Poisson limits
  against Garwood (1936) / Ulm K. A simple method to calculate the confidence interval of
  a standardized mortality ratio. Am J Epidemiol 1990;131:373-5 (10 observed: 4.795 to
  18.39) and the Poisson tail probabilities that define them; the ratio estimator's
  delta-method interval against a hand computation and a bootstrap.
- carevalue.outcomes.risk_models: coefficients recovered from simulated data with known
  coefficients and equal to statsmodels' formula API; the events-per-variable rule at its
  boundary; refusals in sentences; C statistic against the pairwise Mann-Whitney count.
- carevalue.disclosure, carevalue.value.value_sensitivity and
  carevalue.value.prom_response on hand-built frames whose answers are known.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
import statsmodels.formula.api as smf
from scipy import stats
from statsmodels.stats.proportion import proportion_confint

from carevalue.conditions import shipped_conditions
from carevalue.disclosure import suppress_small_cells, too_few_note
from carevalue.outcomes.risk_models import (
    c_statistic,
    calibration_by_decile,
    design_matrix,
    expected_values,
    fit_risk_model,
    predict,
)
from carevalue.packs import load_packs
from carevalue.packs.measures import RiskModel
from carevalue.value import intervals
from carevalue.value.prom_response import ipw_mean, prom_response
from carevalue.value.value_sensitivity import value_sensitivity, weight_sets

Z = stats.norm.ppf(0.975)


@pytest.fixture(scope="module")
def stroke():
    return next(pack for pack in load_packs(shipped_conditions()) if pack.id == "stroke")


# ============================================================================ intervals


@pytest.mark.parametrize(
    ("events", "n", "lower", "upper"),
    [
        (81, 263, 0.2553, 0.3662),
        (15, 148, 0.0624, 0.1605),
        (0, 20, 0.0000, 0.1611),
        (1, 29, 0.0061, 0.1718),
    ],
)
def test_wilson_matches_newcombe_1998_table_1(events, n, lower, upper):
    got = intervals.wilson(events, n)
    assert got[0] == pytest.approx(lower, abs=5e-5)
    assert got[1] == pytest.approx(upper, abs=5e-5)


def test_wilson_matches_statsmodels_and_its_defining_equation():
    for events, n in [
        (0, 1),
        (1, 1),
        (0, 5),
        (3, 7),
        (7, 7),
        (1, 50),
        (49, 50),
        (500, 1000),
        (2, 10000),
    ]:
        got = intervals.wilson(events, n)
        reference = proportion_confint(events, n, alpha=0.05, method="wilson")
        assert got == pytest.approx(reference, abs=1e-12), (events, n)
        # The score interval's limits are the p at which |p_hat - p| = z * sqrt(p(1-p)/n).
        p_hat = events / n
        for p in got:
            if 0 < p < 1:
                assert abs(p_hat - p) == pytest.approx(Z * math.sqrt(p * (1 - p) / n), rel=1e-9)
        assert 0.0 <= got[0] <= p_hat <= got[1] <= 1.0


def test_wilson_of_an_empty_cell_is_blank():
    assert all(math.isnan(v) for v in intervals.wilson(0, 0))


def test_mean_t_matches_scipy():
    rng = np.random.default_rng(20260101)
    for n in (2, 3, 10, 31, 500):
        values = rng.gamma(2.0, 1500.0, size=n)
        mean, lower, upper = intervals.mean_t(values)
        ref = stats.t.interval(0.95, df=n - 1, loc=values.mean(), scale=stats.sem(values))
        assert mean == pytest.approx(values.mean(), rel=1e-12)
        assert (lower, upper) == pytest.approx(ref, rel=1e-10)


def test_mean_t_small_samples():
    assert all(math.isnan(v) for v in intervals.mean_t(np.array([])))
    mean, lower, upper = intervals.mean_t(np.array([4.0]))
    assert mean == 4.0 and math.isnan(lower) and math.isnan(upper)


def _coverage(n: int, lower_rank: int, upper_rank: int) -> float:
    """P(X_(r) <= median <= X_(s)) for 1-based ranks r, s: the number of observations
    below the median is Binomial(n, 1/2) and must lie in r .. s - 1."""
    return float(stats.binom.cdf(upper_rank - 1, n, 0.5) - stats.binom.cdf(lower_rank - 1, n, 0.5))


def test_median_order_has_at_least_95_percent_coverage_and_is_the_tightest():
    for n in range(6, 301):
        values = np.arange(n, dtype=float) * 10.0  # value / 10 = 0-based rank
        median, lower, upper = intervals.median_order(values[::-1].copy())  # unsorted input
        assert median == pytest.approx(np.median(values))
        r, s = int(lower / 10) + 1, int(upper / 10) + 1
        assert r + s == n + 1, f"n={n}: ranks {r} and {s} are not symmetric"
        assert _coverage(n, r, s) >= 0.95, f"n={n}: ranks {r}..{s} cover {_coverage(n, r, s):.4f}"
        assert _coverage(n, r + 1, s - 1) < 0.95, f"n={n}: ranks {r + 1}..{s - 1} also cover 95%"


@pytest.mark.parametrize(("n", "lower_rank", "upper_rank"), [(10, 2, 9), (20, 6, 15)])
def test_median_order_ranks_match_campbell_gardner_1988(n, lower_rank, upper_rank):
    values = np.arange(1, n + 1, dtype=float)  # value = 1-based rank
    _, lower, upper = intervals.median_order(values)
    assert (lower, upper) == (lower_rank, upper_rank)


def test_median_order_coverage_by_simulation():
    # Exponential(1): true median ln 2. n = 15 gives ranks 4 and 12 (96.5%).
    rng = np.random.default_rng(7)
    samples = rng.exponential(1.0, size=(4000, 15))
    hits = 0
    for row in samples:
        _, lower, upper = intervals.median_order(row)
        hits += lower <= math.log(2) <= upper
    assert hits / len(samples) > 0.95


def test_median_order_too_few_values_gives_no_interval():
    # With n <= 5, even the smallest to the largest value covers less than 95%
    # (1 - 2 / 2**5 = 93.75% at n = 5).
    for n in range(1, 6):
        median, lower, upper = intervals.median_order(np.arange(n, dtype=float))
        assert median == pytest.approx(np.median(np.arange(n)))
        assert math.isnan(lower) and math.isnan(upper)
    assert all(math.isnan(v) for v in intervals.median_order(np.array([])))
    _, lower, upper = intervals.median_order(np.arange(6, dtype=float))
    assert (lower, upper) == (0.0, 5.0)


def test_poisson_ratio_published_exact_limits():
    ratio, lower, upper = intervals.poisson_ratio(10, 1.0)
    assert ratio == 10
    assert lower == pytest.approx(4.795, abs=5e-4)
    assert upper == pytest.approx(18.39, abs=5e-3)
    # Zero observed: lower 0, upper -ln(0.025) = 3.689.
    ratio, lower, upper = intervals.poisson_ratio(0, 2.0)
    assert (ratio, lower) == (0.0, 0.0)
    assert upper == pytest.approx(-math.log(0.025) / 2.0, rel=1e-9)


def test_poisson_ratio_matches_chi_squared_form_and_tail_definition():
    for observed in (1, 2, 5, 10, 37, 250):
        expected = 0.8 * observed + 3
        ratio, lower, upper = intervals.poisson_ratio(observed, expected)
        assert ratio == pytest.approx(observed / expected)
        chi_lower = stats.chi2.ppf(0.025, 2 * observed) / 2
        chi_upper = stats.chi2.ppf(0.975, 2 * observed + 2) / 2
        assert lower * expected == pytest.approx(chi_lower, rel=1e-10)
        assert upper * expected == pytest.approx(chi_upper, rel=1e-10)
        # Exact: a Poisson mean at the upper limit gives P(X <= O) = 2.5%, at the lower
        # limit P(X >= O) = 2.5%.
        assert stats.poisson.cdf(observed, upper * expected) == pytest.approx(0.025, rel=1e-6)
        assert stats.poisson.sf(observed - 1, lower * expected) == pytest.approx(0.025, rel=1e-6)


def test_poisson_ratio_without_expected_is_blank():
    assert all(math.isnan(v) for v in intervals.poisson_ratio(3, 0.0))


def test_ratio_of_sums_hand_computed_delta_method():
    y = np.array([1.0, 0.0, 1.0, 1.0, 0.0])
    x = np.array([0.5, 0.2, 0.6, 0.4, 0.3])
    # R = 3 / 2 = 1.5; residuals y - R x = .25, -.3, .1, .4, -.45; sum of squares .525;
    # Var(R) = sum(res^2) / (n - 1) / (n * xbar^2) = .13125 / (5 * .16) = .1640625.
    se = math.sqrt(0.1640625)
    ratio, lower, upper = intervals.ratio_of_sums(y, x)
    assert ratio == pytest.approx(1.5)
    assert lower == pytest.approx(1.5 - Z * se, rel=1e-12)
    assert upper == pytest.approx(1.5 + Z * se, rel=1e-12)
    assert (lower, upper) == pytest.approx((0.70612, 2.29388), abs=5e-5)


def test_ratio_of_sums_agrees_with_a_bootstrap():
    rng = np.random.default_rng(11)
    n = 400
    x = rng.uniform(0.02, 0.6, size=n)  # expected risk per episode
    y = (rng.random(n) < 1.2 * x).astype(float)  # observed deaths
    ratio, lower, upper = intervals.ratio_of_sums(y, x)
    delta_se = (upper - lower) / (2 * Z)
    picks = rng.integers(0, n, size=(4000, n))
    boot = y[picks].sum(axis=1) / x[picks].sum(axis=1)
    assert ratio == pytest.approx(y.sum() / x.sum())
    assert delta_se == pytest.approx(boot.std(ddof=1), rel=0.08)
    lo, hi = np.percentile(boot, [2.5, 97.5])
    assert lower == pytest.approx(lo, abs=0.05 * ratio)
    assert upper == pytest.approx(hi, abs=0.05 * ratio)


def test_ratio_of_sums_edge_cases():
    assert all(math.isnan(v) for v in intervals.ratio_of_sums(np.array([]), np.array([])))
    assert all(
        math.isnan(v) for v in intervals.ratio_of_sums(np.array([1.0, 2.0]), np.array([0.0, 0.0]))
    )
    ratio, lower, upper = intervals.ratio_of_sums(np.array([3.0]), np.array([2.0]))
    assert ratio == 1.5 and math.isnan(lower) and math.isnan(upper)


# ============================================================================ risk models

TRUE = {
    "intercept": -2.5,
    "age": 0.05,
    "nihss": 0.12,
    "stroke_type[haemorrhagic]": 1.1,
    "stroke_type[unknown]": -0.6,
}


def _logistic_data(n: int = 5000, seed: int = 2026) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    age = rng.normal(0.0, 12.0, n)  # centred age
    nihss = rng.integers(0, 26, n).astype(float)
    stroke_type = rng.choice(["ischaemic", "haemorrhagic", "unknown"], size=n, p=[0.7, 0.2, 0.1])
    eta = (
        TRUE["intercept"]
        + TRUE["age"] * age
        + TRUE["nihss"] * nihss
        + TRUE["stroke_type[haemorrhagic]"] * (stroke_type == "haemorrhagic")
        + TRUE["stroke_type[unknown]"] * (stroke_type == "unknown")
    )
    died = (rng.random(n) < 1 / (1 + np.exp(-eta))).astype(float)
    return pd.DataFrame(
        {"cm_age": age, "cm_nihss": nihss, "cm_stroke_type": stroke_type, "value": died}
    )


LOGISTIC = RiskModel(family="logistic", variables=("age", "nihss", "stroke_type"))


@pytest.fixture(scope="module")
def logistic_data():
    return _logistic_data()


@pytest.fixture(scope="module")
def logistic_fit(logistic_data):
    return fit_risk_model("death_90d", LOGISTIC, logistic_data)


def _statsmodels_logit(data: pd.DataFrame):
    fit = smf.logit(
        "value ~ cm_age + cm_nihss + C(cm_stroke_type, Treatment('ischaemic'))", data
    ).fit(disp=0)
    names = {
        "Intercept": "intercept",
        "cm_age": "age",
        "cm_nihss": "nihss",
        "C(cm_stroke_type, Treatment('ischaemic'))[T.haemorrhagic]": "stroke_type[haemorrhagic]",
        "C(cm_stroke_type, Treatment('ischaemic'))[T.unknown]": "stroke_type[unknown]",
    }
    return fit.params.rename(index=names), fit.bse.rename(index=names)


def test_logistic_fit_recovers_known_coefficients(logistic_data, logistic_fit):
    fitted, levels = logistic_fit
    assert fitted.fitted and fitted.reason == "fitted on 5000 episodes"
    assert fitted.n == 5000
    assert fitted.events == int(
        min(logistic_data["value"].sum(), 5000 - logistic_data["value"].sum())
    )
    assert levels == {"stroke_type": ["ischaemic", "haemorrhagic", "unknown"]}
    assert fitted.terms == [
        "intercept",
        "age",
        "nihss",
        "stroke_type[haemorrhagic]",
        "stroke_type[unknown]",
    ]
    _, se = _statsmodels_logit(logistic_data)
    for term, truth in TRUE.items():
        assert abs(fitted.coefficients[term] - truth) < 4 * se[term], term


def test_logistic_fit_equals_statsmodels_formula_logit(logistic_data, logistic_fit):
    fitted, _ = logistic_fit
    params, _ = _statsmodels_logit(logistic_data)
    for term in fitted.terms:
        assert fitted.coefficients[term] == pytest.approx(params[term], rel=1e-6, abs=1e-8), term


def test_logistic_fit_quality_figures(logistic_data, logistic_fit):
    fitted, _ = logistic_fit
    x, _ = design_matrix(logistic_data, LOGISTIC.variables)
    expected = predict(fitted, x)
    assert fitted.c_statistic == pytest.approx(
        c_statistic(logistic_data["value"].to_numpy(), expected)
    )
    assert 0.7 < fitted.c_statistic < 0.95
    calibration = fitted.calibration
    assert list(calibration["decile"]) == list(range(1, 11))
    assert calibration["n"].sum() == 5000 and set(calibration["n"]) == {500}
    assert calibration["expected"].is_monotonic_increasing
    # A correctly specified model: mean expected = mean observed (logistic score equation),
    # and each tenth observed within a few binomial standard errors of expected.
    assert (calibration["expected"] * calibration["n"]).sum() == pytest.approx(
        logistic_data["value"].sum(), rel=1e-6
    )
    se = np.sqrt(calibration["expected"] * (1 - calibration["expected"]) / calibration["n"])
    assert ((calibration["observed"] - calibration["expected"]).abs() < 4 * se).all()


def test_gamma_fit_equals_statsmodels_glm():
    rng = np.random.default_rng(3)
    n = 3000
    age, nihss = rng.normal(0, 10, n), rng.integers(0, 25, n).astype(float)
    mu = np.exp(3.5 + 0.01 * age + 0.02 * nihss)
    minutes = rng.gamma(shape=4.0, scale=mu / 4.0)
    data = pd.DataFrame({"cm_age": age, "cm_nihss": nihss, "value": minutes})
    fitted, _ = fit_risk_model(
        "door_to_needle", RiskModel(family="gamma", variables=("age", "nihss")), data
    )
    assert fitted.fitted and fitted.c_statistic is None
    reference = smf.glm(
        "value ~ cm_age + cm_nihss", data, family=sm.families.Gamma(link=sm.families.links.Log())
    ).fit()
    got = [fitted.coefficients[t] for t in ("intercept", "age", "nihss")]
    assert got == pytest.approx(list(reference.params), rel=1e-6)
    assert got == pytest.approx([3.5, 0.01, 0.02], abs=4 * reference.bse.max())


def _rare_events(events: int, n: int = 400, ones_are_rare: bool = True) -> pd.DataFrame:
    rng = np.random.default_rng(events)
    value = np.zeros(n)
    value[rng.choice(n, events, replace=False)] = 1.0
    if not ones_are_rare:
        value = 1.0 - value
    return pd.DataFrame(
        {
            "cm_age": rng.normal(0, 10, n),
            "cm_nihss": rng.integers(0, 25, n).astype(float),
            "value": value,
        }
    )


@pytest.mark.parametrize("ones_are_rare", [True, False])
def test_events_per_variable_rule_at_the_threshold(ones_are_rare):
    model = RiskModel(family="logistic", variables=("age", "nihss"), min_events_per_variable=10)
    at, _ = fit_risk_model("death_90d", model, _rare_events(20, ones_are_rare=ones_are_rare))
    assert at.fitted, at.reason
    assert at.events == 20
    below, _ = fit_risk_model("death_90d", model, _rare_events(19, ones_are_rare=ones_are_rare))
    assert not below.fitted
    assert below.events == 19 and below.n == 400 and not below.coefficients
    assert below.reason == (
        "not fitted: 19 events (the rarer of the two results) for 2 terms; the pack asks for at "
        "least 10 per term (20)"
    )


def test_events_per_variable_counts_category_terms_and_episodes_for_numbers():
    # stroke_type with three categories is two terms, so age + stroke_type need 30 events.
    data = _logistic_data(2000)
    model = RiskModel(
        family="logistic", variables=("age", "stroke_type"), min_events_per_variable=500
    )
    fitted, _ = fit_risk_model("death_90d", model, data)
    assert not fitted.fitted
    assert "for 3 terms" in fitted.reason and "(1500)" in fitted.reason
    gamma = RiskModel(family="gamma", variables=("age",), min_events_per_variable=10)
    few = pd.DataFrame({"cm_age": np.arange(9.0), "value": np.arange(1.0, 10.0)})
    fitted, _ = fit_risk_model("door_to_needle", gamma, few)
    assert not fitted.fitted
    assert fitted.reason.startswith("not fitted: 9 episodes for 1 term;")


def test_rows_with_missing_values_do_not_count_towards_the_rule():
    model = RiskModel(family="logistic", variables=("age", "nihss"), min_events_per_variable=10)
    data = _rare_events(20)
    data.loc[data.index[data["value"] == 1][0], "cm_age"] = np.nan
    fitted, _ = fit_risk_model("death_90d", model, data)
    assert not fitted.fitted and fitted.events == 19 and fitted.n == 399


def test_constant_variable_is_refused_with_a_sentence():
    data = _rare_events(60)
    data["cm_nihss"] = 7.0
    model = RiskModel(family="logistic", variables=("age", "nihss"))
    fitted, _ = fit_risk_model("death_90d", model, data)
    assert not fitted.fitted
    assert fitted.reason == (
        "not fitted: 'nihss' has one value in the fitting data, so its effect cannot be estimated"
    )


def test_gamma_refuses_values_that_are_not_positive():
    rng = np.random.default_rng(5)
    data = pd.DataFrame({"cm_age": rng.normal(0, 10, 200), "value": rng.gamma(3.0, 10.0, 200)})
    model = RiskModel(family="gamma", variables=("age",))
    assert fit_risk_model("door_to_needle", model, data)[0].fitted
    for bad in (0.0, -4.0):
        data.loc[17, "value"] = bad
        fitted, _ = fit_risk_model("door_to_needle", model, data)
        assert not fitted.fitted
        assert fitted.reason == "not fitted: a gamma model needs every value above zero"


def test_text_variable_gets_indicators_against_the_most_common_category():
    frame = pd.DataFrame(
        {
            "cm_age": ["70", "81", None, "64", "55", "90", "77"],  # numbers as text stay numbers
            "cm_stroke_type": [
                "unknown",
                "ischaemic",
                "haemorrhagic",
                "ischaemic",
                None,
                "haemorrhagic",
                "ischaemic",
            ],
        }
    )
    x, levels = design_matrix(frame, ("age", "stroke_type"))
    assert levels == {"stroke_type": ["ischaemic", "haemorrhagic", "unknown"]}
    assert list(x.columns) == [
        "intercept",
        "age",
        "stroke_type[haemorrhagic]",
        "stroke_type[unknown]",
    ]
    assert x["intercept"].tolist() == [1.0] * 7
    np.testing.assert_array_equal(x["age"], [70, 81, np.nan, 64, 55, 90, 77])
    np.testing.assert_array_equal(x["stroke_type[haemorrhagic]"], [0, 0, 1, 0, np.nan, 1, 0])
    np.testing.assert_array_equal(x["stroke_type[unknown]"], [1, 0, 0, 0, np.nan, 0, 0])
    # A tie in frequency: the reference is the first by name.
    _, levels = design_matrix(
        pd.DataFrame({"cm_side": ["right", "left", "right", "left"]}), ("side",)
    )
    assert levels == {"side": ["left", "right"]}


def test_supplied_coefficients_are_used_as_given():
    frame = _logistic_data(300)
    model = RiskModel(
        family="logistic",
        variables=("age", "stroke_type"),
        coefficients={"intercept": -2.0, "age": 0.03, "stroke_type[haemorrhagic]": 0.9},
    )
    fitted, levels = fit_risk_model("death_90d", model, frame)
    assert fitted.fitted and fitted.reason == "supplied coefficients"
    assert fitted.coefficients == {
        "intercept": -2.0,
        "age": 0.03,
        "stroke_type[haemorrhagic]": 0.9,
        "stroke_type[unknown]": 0.0,
    }
    x, _ = design_matrix(frame, model.variables, levels)
    eta = -2.0 + 0.03 * frame["cm_age"] + 0.9 * (frame["cm_stroke_type"] == "haemorrhagic")
    np.testing.assert_allclose(predict(fitted, x), 1 / (1 + np.exp(-eta)), rtol=1e-12)


def test_supplied_coefficient_for_an_unknown_term_is_named():
    model = RiskModel(
        family="logistic",
        variables=("age", "stroke_type"),
        coefficients={"intercept": -2.0, "age": 0.03, "stroke_type[lacunar]": 0.4},
    )
    with pytest.raises(
        ValueError, match=r"coefficient 'stroke_type\[lacunar\]' is not a term"
    ) as error:
        fit_risk_model("death_90d", model, _logistic_data(300))
    assert "'death_90d'" in str(error.value)
    assert "intercept, age, stroke_type[haemorrhagic], stroke_type[unknown]" in str(error.value)


def _brute_force_auc(observed, expected) -> float:
    positives = [e for o, e in zip(observed, expected, strict=True) if o == 1]
    negatives = [e for o, e in zip(observed, expected, strict=True) if o != 1]
    score = 0.0
    for p, q in itertools.product(positives, negatives):
        score += 1.0 if p > q else 0.5 if p == q else 0.0
    return score / (len(positives) * len(negatives))


def test_c_statistic_equals_the_pairwise_count_with_ties_as_half():
    rng = np.random.default_rng(13)
    for n, decimals in ((40, 1), (150, 2), (300, 6)):
        expected = np.round(rng.random(n), decimals)  # one decimal: many ties
        observed = (rng.random(n) < expected).astype(float)
        assert c_statistic(observed, expected) == pytest.approx(
            _brute_force_auc(observed, expected), abs=1e-12
        )
    assert c_statistic(np.array([0, 1, 0, 1.0]), np.array([0.5, 0.5, 0.5, 0.5])) == 0.5
    assert c_statistic(np.array([0, 0, 1, 1.0]), np.array([0.1, 0.2, 0.3, 0.4])) == 1.0
    assert c_statistic(np.array([1, 1, 0, 0.0]), np.array([0.1, 0.2, 0.3, 0.4])) == 0.0
    assert math.isnan(c_statistic(np.array([1.0, 1.0]), np.array([0.2, 0.3])))


def test_calibration_by_decile_groups():
    rng = np.random.default_rng(17)
    expected = rng.random(1234)
    observed = (rng.random(1234) < expected).astype(float)
    table = calibration_by_decile(observed, expected)
    assert list(table["decile"]) == list(range(1, 11))
    assert table["n"].sum() == 1234 and table["n"].max() - table["n"].min() <= 1
    assert table["expected"].is_monotonic_increasing
    order = np.argsort(expected, kind="stable")
    first = order[: table["n"].iloc[0]]
    assert table["expected"].iloc[0] == pytest.approx(expected[first].mean())
    assert table["observed"].iloc[0] == pytest.approx(observed[first].mean())
    # Fewer distinct predictions than ten: that many groups.
    few = calibration_by_decile(
        np.array([0, 1, 0, 1, 1, 0.0]), np.array([0.2, 0.2, 0.5, 0.5, 0.8, 0.8])
    )
    assert list(few["decile"]) == [1, 2, 3] and few["n"].tolist() == [2, 2, 2]


def test_expected_values_fits_on_the_mask_and_predicts_every_row():
    data = _logistic_data(3000, seed=99)
    data.index = [f"EP{i}" for i in range(len(data))]
    fit_mask = pd.Series(np.arange(len(data)) < 2000, index=data.index)
    # The rows outside the mask: no observed value, one missing case mix, one category
    # never seen in the fitting data.
    data.loc[~fit_mask, "value"] = np.nan
    data.loc["EP2100", "cm_nihss"] = np.nan
    data.loc["EP2200", "cm_stroke_type"] = "lacunar"
    data.loc["EP2300", "cm_stroke_type"] = "ischaemic"
    data.loc[["EP2200", "EP2300"], ["cm_age", "cm_nihss"]] = [[3.0, 11.0], [3.0, 11.0]]

    expected, fitted = expected_values("death_90d", LOGISTIC, data, fit_mask)
    assert fitted.fitted and fitted.n == 2000
    direct, _ = fit_risk_model("death_90d", LOGISTIC, data[fit_mask])
    assert fitted.coefficients == pytest.approx(direct.coefficients)
    assert expected.index.equals(data.index)

    c = fitted.coefficients
    eta = (
        c["intercept"]
        + c["age"] * data["cm_age"]
        + c["nihss"] * data["cm_nihss"]
        + c["stroke_type[haemorrhagic]"] * (data["cm_stroke_type"] == "haemorrhagic")
        + c["stroke_type[unknown]"] * (data["cm_stroke_type"] == "unknown")
    )
    by_hand = 1 / (1 + np.exp(-eta))
    assert math.isnan(expected["EP2100"])
    others = expected.index != "EP2100"
    np.testing.assert_allclose(expected[others], by_hand[others], rtol=1e-12)
    # An unseen category counts as the reference category.
    assert expected["EP2200"] == pytest.approx(expected["EP2300"], rel=1e-15)
    assert expected[fit_mask].notna().all()


def test_expected_values_blank_when_not_fitted():
    data = _rare_events(5)
    expected, fitted = expected_values(
        "death_90d",
        RiskModel(family="logistic", variables=("age",)),
        data,
        pd.Series(True, index=data.index),
    )
    assert not fitted.fitted and expected.isna().all() and len(expected) == len(data)


# ============================================================================ disclosure


def test_small_cells_are_blanked_flagged_and_counts_kept():
    frame = pd.DataFrame(
        {
            "segment": ["a", "b", "c", "d"],
            "n": [3, 10, 9, 250],
            "value": [0.5, 0.25, 1.0, 0.125],
            "lower": [1, 2, 3, 4],  # integers become numbers that can be blank
            "note": [None, "provisional", "provisional", None],
        }
    )
    out = suppress_small_cells(frame, 10, figures=("value", "lower", "absent"))
    assert out["n"].tolist() == [3, 10, 9, 250]
    assert out["suppressed"].tolist() == [True, False, True, False]
    assert out["value"].isna().tolist() == [True, False, True, False]
    assert out.loc[[1, 3], "value"].tolist() == [0.25, 0.125]
    assert out["lower"].isna().tolist() == [True, False, True, False]
    assert out.loc[[1, 3], "lower"].tolist() == [2.0, 4.0]
    note = "too few to report (fewer than 10 episodes)"
    assert too_few_note(10) == note
    assert out["note"].tolist()[:3] == [note, "provisional", note]
    assert pd.isna(out["note"].iloc[3])
    assert "absent" not in out.columns
    # The input is not changed.
    assert frame["value"].notna().all() and "suppressed" not in frame.columns


def test_disclosure_other_count_column_and_threshold():
    frame = pd.DataFrame({"n_used": [0, 1, 2], "value": [1.0, 2.0, 3.0]})
    out = suppress_small_cells(frame, 2, count="n_used", figures=("value",))
    assert out["suppressed"].tolist() == [True, True, False]
    assert out["value"].tolist()[2] == 3.0 and out["value"].isna().sum() == 2
    assert out["note"].tolist()[0] == "too few to report (fewer than 2 episodes)"
    assert suppress_small_cells(frame, 1, count="n_used")["suppressed"].tolist() == [
        True,
        False,
        False,
    ]


@pytest.mark.parametrize("min_cell", [0, -5])
def test_disclosure_min_cell_below_one_raises(min_cell):
    with pytest.raises(ValueError, match=f"min_cell must be at least 1, not {min_cell}"):
        suppress_small_cells(pd.DataFrame({"n": [5]}), min_cell)


# ============================================================================ value sensitivity


def _ones(rng, n: int, k: int) -> np.ndarray:
    values = np.zeros(n)
    values[:k] = 1.0
    return rng.permutation(values)


def _episode_value_frame(stroke, sites) -> pd.DataFrame:
    """An episode_value-like frame: ``sites`` is (site, episodes, independent, died,
    home, complete composite) per site; every other outcome random and complete; equal
    costs per episode."""
    rng = np.random.default_rng(42)
    parts = []
    for site, n, independent, died, home, complete in sites:
        part = pd.DataFrame(
            {
                "site": [site] * n,
                "team": [f"{site} stroke team"] * n,
                "financial_year": ["2023/24"] * n,
            }
        )
        for outcome in stroke.outcomes:
            part[f"out__{outcome.id}"] = rng.random(n)
            part[f"complete__{outcome.id}"] = np.ones(n, dtype=bool)
        part["out__good_outcome_90d"] = _ones(rng, n, independent)
        part["out__death_90d"] = _ones(rng, n, died)
        part["out__discharged_home"] = _ones(rng, n, home)
        part["complete__discharged_home"] = np.arange(n) < complete
        for equation in stroke.value_equations:
            part[f"cost__{equation.id}"] = 10_000.0
        parts.append(part)
    return pd.concat(parts, ignore_index=True)


def test_pack_weight_sets(stroke):
    equation = next(e for e in stroke.value_equations if e.id == "composite_outcome_index")
    names = [name for name, _ in weight_sets(equation)]
    assert names == ["pack weights", "equal weights", "survival first", "independence only"]
    equal = dict(weight_sets(equation))["equal weights"]
    assert [w.outcome for w in equal] == ["good_outcome_90d", "death_90d", "discharged_home"]
    assert [w.weight for w in equal] == pytest.approx([1 / 3] * 3)


def test_two_sites_swap_order_under_survival_first(stroke):
    # Per 50 episodes at £10,000 each (good outcomes per £100,000 = 10 x weighted share):
    # North: 90% independent, 60% alive, 60% home; South: 60%, 90%, 50%.
    # Pack (.5/.3/.2):   North .45+.18+.12 = .75 > South .30+.27+.10 = .67
    # Survival first (.3/.5/.2): North .27+.30+.12 = .69 < South .18+.45+.10 = .73
    # Equal: North .70 > South .667; independence only: North .90 > South .60.
    # Tiny (9 episodes, all perfect) would top every ranking, but is below min_cell.
    frame = _episode_value_frame(
        stroke,
        [("North", 50, 45, 20, 30, 50), ("South", 50, 30, 5, 25, 50), ("Tiny", 9, 9, 0, 9, 9)],
    )
    result = value_sensitivity(stroke, frame)
    assert set(result["equation"]) == {
        "composite_outcome_index"
    }  # single-outcome equations: nothing to vary
    site = result[result["compared"] == "site"].set_index("weight_set")
    assert site.loc["pack weights", "ranking"] == "North (7.50) > South (6.70)"
    assert site.loc["survival first", "ranking"] == "South (7.30) > North (6.90)"
    assert site.loc["equal weights", "ranking"] == "North (7.00) > South (6.67)"
    assert site.loc["independence only", "ranking"] == "North (9.00) > South (6.00)"
    assert site["same_order"].to_dict() == {
        "pack weights": True,
        "equal weights": True,
        "survival first": False,
        "independence only": True,
    }
    assert site.loc["survival first", "kendall_tau"] == pytest.approx(-1.0)
    assert site.loc["equal weights", "kendall_tau"] == pytest.approx(1.0)
    assert (site["cells"] == 2).all()
    assert not site["ranking"].str.contains("Tiny").any()
    team = result[result["compared"] == "team"].set_index("weight_set")
    assert team["same_order"].to_dict() == site["same_order"].to_dict()
    year = result[result["compared"] == "financial_year"]
    assert (
        (year["cells"] == 1).all() and year["same_order"].all() and year["kendall_tau"].isna().all()
    )


def test_cells_are_ranked_on_complete_episodes(stroke):
    # West has 40 episodes but only 9 with every composite outcome: it is not ranked on the
    # composite; its 40 independence results are enough to rank it on independence alone.
    frame = _episode_value_frame(
        stroke,
        [("North", 50, 45, 20, 30, 50), ("South", 50, 30, 5, 25, 50), ("West", 40, 38, 4, 36, 9)],
    )
    result = value_sensitivity(stroke, frame)
    site = result[result["compared"] == "site"].set_index("weight_set")
    for name in ("pack weights", "equal weights", "survival first"):
        assert site.loc[name, "cells"] == 2
        assert "West" not in site.loc[name, "ranking"]
    assert site.loc["independence only", "cells"] == 3
    assert site.loc["independence only", "ranking"] == "West (9.50) > North (9.00) > South (6.00)"


def test_extra_ranked_cell_is_not_a_change_of_order(stroke):
    frame = _episode_value_frame(
        stroke,
        [("North", 50, 45, 20, 30, 50), ("South", 50, 30, 5, 25, 50), ("West", 40, 20, 4, 36, 9)],
    )
    site = value_sensitivity(stroke, frame).query("compared == 'site'").set_index("weight_set")
    assert site.loc["independence only", "ranking"] == "North (9.00) > South (6.00) > West (5.00)"
    assert site.loc["independence only", "kendall_tau"] == pytest.approx(1.0)
    assert site.loc["independence only", "same_order"]


# ============================================================================ PROM response


def _prom_population(n: int, seed: int = 8):
    """Age 50-90; EQ-5D falls 0.01 a year; the chance of returning the questionnaire falls
    with age (logit 2 - 0.08 (age - 50)), so responders are younger and better."""
    rng = np.random.default_rng(seed)
    age = rng.uniform(50, 90, n)
    frame = pd.DataFrame(
        {
            "episode_id": [f"E{i:05d}" for i in range(n)],
            "age": age,
            "sex": rng.choice(["male", "female"], n),
            "imd_decile": rng.integers(1, 11, n),
        }
    )
    score = 1.0 - 0.01 * (age - 50) + rng.normal(0, 0.05, n)
    responded = rng.random(n) < 1 / (1 + np.exp(-(2 - 0.08 * (age - 50))))
    outcomes = pd.DataFrame(
        {
            "episode_id": frame["episode_id"],
            "outcome_id": "eq5d_90d",
            "status": np.where(responded, "measured", "missing"),
            "value": np.where(responded, score, np.nan),
            "note": None,
        }
    )
    return frame, outcomes, score, responded


def test_prom_due_returned_and_rate(stroke):
    frame = pd.DataFrame(
        {
            "episode_id": [f"E{i}" for i in range(8)],
            "age": [60, 70, 80, 65, 75, 85, 90, 55.0],
            "sex": ["male", "female"] * 4,
            "imd_decile": [1, 2, 3, 4, 5, 6, 7, 8],
        }
    )
    outcomes = pd.DataFrame(
        {
            "episode_id": [f"E{i}" for i in range(8)],
            "outcome_id": ["eq5d_90d"] * 7 + ["mrs_90d"],
            "status": [
                "measured",
                "measured",
                "missing",
                "missing",
                "measured",
                "measured",
                "not_due",
                "measured",
            ],
            "value": [0.9, 0.7, np.nan, np.nan, 0.5, np.nan, np.nan, 2.0],
            # E5's score is given for death: not a response and not due.
            "note": [None, None, None, None, None, "died before the window", None, None],
        }
    )
    # Every cell here is tiny: show them all (tests/test_disclosure.py checks they are
    # blanked at the pack's own min_cell).
    reporting = stroke.reporting.model_copy(update={"min_cell": 1})
    every_cell = stroke.model_copy(update={"reporting": reporting})
    result = prom_response(every_cell, frame, outcomes)
    eq5d = result[result["outcome_id"] == "eq5d_90d"]
    assert eq5d["variable"].tolist() == ["age", "imd_decile", "male"]
    row = eq5d.iloc[0]
    assert (row["due"], row["returned"]) == (5, 3)
    assert row["response_rate"] == pytest.approx(0.6)
    assert row["crude_mean"] == pytest.approx((0.9 + 0.7 + 0.5) / 3)
    assert math.isnan(row["weighted_mean"])  # far too few to model response
    age = eq5d.set_index("variable").loc["age"]
    # Responders E0, E1, E4 aged 60, 70, 75; non-responders E2, E3 aged 80, 65.
    assert age["responders_mean"] == pytest.approx(205 / 3) and age[
        "non_responders_mean"
    ] == pytest.approx(72.5)
    pooled = math.sqrt((np.var([60, 70, 75], ddof=1) + np.var([80, 65], ddof=1)) / 2)
    assert age["standardised_difference"] == pytest.approx((205 / 3 - 72.5) / pooled)
    male = eq5d.set_index("variable").loc["male"]  # E0, E4 male responders; E1 female
    assert male["responders_mean"] == pytest.approx(2 / 3)
    mrs = result[result["outcome_id"] == "mrs_90d"].iloc[0]
    assert (mrs["due"], mrs["returned"], mrs["response_rate"], mrs["crude_mean"]) == (
        1,
        1,
        1.0,
        2.0,
    )


def test_ipw_mean_is_closer_to_the_population_mean_than_the_crude_mean(stroke):
    frame, outcomes, score, responded = _prom_population(6000)
    result = prom_response(stroke, frame, outcomes)
    row = result[(result["outcome_id"] == "eq5d_90d") & (result["variable"] == "age")].iloc[0]
    truth = score.mean()
    assert row["due"] == 6000 and row["returned"] == responded.sum()
    assert row["crude_mean"] == pytest.approx(score[responded].mean())
    assert row["crude_mean"] - truth > 0.02  # the crude mean is flattered
    assert abs(row["weighted_mean"] - truth) < 0.25 * abs(row["crude_mean"] - truth)
    assert abs(row["weighted_mean"] - truth) < 0.005
    assert row["responders_mean"] < row["non_responders_mean"]
    assert row["standardised_difference"] < -0.5


def test_ipw_mean_equals_weights_from_statsmodels_logit():
    frame, _outcomes, score, responded = _prom_population(1500, seed=21)
    due = frame.assign(responded=responded, score=np.where(responded, score, np.nan))
    got = ipw_mean(due, ["age"])
    fit = smf.logit(
        "r ~ age", pd.DataFrame({"r": responded.astype(float), "age": frame["age"]})
    ).fit(disp=0)
    chance = fit.predict(frame)[responded]
    assert got == pytest.approx(np.sum(score[responded] / chance) / np.sum(1 / chance), rel=1e-8)


def test_ipw_mean_blank_when_too_few_responders():
    frame, _outcomes, score, responded = _prom_population(2000, seed=4)
    due = frame.assign(
        responded=responded,
        score=np.where(responded, score, np.nan),
        male=(frame["sex"] == "male").astype(float),
    )
    variables = ["age", "imd_decile", "male"]  # 30 of each group needed
    assert not math.isnan(ipw_mean(due, variables))
    keep = np.flatnonzero(responded)[:29]
    few = due[~due["responded"] | due.index.isin(keep)]
    assert few["responded"].sum() == 29
    assert math.isnan(ipw_mean(few, variables))
    keep = np.flatnonzero(responded)[:30]
    assert not math.isnan(ipw_mean(due[~due["responded"] | due.index.isin(keep)], variables))
    everyone = due.assign(responded=True, score=score)
    assert math.isnan(ipw_mean(everyone, variables))  # no non-responders to model against
