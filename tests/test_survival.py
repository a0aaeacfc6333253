"""Kaplan-Meier and log-rank (carevalue.stats.survival) against a classic published data set,
hand computation in plain Python, and lifelines 0.30.3's numbers.

Freireich EJ et al. The effect of 6-mercaptopurine on the duration of steroid-induced
remissions in acute leukemia. Blood 1963;21:699-716: weeks in remission for 21 children
on 6-MP and 21 on placebo (* = censored, still in remission). The textbook values
(Kleinbaum & Klein, Survival Analysis) are S(t) for 6-MP 0.857, 0.807, 0.753, 0.690,
0.627, 0.538, 0.448 at t = 6, 7, 10, 13, 16, 22, 23, and a log-rank chi-squared of 16.79.

lifelines is not a dependency (no release installs beside pandas 3); its numbers below were
produced by lifelines 0.30.3's KaplanMeierFitter and multivariate_logrank_test on these
data, and the last test compares with statsmodels' SurvfuncRight and survdiff, which are
installed.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from carevalue.stats.survival import at_risk_table, kaplan_meier, logrank_test

# 6-MP: 6,6,6,6*,7,9*,10,10*,11*,13,16,17*,19*,20*,22,23,25*,32*,32*,34*,35*
MP_TIMES = [6, 6, 6, 6, 7, 9, 10, 10, 11, 13, 16, 17, 19, 20, 22, 23, 25, 32, 32, 34, 35]
MP_EVENTS = [1, 1, 1, 0, 1, 0, 1, 0, 0, 1, 1, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0]
# Placebo: every child relapsed.
PLACEBO_TIMES = [1, 1, 2, 2, 3, 4, 4, 5, 5, 8, 8, 8, 8, 11, 11, 12, 12, 15, 17, 22, 23]
PLACEBO_EVENTS = [1] * 21


@pytest.fixture(scope="module")
def leukaemia():
    return kaplan_meier(
        MP_TIMES + PLACEBO_TIMES, MP_EVENTS + PLACEBO_EVENTS, ["6-MP"] * 21 + ["placebo"] * 21
    )


def product_limit(times, events):
    """Kaplan-Meier by hand: at each distinct event time multiply by (1 - d/n)."""
    survival, curve = 1.0, {}
    for t in sorted(set(times)):
        n = sum(1 for u in times if u >= t)
        d = sum(1 for u, e in zip(times, events) if u == t and e)
        survival *= 1 - d / n
        curve[t] = survival
    return curve


def two_group_logrank(times_a, events_a, times_b, events_b):
    """(O - E)^2 / V for group A, summed over the distinct event times of both groups."""
    observed = expected = variance = 0.0
    all_times = times_a + times_b
    all_events = events_a + events_b
    for t in sorted({u for u, e in zip(all_times, all_events) if e}):
        n_a = sum(1 for u in times_a if u >= t)
        n = sum(1 for u in all_times if u >= t)
        d_a = sum(1 for u, e in zip(times_a, events_a) if u == t and e)
        d = sum(1 for u, e in zip(all_times, all_events) if u == t and e)
        observed += d_a
        expected += d * n_a / n
        if n > 1:
            variance += d * (n_a / n) * (1 - n_a / n) * (n - d) / (n - 1)
    return (observed - expected) ** 2 / variance


def curve(result, group):
    rows = result[result["group"] == group]
    return dict(zip(rows["time"], rows["survival"]))


def test_published_survival_for_6mp(leukaemia):
    s = curve(leukaemia, "6-MP")
    published = {6: 0.857, 7: 0.807, 10: 0.753, 13: 0.690, 16: 0.627, 22: 0.538, 23: 0.448}
    for t, value in published.items():
        assert s[t] == pytest.approx(value, abs=5e-4)


def test_product_limit_by_hand(leukaemia):
    for group, times, events in (
        ("6-MP", MP_TIMES, MP_EVENTS),
        ("placebo", PLACEBO_TIMES, PLACEBO_EVENTS),
    ):
        by_hand = product_limit(times, events)
        s = curve(leukaemia, group)
        assert s[0] == 1.0
        for t, value in by_hand.items():
            assert s[t] == pytest.approx(value, rel=1e-12)
    # 6-MP at t = 6: 21 at risk, 3 relapses -> 18/21; at t = 7: 17 at risk (one censored at 6).
    assert curve(leukaemia, "6-MP")[7] == pytest.approx(18 / 21 * 16 / 17)


def test_one_row_per_distinct_time_with_counts(leukaemia):
    mp = leukaemia[leukaemia["group"] == "6-MP"]
    assert list(leukaemia.columns) == [
        "group",
        "time",
        "at_risk",
        "events",
        "censored",
        "survival",
        "ci_lower",
        "ci_upper",
    ]
    assert list(mp["time"]) == [0, 6, 7, 9, 10, 11, 13, 16, 17, 19, 20, 22, 23, 25, 32, 34, 35]
    assert list(mp["at_risk"]) == [21, 21, 17, 16, 15, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 2, 1]
    assert list(mp["events"]) == [0, 3, 1, 0, 1, 0, 1, 1, 0, 0, 0, 1, 1, 0, 0, 0, 0]
    assert list(mp["censored"]) == [0, 1, 0, 1, 1, 1, 0, 0, 1, 1, 1, 0, 0, 1, 2, 1, 1]
    assert mp["events"].sum() == sum(MP_EVENTS) and (mp["events"] + mp["censored"]).sum() == 21


def test_log_log_interval_by_hand(leukaemia):
    # t = 6 for 6-MP: S = 18/21, Greenwood V = 3 / (21 x 18); on the log(-log S) scale the
    # standard error is sqrt(V) / |log S|; lower = S ** exp(1.96 se), upper = S ** exp(-1.96 se)
    # (a larger power of a number below 1 is smaller).
    s = 18 / 21
    se = math.sqrt(3 / (21 * 18)) / abs(math.log(s))
    z = 1.959963984540054
    row = leukaemia[(leukaemia["group"] == "6-MP") & (leukaemia["time"] == 6)].iloc[0]
    assert row["ci_lower"] == pytest.approx(s ** math.exp(z * se), rel=1e-12)
    assert row["ci_upper"] == pytest.approx(s ** math.exp(-z * se), rel=1e-12)


def test_matches_lifelines_numbers(leukaemia):
    # lifelines 0.30.3: KaplanMeierFitter().fit(...).confidence_interval_ on the 6-MP arm.
    mp = leukaemia[leukaemia["group"] == "6-MP"].set_index("time")
    lifelines_ci = {
        6: (0.6197179553, 0.9515517476),
        10: (0.5031995108, 0.8893618352),
        16: (0.3675108560, 0.8049121895),
        23: (0.1880520060, 0.6801426285),
        35: (0.1880520060, 0.6801426285),
    }
    for t, (low, high) in lifelines_ci.items():
        assert mp.loc[t, "ci_lower"] == pytest.approx(low, abs=1e-9)
        assert mp.loc[t, "ci_upper"] == pytest.approx(high, abs=1e-9)
    placebo = leukaemia[leukaemia["group"] == "placebo"].set_index("time")
    assert placebo.loc[22, "ci_lower"] == pytest.approx(0.0033244630, abs=1e-9)
    assert placebo.loc[22, "ci_upper"] == pytest.approx(0.1970449057, abs=1e-9)
    # Once the curve reaches 0 lifelines reports the interval as (0, 0); so do we.
    assert placebo.loc[23, ["survival", "ci_lower", "ci_upper"]].tolist() == [0.0, 0.0, 0.0]
    assert mp.loc[0, ["ci_lower", "ci_upper"]].tolist() == [1.0, 1.0]


def test_logrank_for_the_leukaemia_trial(leukaemia):
    logrank = leukaemia.attrs["logrank"]
    assert logrank["df"] == 1
    assert logrank["statistic"] == pytest.approx(16.79, abs=0.005)
    assert logrank["statistic"] == pytest.approx(
        two_group_logrank(MP_TIMES, MP_EVENTS, PLACEBO_TIMES, PLACEBO_EVENTS), rel=1e-12
    )
    assert logrank["statistic"] == pytest.approx(16.792940989216547, rel=1e-12)  # lifelines 0.30.3
    assert logrank["p_value"] < 0.001
    assert logrank["p_value"] == pytest.approx(4.168809109334511e-05, rel=1e-9)  # lifelines 0.30.3
    assert logrank["observed"] == {"6-MP": 9, "placebo": 21}
    assert sum(logrank["expected"].values()) == pytest.approx(30)


def test_three_group_logrank_matches_lifelines():
    durations = [
        10.7,
        3.1,
        53.8,
        3.7,
        1.2,
        18.0,
        5.0,
        5.5,
        0.3,
        7.6,
        10.4,
        2.3,
        16.8,
        2.1,
        7.9,
        1.3,
        9.2,
        4.6,
        6.9,
        26.5,
        11.1,
        9.0,
        28.4,
        20.3,
        11.7,
        3.3,
        14.3,
        1.6,
        84.2,
        2.4,
    ]
    events = [
        1,
        0,
        1,
        0,
        1,
        1,
        1,
        1,
        1,
        0,
        1,
        1,
        0,
        1,
        1,
        0,
        1,
        0,
        1,
        0,
        1,
        0,
        1,
        1,
        0,
        0,
        0,
        1,
        1,
        1,
    ]
    groups = ["x"] * 10 + ["y"] * 10 + ["z"] * 10
    logrank = kaplan_meier(durations, events, groups).attrs["logrank"]
    assert logrank["df"] == 2
    assert logrank["statistic"] == pytest.approx(2.3012744613786733, rel=1e-12)
    assert logrank["p_value"] == pytest.approx(0.3164350629858099, rel=1e-9)
    # Two of the three groups reduce to the two-group hand formula.
    two = logrank_test(durations[:20], events[:20], groups[:20])
    assert two["statistic"] == pytest.approx(
        two_group_logrank(durations[:10], events[:10], durations[10:20], events[10:20]), rel=1e-12
    )


def test_medians(leukaemia):
    # The first time the curve is at or below 0.5: 6-MP 0.538 at 22, 0.448 at 23;
    # placebo 0.571 at 5, 0.381 at 8.
    assert leukaemia.attrs["median"] == {"6-MP": 23.0, "placebo": 8.0}
    never = kaplan_meier([5, 6, 7, 8], [1, 0, 0, 0])
    assert never.attrs["median"] == {"all": math.inf}


def test_at_risk_table(leukaemia):
    table = at_risk_table(leukaemia, [0, 5, 10, 20, 30, 40])
    assert list(table.index) == ["6-MP", "placebo"]
    assert table.loc["6-MP"].tolist() == [21, 21, 15, 8, 4, 0]
    assert table.loc["placebo"].tolist() == [21, 14, 8, 2, 0, 0]
    # By hand: at risk at t = subjects with time >= t.
    for t in (0, 5, 10, 20, 30, 40):
        assert table.loc["6-MP", t] == sum(1 for u in MP_TIMES if u >= t)
    with pytest.raises(ValueError, match="non-negative, finite times"):
        at_risk_table(leukaemia, [-1, 10])


def test_single_group_has_no_logrank_and_keeps_ties_at_zero():
    result = kaplan_meier([0, 0, 1, 2], [True, False, True, True])
    assert result.attrs["logrank"] is None
    assert list(result["group"].unique()) == ["all"]
    first = result.iloc[0]
    assert (first["time"], first["at_risk"], first["events"], first["censored"]) == (0, 4, 1, 1)
    assert first["survival"] == pytest.approx(0.75)
    assert result["survival"].iloc[-1] == 0.0


def test_all_censored_curve_stays_at_one():
    result = kaplan_meier([3, 5, 8], [0, 0, 0], ["a", "a", "b"])
    assert (result["survival"] == 1.0).all() and (result["ci_lower"] == 1.0).all()
    assert result.attrs["logrank"]["statistic"] == 0.0


@pytest.mark.parametrize(
    ("durations", "events", "groups", "message"),
    [
        ([1, -2, 3], [1, 1, 1], None, "Duration at index 1 is negative"),
        ([1, float("nan"), 3], [1, 1, 1], None, "Duration at index 1 is nan"),
        (
            pd.Series([1, 2, 3], index=["p1", "p2", "p3"]),
            [1, 2, 0],
            None,
            "Event at index 'p2' is 2",
        ),
        ([1, 2, 3], [True, None, False], None, "Event at index 1 is None"),
        ([1, 2, 3], [1.0, float("nan"), 0.0], None, "Event at index 1 is nan"),
        ([1, 2, 3], ["1", 0, 1], None, "Event at index 0 is '1'"),
        ([1, 2, 3], [1, 0, 1], ["a", None, "b"], "Group at index 1 is missing"),
        ([1, 2, 3], [1, 0], None, "events has 2 values but durations has 3"),
        ([], [], None, "at least one subject"),
    ],
)
def test_bad_input_is_named(durations, events, groups, message):
    with pytest.raises(ValueError, match=message):
        kaplan_meier(durations, events, groups)


def test_same_numbers_as_statsmodels(leukaemia):
    """statsmodels' SurvfuncRight and survdiff are an installed reference implementation:
    the product-limit estimate, Greenwood's variance (our log-log interval rebuilt from it)
    and the log-rank statistic must agree."""
    from statsmodels.duration.survfunc import SurvfuncRight, survdiff

    for group, times, events in (
        ("6-MP", MP_TIMES, MP_EVENTS),
        ("placebo", PLACEBO_TIMES, PLACEBO_EVENTS),
    ):
        reference = SurvfuncRight(np.array(times, float), np.array(events, float))
        ours = leukaemia[(leukaemia["group"] == group) & (leukaemia["events"] > 0)]
        np.testing.assert_allclose(ours["time"], reference.surv_times)
        np.testing.assert_allclose(ours["survival"], reference.surv_prob, rtol=1e-12)
        # log-log interval from statsmodels' Greenwood standard error
        s, se = reference.surv_prob, reference.surv_prob_se
        inside = (s > 0) & (s < 1)
        half = 1.959963984540054 * se[inside] / (s[inside] * np.abs(np.log(s[inside])))
        np.testing.assert_allclose(
            ours["ci_lower"].to_numpy()[inside], s[inside] ** np.exp(half), rtol=1e-9
        )
        np.testing.assert_allclose(
            ours["ci_upper"].to_numpy()[inside], s[inside] ** np.exp(-half), rtol=1e-9
        )
    statistic, p_value = survdiff(
        np.array(MP_TIMES + PLACEBO_TIMES, float),
        np.array(MP_EVENTS + PLACEBO_EVENTS, float),
        np.array(["6-MP"] * 21 + ["placebo"] * 21),
    )
    assert leukaemia.attrs["logrank"]["statistic"] == pytest.approx(statistic, rel=1e-9)
    assert leukaemia.attrs["logrank"]["p_value"] == pytest.approx(p_value, rel=1e-9)
