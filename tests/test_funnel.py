"""Funnel plots (carevalue.stats.funnel) against FunnelPlotR 0.6.0's own unit-test values,
Spiegelhalter's papers and hand computation.

The hand computations below use plain numpy written out step by step (R type-7 quantiles,
average ranks, the DerSimonian-Laird moment formula) rather than calling the module's
helpers, so a slip in the module cannot hide in the test. The formulas are in
docs/reference/spc_methods.md section 3.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from carevalue.stats.funnel import (
    COLUMNS,
    dersimonian_laird_tau2,
    funnel,
    funnel_limits,
)

Z95, Z998 = 1.959964, 3.090232

# Twenty trusts, observed deaths O over expected E: more spread than Poisson chance.
E20 = np.array(
    [
        12.0,
        25.5,
        40.2,
        55.0,
        61.3,
        75.8,
        88.1,
        95.0,
        110.4,
        120.0,
        135.7,
        150.2,
        160.0,
        175.5,
        190.3,
        205.0,
        220.8,
        240.1,
        260.0,
        300.0,
    ]
)
O20 = np.array(
    [20, 18, 52, 41, 70, 60, 110, 80, 150, 100, 160, 120, 190, 150, 230, 170, 260, 190, 330, 250]
)


# --- hand-computation helpers (plain numpy / Python) --------------------------------------


def r_type7_quantile(values, p):
    """R's default quantile: h = (n - 1) p, interpolate between the order statistics around h."""
    xs = np.sort(np.asarray(values, dtype=float))
    h = (len(xs) - 1) * p
    lo = math.floor(h)
    hi = min(lo + 1, len(xs) - 1)
    return xs[lo] + (h - lo) * (xs[hi] - xs[lo])


def average_ranks(values):
    """1-based ranks, ties sharing the mean of the positions they occupy."""
    order = sorted(range(len(values)), key=lambda i: values[i])
    ranks = [0.0] * len(values)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and values[order[j + 1]] == values[order[i]]:
            j += 1
        for k in range(i, j + 1):
            ranks[order[k]] = (i + 1 + j + 1) / 2
        i = j + 1
    return np.array(ranks)


def dl_tau2(phi, s):
    """DerSimonian-Laird: zero if n phi < n - 1,
    else (n phi - (n - 1)) / (sum w - sum w^2 / sum w)."""
    n = len(s)
    if n * phi < n - 1:
        return 0.0
    w = 1 / np.asarray(s) ** 2
    return max(0.0, (n * phi - (n - 1)) / (w.sum() - (w**2).sum() / w.sum()))


# --- exact Poisson limits ------------------------------------------------------------------


def test_poisson_limits_match_funnelplotr_unit_tests():
    # FunnelPlotR tests/testthat/test-poisson_limits.R, E = 15, 20, 30.
    limits = funnel_limits([15, 20, 30], data_type="SR", target=1, adjusted=False)
    assert list(limits.columns) == ["denominator", "LCL95", "UCL95", "LCL99", "UCL99"]
    np.testing.assert_allclose(limits["LCL95"], [0.5596924, 0.6108260, 0.6746958], atol=1e-6)
    np.testing.assert_allclose(limits["UCL95"], [1.649348, 1.544419, 1.427562], atol=1e-6)
    np.testing.assert_allclose(limits["LCL99"], [0.3862650, 0.4479107, 0.5289724], atol=1e-6)
    np.testing.assert_allclose(limits["UCL99"], [2.082907, 1.902094, 1.702771], atol=1e-6)


def interpolated_upper(e, p):
    """Spiegelhalter 2005's interpolated exact limit: r_p = smallest r with F(r) >= p,
    alpha = (F(r_p) - p) / (F(r_p) - F(r_p - 1)), limit = (r_p - alpha) / E."""
    from scipy import stats

    r = 0
    while stats.poisson.cdf(r, e) < p:
        r += 1
    alpha = (stats.poisson.cdf(r, e) - p) / (stats.poisson.cdf(r, e) - stats.poisson.cdf(r - 1, e))
    return (r - alpha) / e


@pytest.mark.parametrize(
    ("e", "interpolated", "chi_squared"),
    [(5, 1.875, 2.334), (30, 1.357, 1.428), (100, 1.196, 1.216)],
)
def test_chi_squared_form_not_the_interpolated_form(e, interpolated, chi_squared):
    # Spiegelhalter 2005: at E = 5 the interpolated exact ul95 is 1.875, the chi-squared
    # form (what FunnelPlotR and we use) 2.334; the other rows are quoted in the docs.
    assert funnel_limits([e], adjusted=False)["UCL95"].iloc[0] == pytest.approx(
        chi_squared, abs=5e-4
    )
    assert interpolated_upper(e, 0.975) == pytest.approx(interpolated, abs=5e-4)


def test_sr_target_scales_the_exact_limits():
    one = funnel_limits([15, 40], target=1, adjusted=False)
    half = funnel_limits([15, 40], target=0.5, adjusted=False)
    np.testing.assert_allclose(half[["LCL95", "UCL99"]], 0.5 * one[["LCL95", "UCL99"]])


# --- the result frame ----------------------------------------------------------------------


def test_columns_attrs_and_default_groups():
    result = funnel(O20, E20)
    assert list(result.columns[: len(COLUMNS)]) == COLUMNS
    assert list(result["group"]) == [str(i) for i in range(1, 21)]
    np.testing.assert_allclose(result["rr"], O20 / E20)
    for key in ("phi", "tau2", "target", "adjusted", "n_used", "n_trimmed"):
        assert key in result.attrs
    assert result.attrs["target"] == 1.0


def test_rows_carry_the_same_limits_as_the_plotting_grid():
    for data_type, num, den in (("SR", O20, E20), ("PR", O20 // 3, O20), ("RC", O20, E20)):
        for sr_method in ("SHMI", "CQC"):
            result = funnel(num, den, data_type=data_type, sr_method=sr_method)
            a = result.attrs
            grid = funnel_limits(
                result["denominator"],
                data_type=a["data_type"],
                target=a["target"],
                tau2=a["tau2"],
                sr_method=a["sr_method"],
            )
            cols = ["LCL95", "UCL95", "LCL99", "UCL99", "OD95LCL", "OD95UCL", "OD99LCL", "OD99UCL"]
            np.testing.assert_array_equal(result[cols].to_numpy(), grid[cols].to_numpy())


def test_rows_sharing_a_group_are_summed_in_first_appearance_order():
    result = funnel([3, 4, 5, 6], [2.0, 3.0, 4.0, 5.0], ["b", "a", "b", "a"], draw_adjusted=False)
    assert list(result["group"]) == ["b", "a"]
    assert list(result["numerator"]) == [8, 10]
    assert list(result["denominator"]) == [6.0, 8.0]


# --- overdispersion by hand ------------------------------------------------------------------


def test_shmi_truncation_phi_and_tau2_by_hand():
    z = np.sqrt(E20) * np.log(O20 / E20)  # SHMI z-score: sqrt(E) log(O/E)
    ranks = average_ranks(list(z))
    band = np.floor(ranks * 10 / (len(z) + 1))  # sp = floor(rank 10 / (N + 1))
    kept = (band != 0) & (band != 9)
    assert kept.sum() == 16  # 2 dropped at each end of 20
    phi = np.mean(z[kept] ** 2)
    tau2 = dl_tau2(phi, 1 / np.sqrt(E20[kept]))  # s = 1/sqrt(E)

    result = funnel(O20, E20, sr_method="SHMI")
    np.testing.assert_allclose(result["z"], z)
    assert list(result["trimmed"]) == list(~kept)
    assert result.attrs["phi"] == pytest.approx(phi, rel=1e-12)
    assert result.attrs["tau2"] == pytest.approx(tau2, rel=1e-12)
    assert result.attrs["n_used"] == 16 and result.attrs["n_trimmed"] == 4
    # Pinned from the hand computation above, so a change in either shows.
    assert phi == pytest.approx(4.388023846, rel=1e-9)
    assert tau2 == pytest.approx(0.0332382370, rel=1e-8)
    # OD limits on the log scale: exp(+/- z sqrt(1/E + tau2)).
    np.testing.assert_allclose(result["OD99UCL"], np.exp(Z998 * np.sqrt(1 / E20 + tau2)))
    np.testing.assert_allclose(result["OD95LCL"], np.exp(-Z95 * np.sqrt(1 / E20 + tau2)))


def test_shmi_truncation_with_ties_uses_average_ranks():
    # Units 1 and 2 share the second-lowest z. As ranks 2 and 3 they would straddle the
    # band boundary (sp = 0 and 1); their average rank 2.5 gives sp = floor(25/21) = 1, so
    # both are kept and only one unit leaves the bottom band.
    e = np.full(20, 100.0)
    o = np.arange(80.0, 120.0, 2.0)
    o[2] = o[1]
    z = 10 * np.log(o / 100)
    ranks = average_ranks(list(z))
    assert ranks[1] == ranks[2] == 2.5
    band = np.floor(ranks * 10 / 21)
    kept = (band != 0) & (band != 9)
    result = funnel(o, e, sr_method="SHMI")
    assert list(result["trimmed"]) == list(~kept)
    assert result.attrs["n_trimmed"] == 3  # rank 1, and ranks 19 and 20
    assert result.attrs["phi"] == pytest.approx(np.mean(z[kept] ** 2))


def test_cqc_winsorisation_phi_and_tau2_by_hand():
    s = 1 / (2 * np.sqrt(E20))  # sqrt scale: Y = sqrt(O/E), s = 1/(2 sqrt(E))
    z = (np.sqrt(O20 / E20) - 1) / s
    low, high = r_type7_quantile(z, 0.1), r_type7_quantile(z, 0.9)
    zw = np.minimum(np.maximum(z, low), high)
    phi = np.mean(zw**2)  # every unit counts: n = 20
    tau2 = dl_tau2(phi, s)

    result = funnel(O20, E20, sr_method="CQC")
    assert result.attrs["phi"] == pytest.approx(phi, rel=1e-12)
    assert result.attrs["tau2"] == pytest.approx(tau2, rel=1e-12)
    assert result.attrs["n_used"] == 20 and result.attrs["n_trimmed"] == 4
    assert phi == pytest.approx(4.997869005, rel=1e-9)
    assert tau2 == pytest.approx(0.00797484315, rel=1e-8)


def test_pr_winsorisation_and_limits_by_hand():
    n = np.array([50, 80, 120, 200, 260, 300, 410, 500, 640, 800])
    x = np.array([4, 15, 9, 30, 20, 45, 30, 80, 50, 70])
    target = x.sum() / n.sum()
    s = 1 / (2 * np.sqrt(n))
    z = (np.arcsin(np.sqrt(x / n)) - np.arcsin(np.sqrt(target))) / s
    # R type 7 with n = 10: h = 0.9 and 8.1, so each quantile interpolates its neighbours.
    zs = np.sort(z)
    low = zs[0] + 0.9 * (zs[1] - zs[0])
    high = zs[8] + 0.1 * (zs[9] - zs[8])
    assert low == pytest.approx(r_type7_quantile(z, 0.1)) and high == pytest.approx(
        r_type7_quantile(z, 0.9)
    )
    phi = np.mean(np.clip(z, low, high) ** 2)
    tau2 = dl_tau2(phi, s)

    result = funnel(x, n, data_type="PR")
    assert result.attrs["target"] == pytest.approx(target)
    assert result.attrs["phi"] == pytest.approx(phi) and result.attrs["tau2"] == pytest.approx(tau2)
    assert phi > 1 and result.attrs["adjusted"] is True
    centre = np.arcsin(np.sqrt(target))
    np.testing.assert_allclose(result["UCL95"], np.sin(centre + Z95 * s) ** 2)
    np.testing.assert_allclose(result["OD99LCL"], np.sin(centre - Z998 * np.sqrt(s**2 + tau2)) ** 2)


def test_rc_z_scores_and_limits_by_hand():
    num = np.array([30, 45, 12, 80, 55, 20, 66, 41])
    den = np.array([300, 350, 90, 900, 420, 260, 500, 380])
    target = num.sum() / den.sum()
    y = np.log((num + 0.5) / (den + 0.5))
    s = np.sqrt(num / (num + 0.5) ** 2 + den / (den + 0.5) ** 2)
    z = (y - np.log(target)) / s
    result = funnel(num, den, data_type="RC")
    np.testing.assert_allclose(result["z"], z)
    assert result.attrs["target"] == pytest.approx(target)
    tau2 = result.attrs["tau2"]
    # FunnelPlotR's limits use 1/(4 D) for the within variance, not the z-score's s.
    np.testing.assert_allclose(result["UCL99"], target * np.exp(Z998 / (2 * np.sqrt(den))))
    np.testing.assert_allclose(
        result["OD95LCL"], target * np.exp(-Z95 * np.sqrt(1 / (4 * den) + tau2))
    )


def test_tau2_is_zero_when_n_phi_is_below_n_minus_1():
    s = np.array([0.1, 0.2, 0.3, 0.4, 0.5])
    assert dersimonian_laird_tau2(0.7, s) == 0.0  # 5 x 0.7 = 3.5 < 4
    # 5 x 0.9 = 4.5 >= 4: the moment estimate is positive even though phi < 1.
    w = 1 / s**2
    expected = (4.5 - 4) / (w.sum() - (w**2).sum() / w.sum())
    assert dersimonian_laird_tau2(0.9, s) == pytest.approx(expected)
    assert dersimonian_laird_tau2(3.0, s) == pytest.approx(dl_tau2(3.0, s))


def test_no_overdispersion_falls_back_to_unadjusted_limits():
    # Nineteen trusts exactly on target and one far above it: SHMI truncation drops the
    # extreme one, phi = 0 <= 1, so the outlier test uses the exact Poisson limits.
    e = np.linspace(50, 240, 20)
    o = e.copy()
    o[-1] = 2 * e[-1]
    result = funnel(o, e)
    assert result.attrs["phi"] == 0.0 and result.attrs["tau2"] == 0.0
    assert result.attrs["adjusted"] is False
    assert list(result["outlier"]) == [False] * 19 + [True]
    assert result["outlier_high"].iloc[-1] and not result["outlier_low"].any()
    assert (result["rr"] > result["UCL99"]).iloc[-1]


def test_draw_adjusted_false_flags_against_unadjusted_limits():
    adjusted = funnel(O20, E20, limit=95)
    plain = funnel(O20, E20, limit=95, draw_adjusted=False)
    assert adjusted.attrs["adjusted"] and not plain.attrs["adjusted"]
    # phi and tau2 are still estimated and the OD columns still filled (FunnelPlotR zeroes them).
    assert plain.attrs["phi"] == adjusted.attrs["phi"]
    np.testing.assert_array_equal(plain["OD95UCL"], adjusted["OD95UCL"])
    rr = plain["rr"]
    assert list(plain["outlier"]) == list((rr < plain["LCL95"]) | (rr > plain["UCL95"]))
    assert list(adjusted["outlier"]) == list(
        (rr < adjusted["OD95LCL"]) | (rr > adjusted["OD95UCL"])
    )
    assert plain["outlier"].sum() > adjusted["outlier"].sum()


# --- the CQC back-transformation (FunnelPlotR#33) ----------------------------------------------


def test_cqc_od_limits_are_squared_back_to_the_ratio_scale():
    result = funnel(O20, E20, sr_method="CQC")
    tau2 = result.attrs["tau2"]
    a95 = Z95 * np.sqrt(1 / (4 * E20) + tau2)
    a99 = Z998 * np.sqrt(1 / (4 * E20) + tau2)
    np.testing.assert_allclose(result["OD95LCL"], (1 - a95) ** 2)
    np.testing.assert_allclose(result["OD95UCL"], (1 + a95) ** 2)
    np.testing.assert_allclose(result["OD99LCL"], (1 - a99) ** 2)
    np.testing.assert_allclose(result["OD99UCL"], (1 + a99) ** 2)
    # FunnelPlotR returns 1 -/+ a: for 0 < a < 1, (1 - a)^2 < 1 - a and (1 + a)^2 > 1 + a,
    # so the corrected limits lie strictly outside FunnelPlotR's.
    assert (a99 < 1).all()
    assert (result["OD99LCL"] < 1 - a99).all() and (result["OD99UCL"] > 1 + a99).all()


def test_worked_example_in_the_docs():
    # E = 100, tau2 = 0.001, 95 %: a = 1.959964 sqrt(1/400 + 0.001) = 0.115953...
    a = Z95 * math.sqrt(1 / 400 + 0.001)
    assert a == pytest.approx(0.115953, abs=1e-6)
    row = funnel_limits([100], sr_method="CQC", tau2=0.001).iloc[0]
    assert row["OD95LCL"] == pytest.approx((1 - a) ** 2) == pytest.approx(0.781539, abs=1e-6)
    assert row["OD95UCL"] == pytest.approx((1 + a) ** 2) == pytest.approx(1.245351, abs=1e-6)
    assert row["LCL95"] == pytest.approx(0.813640, abs=1e-6)
    assert row["UCL95"] == pytest.approx(1.216268, abs=1e-6)
    # FunnelPlotR's unsquared limits (0.884, 1.116) sit inside the Poisson limits, the
    # opposite of what an overdispersion adjustment is for; the corrected ones sit outside.
    assert row["LCL95"] < 1 - a and 1 + a < row["UCL95"]
    assert row["OD95LCL"] < row["LCL95"] and row["UCL95"] < row["OD95UCL"]


def test_corrected_cqc_limits_bracket_the_poisson_limits_on_the_example():
    # Not a theorem (at small tau2 the square-root approximation can sit inside the exact
    # upper limit), but true for this overdispersed example at every E and both levels.
    result = funnel(O20, E20, sr_method="CQC")
    assert result.attrs["tau2"] > 0
    assert (result["OD95LCL"] <= result["LCL95"]).all() and (
        result["OD95UCL"] >= result["UCL95"]
    ).all()
    assert (result["OD99LCL"] <= result["LCL99"]).all() and (
        result["OD99UCL"] >= result["UCL99"]
    ).all()


def test_cqc_lower_limit_stops_at_zero():
    # At E = 1 and 99.8 %, 1 - 3.09 / 2 < 0: squaring would fold the limit back up to 0.30.
    row = funnel_limits([1.0], sr_method="CQC", tau2=0.0).iloc[0]
    assert row["OD99LCL"] == 0.0
    assert row["OD99UCL"] == pytest.approx((1 + Z998 / 2) ** 2)


# --- proportions -------------------------------------------------------------------------------


def test_pr_limits_are_clipped_to_0_and_1():
    low = funnel_limits([2, 5, 20], data_type="PR", target=0.02, tau2=0.01)
    assert (low["LCL99"].iloc[:2] == 0).all() and (low["OD99LCL"] == 0).all()
    high = funnel_limits([2, 5, 20], data_type="PR", target=0.98, tau2=0.01)
    assert (high["UCL99"].iloc[:2] == 1).all() and (high["OD99UCL"] == 1).all()
    limit_cols = ["LCL95", "UCL95", "LCL99", "UCL99", "OD95LCL", "OD95UCL", "OD99LCL", "OD99UCL"]
    for frame in (low, high):
        values = frame[limit_cols].to_numpy()
        assert ((values >= 0) & (values <= 1)).all()


def test_outlier_bounds_are_inclusive():
    # With n = 5 and target 0.02 the lower 99.8 % limit is exactly 0 and with target 0.98
    # the upper one is exactly 1: a unit sitting on the limit is not an outlier.
    on_lower = funnel([0, 10], [5, 500], data_type="PR", target=0.02, draw_adjusted=False)
    assert on_lower["LCL99"].iloc[0] == on_lower["rr"].iloc[0] == 0.0
    assert not on_lower["outlier"].iloc[0]
    on_upper = funnel([5, 490], [5, 500], data_type="PR", target=0.98, draw_adjusted=False)
    assert on_upper["UCL99"].iloc[0] == on_upper["rr"].iloc[0] == 1.0
    assert not on_upper["outlier"].iloc[0]
    # Just beyond a limit is an outlier.
    beyond = funnel([0, 10], [400, 500], data_type="PR", target=0.02, draw_adjusted=False)
    assert beyond["LCL99"].iloc[0] > 0 and beyond["outlier_low"].iloc[0]


# --- SHMI with no observed events ---------------------------------------------------------------


def test_shmi_zero_events_kept_in_phi_is_refused_by_name():
    e = np.array([10.0, 12.0, 15.0, 20.0, 25.0])
    o = np.array([0, 11, 16, 22, 24])
    with pytest.raises(ValueError, match="Group '1' has no observed events"):
        funnel(o, e)
    plain = funnel(o, e, draw_adjusted=False)
    assert math.isnan(plain.attrs["phi"]) and plain.attrs["tau2"] == 0.0
    assert plain["LCL99"].iloc[0] > 0 and plain["outlier_low"].iloc[0] == (
        plain["LCL99"].iloc[0] > 0
    )
    cqc = funnel(o, e, sr_method="CQC")  # the square-root scale has room for zero
    assert np.isfinite(cqc.attrs["phi"])


def test_shmi_zero_events_truncated_away_is_fine():
    o = O20.copy()
    o[0] = 0  # lowest z-score: truncated with the bottom band
    result = funnel(o, E20)
    assert result["trimmed"].iloc[0] and np.isfinite(result.attrs["phi"])


# --- input errors --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("numerator", "denominator", "kwargs", "message"),
    [
        ([1, 2], [3.0, 0.0], {}, "Group 'b' has a zero denominator"),
        ([1, -2], [3.0, 4.0], {}, "Group 'b' has a negative numerator"),
        ([1, 2], [3.0, -4.0], {}, "Group 'b' has a negative denominator"),
        ([1, float("nan")], [3.0, 4.0], {}, "Group 'b' has a missing or infinite numerator"),
        ([1, 2], [3.0, None], {}, "Group 'b' has a missing or infinite denominator"),
        ([1, 5], [3, 4], {"data_type": "PR"}, "Group 'b' has more events than cases"),
        ([1, 2], [3, 4], {"limit": 90}, "limit must be 95 or 99"),
        ([1, 2], [3, 4], {"data_type": "XX"}, "data_type must be one of"),
        ([1, 2], [3, 4], {"sr_method": "XX"}, "sr_method must be one of"),
        ([1, 2], [3, 4], {"trim_by": 0.6}, "trim_by must be"),
        ([0, 0], [3, 4], {"data_type": "RC"}, "target must be a positive number"),
        ([1, 2], [3, 4], {"data_type": "PR", "target": 1.5}, "between 0 and 1"),
    ],
)
def test_bad_input_is_named(numerator, denominator, kwargs, message):
    with pytest.raises(ValueError, match=message):
        funnel(numerator, denominator, ["a", "b"], **kwargs)


def test_zero_denominator_without_group_labels_names_the_position_label():
    with pytest.raises(ValueError, match="Group '3' has a zero denominator"):
        funnel([1, 2, 3], [1.0, 2.0, 0.0])


def test_length_mismatch_and_missing_target_for_grid():
    with pytest.raises(ValueError, match="numerator has 2 values but denominator has 3"):
        funnel([1, 2], [1, 2, 3])
    with pytest.raises(ValueError, match="needs the target for PR"):
        funnel_limits([10, 20], data_type="PR")
    with pytest.raises(ValueError, match="positive, finite denominators"):
        funnel_limits([0, 20])


def test_single_group_has_no_phi():
    result = funnel([12], [10.0])
    assert math.isnan(result.attrs["phi"]) and result.attrs["tau2"] == 0.0
    assert result.attrs["adjusted"] is False


# --- properties -----------------------------------------------------------------------------

denominators = st.lists(st.floats(0.5, 5000, allow_nan=False), min_size=2, max_size=30)


@settings(max_examples=60, deadline=None)
@given(denominators)
def test_unadjusted_sr_limits_narrow_as_e_grows(values):
    grid = funnel_limits(sorted(values), adjusted=False)
    assert (np.diff(grid["LCL95"]) >= -1e-12).all() and (np.diff(grid["LCL99"]) >= -1e-12).all()
    assert (np.diff(grid["UCL95"]) <= 1e-12).all() and (np.diff(grid["UCL99"]) <= 1e-12).all()
    assert (grid["LCL99"] <= grid["LCL95"]).all() and (grid["UCL95"] <= grid["UCL99"]).all()


@settings(max_examples=60, deadline=None)
@given(
    denominators,
    st.sampled_from([("SR", "SHMI"), ("SR", "CQC"), ("PR", "SHMI"), ("RC", "SHMI")]),
    st.floats(0.01, 0.99),
    st.floats(0, 0.5),
)
def test_limits_surround_the_target(values, kind, target, tau2):
    data_type, sr_method = kind
    grid = funnel_limits(values, data_type=data_type, sr_method=sr_method, target=target, tau2=tau2)
    for low, high in (
        ("LCL95", "UCL95"),
        ("LCL99", "UCL99"),
        ("OD95LCL", "OD95UCL"),
        ("OD99LCL", "OD99UCL"),
    ):
        assert (grid[low] <= target + 1e-12).all() and (target - 1e-12 <= grid[high]).all()
        assert (grid[low] >= 0).all()


@settings(max_examples=60, deadline=None)
@given(denominators, st.sampled_from(["SHMI", "CQC"]), st.floats(1e-4, 0.5))
def test_od_limits_contain_the_tau2_zero_limits(values, sr_method, tau2):
    wide = funnel_limits(values, sr_method=sr_method, tau2=tau2)
    narrow = funnel_limits(values, sr_method=sr_method, tau2=0.0)
    for low, high in (("OD95LCL", "OD95UCL"), ("OD99LCL", "OD99UCL")):
        assert (wide[low] <= narrow[low]).all() and (wide[high] >= narrow[high]).all()


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(1, 400), min_size=3, max_size=20), st.data())
def test_pr_limits_are_monotone_in_n(ns, data):
    target = data.draw(st.floats(0.001, 0.999))
    grid = funnel_limits(
        sorted(ns), data_type="PR", target=target, tau2=data.draw(st.floats(0, 0.05))
    )
    for col in ("LCL95", "LCL99", "OD95LCL", "OD99LCL"):
        assert (np.diff(grid[col]) >= -1e-12).all()
    for col in ("UCL95", "UCL99", "OD95UCL", "OD99UCL"):
        assert (np.diff(grid[col]) <= 1e-12).all()


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.tuples(st.integers(1, 300), st.floats(0, 1)), min_size=2, max_size=25),
    st.integers(2, 50),
)
def test_scaling_a_proportion_by_k_leaves_rr_and_target_unchanged(units, k):
    n = np.array([u[0] for u in units])
    x = np.floor(np.array([u[1] for u in units]) * n)
    base = funnel(x, n, data_type="PR")
    scaled = funnel(k * x, k * n, data_type="PR")
    np.testing.assert_allclose(scaled["rr"], base["rr"])
    assert scaled.attrs["target"] == pytest.approx(base.attrs["target"])
    # More cases, narrower unadjusted limits.
    assert (scaled["UCL95"] <= base["UCL95"] + 1e-12).all() and (
        scaled["LCL95"] >= base["LCL95"] - 1e-12
    ).all()


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 500), st.floats(1, 400)), min_size=1, max_size=40))
def test_outlier_flag_matches_the_limits_used(units):
    o = np.array([u[0] for u in units], dtype=float)
    e = np.array([u[1] for u in units])
    result = funnel(o, e, sr_method="CQC", limit=95)
    low, high = ("OD95LCL", "OD95UCL") if result.attrs["adjusted"] else ("LCL95", "UCL95")
    rr = result["rr"]
    assert list(result["outlier_high"]) == list(rr > result[high])
    assert list(result["outlier_low"]) == list(rr < result[low])
    assert list(result["outlier"]) == list(result["outlier_high"] | result["outlier_low"])


def test_accepts_pandas_input_with_missing_values_reported():
    frame = pd.DataFrame(
        {"trust": ["X", "Y"], "o": pd.array([10, pd.NA], dtype="Int64"), "e": [9.0, 11.0]}
    )
    with pytest.raises(ValueError, match="Group 'Y' has a missing"):
        funnel(frame["o"], frame["e"], frame["trust"])
