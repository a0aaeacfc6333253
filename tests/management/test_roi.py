"""Return on investment against a sum worked by hand."""

from __future__ import annotations

import pytest

from carevalue.management import GREEN_BOOK_RATE, return_on_investment


def test_roi_matches_the_hand_worked_example():
    """A change costing £50,000 once and £10,000 a year, saving £500 per episode
    (95% interval £200 to £800) on 200 episodes a year, over 3 years at 3.5%:

    discount factors (year 0 undiscounted): 1, 1/1.035 = 0.966184, 1/1.035^2 = 0.933511;
    their sum D = 2.899694.
    investment = 50,000 + 10,000 x 2.899694 = £78,996.94
    saving     = 500 x 200 x 2.899694       = £289,969.43
    net        = 289,969.43 - 78,996.94     = £210,972.48
    ROI        = 210,972.48 / 78,996.94     = 2.6706
    interval:  saving 200 x 200 x D = £115,987.77 -> net £36,990.83, ROI 0.4683;
               saving 800 x 200 x D = £463,951.08 -> net £384,954.14, ROI 4.8730.
    """
    result = return_on_investment(
        cost_effect=(-500.0, -800.0, -200.0),
        episodes_per_year=200,
        one_off=50_000,
        recurring_per_year=10_000,
        horizon_years=3,
    )
    assert result.discount_rate == GREEN_BOOK_RATE == 0.035
    assert result.discount_factor_sum == pytest.approx(2.899694, abs=1e-6)
    assert result.investment == pytest.approx(78_996.94, abs=0.01)
    assert result.saving == pytest.approx(289_969.43, abs=0.01)
    assert result.net_saving == pytest.approx(210_972.48, abs=0.01)
    assert result.roi == pytest.approx(2.6706, abs=1e-4)
    assert result.saving_interval == pytest.approx((115_987.77, 463_951.08), abs=0.01)
    assert result.net_saving_interval == pytest.approx((36_990.83, 384_954.14), abs=0.01)
    assert result.roi_interval == pytest.approx((0.4683, 4.8730), abs=1e-4)
    years = result.years
    assert years["discount_factor"].tolist() == pytest.approx([1, 0.966184, 0.933511], abs=1e-6)
    assert years["investment"].tolist() == pytest.approx([60_000, 9_661.84, 9_335.11], abs=0.01)
    assert years["net"].sum() == pytest.approx(result.net_saving)
    assert "net saving of £210,972" in result.sentence()


def test_a_cost_rise_is_a_loss_and_no_discounting_is_a_plain_sum():
    result = return_on_investment(
        cost_effect=(100.0, 50.0, 150.0),
        episodes_per_year=10,
        one_off=1_000,
        horizon_years=2,
        discount_rate=0.0,
    )
    assert result.saving == -2_000  # 100 more per episode x 10 a year x 2 years
    assert result.net_saving == -3_000
    assert result.roi == -3.0
    assert result.net_saving_interval == (-4_000, -2_000)
    assert "adds £2,000 in costs" in result.sentence()
    assert "a net cost of £3,000 (95% interval of the net saving -£4,000 to -£2,000)" in (
        result.sentence()
    )


def test_an_evaluation_effect_goes_straight_in():
    import numpy as np
    import pandas as pd

    from carevalue.management import evaluate_change

    months = pd.date_range("2021-01-01", periods=24, freq="MS")
    rng = np.random.default_rng(0)
    costs = np.r_[rng.normal(12_000, 500, 12), rng.normal(11_000, 500, 12)]
    evaluation = evaluate_change(costs, months, months[12], improvement="decrease")
    result = return_on_investment(
        cost_effect=evaluation.effect, episodes_per_year=100, one_off=20_000
    )
    low, high = result.net_saving_interval
    assert low < result.net_saving < high


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"cost_effect": (-5, -1, 1)}, "must contain its estimate"),
        ({"horizon_years": 0}, "whole number of years"),
        ({"discount_rate": 3.5}, "fraction a year"),
        ({"one_off": -1}, "cannot be negative"),
    ],
)
def test_wrong_inputs_are_refused(arguments, message):
    base = {"cost_effect": (-5, -8, -1), "episodes_per_year": 10, "one_off": 100}
    with pytest.raises(ValueError, match=message):
        return_on_investment(**(base | arguments))
