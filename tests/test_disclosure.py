"""carevalue.disclosure, the one small-number rule, on hand-built frames (the single-count
cases are in tests/test_value_statistics.py; tests/test_exports.py scans a whole run)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from carevalue.conditions import shipped_conditions
from carevalue.disclosure import (
    DEFAULT_MIN_CELL,
    min_cells,
    reportable,
    rules_frame,
    run_min_cells,
    suppress,
    too_small,
)
from carevalue.outcomes.outcomes_stage import calibration_json
from carevalue.outcomes.risk_models import calibration_by_decile
from carevalue.packs import load_packs
from carevalue.value.prom_response import prom_response
from carevalue.warehouse import connect

ROOT = Path(__file__).resolve().parents[1]
NOTE = "too few to report (fewer than 10 episodes)"


def prom_like() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "due": [40, 40, 12, 5],
            "returned": [30, 35, 4, 5],
            "not_returned": [10, 5, 8, 0],
            "rate": [0.75, 0.875, 1 / 3, 1.0],
            "mean": [1.0, 2.0, 3.0, 4.0],
            "gap": [0.1, 0.2, 0.3, 0.4],
        }
    )


RULES = {"due": ("rate",), "returned": ("mean", "gap"), "not_returned": ("gap",)}


def test_a_figure_is_blanked_where_any_count_it_rests_on_is_small():
    out = suppress(prom_like(), 10, RULES)
    assert out["rate"].isna().tolist() == [False, False, False, True]
    assert out["mean"].isna().tolist() == [False, False, True, True]
    assert out["gap"].isna().tolist() == [False, True, True, True]
    assert out["suppressed"].tolist() == [False, True, True, True]
    # Counts stay.
    assert out["due"].tolist() == [40, 40, 12, 5] and out["returned"].tolist() == [30, 35, 4, 5]


def test_the_note_names_the_blanked_figures_when_others_are_shown():
    notes = suppress(prom_like(), 10, RULES)["note"].tolist()
    assert pd.isna(notes[0])
    assert notes[1] == f"{NOTE}: gap"
    assert notes[2] == f"{NOTE}: mean, gap"
    assert notes[3] == NOTE  # everything blank: nothing to name


def test_min_cell_per_condition_with_the_default_for_others():
    frame = pd.DataFrame(
        {
            "condition": ["stroke", "stroke", "hcv", "other"],
            "n": [12, 25, 12, 9],
            "value": [1.0, 2.0, 3.0, 4.0],
        }
    )
    out = suppress(frame, {"stroke": 20, "hcv": 5}, {"n": ("value",)})
    assert out["value"].isna().tolist() == [True, False, False, True]
    assert out["note"].tolist()[0] == "too few to report (fewer than 20 episodes)"
    assert out["note"].tolist()[3] == f"too few to report (fewer than {DEFAULT_MIN_CELL} episodes)"
    with pytest.raises(ValueError, match="min_cell must be at least 1, not 0"):
        suppress(frame, {"stroke": 0}, {"n": ("value",)})


def test_a_missing_count_is_never_enough():
    counts = pd.Series([np.nan, 10, None, 9], dtype="float64")
    assert too_small(counts, 10).tolist() == [True, False, True, True]
    assert reportable(pd.Series([10, 11, 3]), 10).tolist() == [True, True, False]
    assert too_small(pd.array([pd.NA, 50], dtype="Int64"), 10).tolist() == [True, False]


def test_suppressing_twice_changes_nothing_and_keeps_earlier_suppression():
    once = suppress(prom_like(), 10, RULES)
    pd.testing.assert_frame_equal(suppress(once, 10, RULES), once)
    earlier = prom_like().assign(
        suppressed=[True, False, False, False], note=["provisional", None, None, None]
    )
    out = suppress(earlier, 10, {"due": ("rate",)})
    assert out["suppressed"].tolist() == [True, False, False, True]
    assert out["note"].iloc[0] == "provisional" and pd.isna(out["note"].iloc[1])


def test_figure_columns_keep_one_type_whatever_is_blanked():
    frame = pd.DataFrame({"n": [50, 60], "total": [1, 2], "ranking": ["a > b", "b > a"]})
    untouched = suppress(frame, 10, {"n": ("total", "ranking")})
    assert untouched["total"].dtype == "float64" and untouched["ranking"].tolist() == [
        "a > b",
        "b > a",
    ]
    blanked = suppress(frame.assign(n=[5, 60]), 10, {"n": ("total", "ranking")})
    assert blanked["total"].dtype == "float64" and blanked["total"].isna().tolist() == [True, False]
    assert blanked["ranking"].isna().tolist() == [True, False]


def test_the_run_publishes_each_condition_s_min_cell_for_later_reports():
    con = connect("duckdb://:memory:")
    assert run_min_cells(con) == {}  # no run yet: the default for every condition
    con.create_table("disclosure_rules", rules_frame({"stroke": 12, "hepatitis_c": 10}))
    assert run_min_cells(con) == {"stroke": 12, "hepatitis_c": 10}
    assert min_cells(None) == {}


def test_prom_response_blanks_means_resting_on_too_few_responses():
    stroke = next(pack for pack in load_packs(shipped_conditions()) if pack.id == "stroke")
    n = 30
    frame = pd.DataFrame(
        {
            "episode_id": [f"E{i}" for i in range(n)],
            "age": np.linspace(50, 90, n),
            "sex": ["male", "female"] * (n // 2),
            "imd_decile": np.arange(n) % 10 + 1,
        }
    )
    # 30 due at 90 days for the mRS: 24 returned, 6 not; 8 due for EQ-5D, all returned.
    outcomes = pd.concat(
        [
            pd.DataFrame(
                {
                    "episode_id": frame["episode_id"],
                    "outcome_id": "mrs_90d",
                    "status": ["measured"] * 24 + ["missing"] * 6,
                    "value": [2.0] * 24 + [np.nan] * 6,
                    "note": None,
                }
            ),
            pd.DataFrame(
                {
                    "episode_id": frame["episode_id"][:8],
                    "outcome_id": "eq5d_90d",
                    "status": "measured",
                    "value": 0.8,
                    "note": None,
                }
            ),
        ]
    )
    result = prom_response(stroke, frame, outcomes)
    mrs = result[result["outcome_id"] == "mrs_90d"].set_index("variable")
    assert mrs["response_rate"].eq(0.8).all() and mrs["crude_mean"].eq(2.0).all()
    assert mrs["responders_mean"].notna().all()
    # Six non-responders: their means, and the difference from them, are not shown.
    assert mrs["non_responders_mean"].isna().all() and mrs["standardised_difference"].isna().all()
    assert mrs["note"].str.endswith("non_responders_mean").all()
    eq5d = result[result["outcome_id"] == "eq5d_90d"]
    assert eq5d["due"].eq(8).all() and eq5d["suppressed"].all()
    assert eq5d[["response_rate", "crude_mean", "responders_mean"]].isna().all().all()


def test_a_calibration_decile_of_too_few_episodes_shows_no_rates():
    rng = np.random.default_rng(3)
    expected = rng.uniform(0.05, 0.6, 60)
    observed = (rng.random(60) < expected).astype(float)
    table = calibration_by_decile(observed, expected)
    assert (table["n"] == 6).all()  # 60 episodes, ten deciles
    small = pd.DataFrame(json.loads(calibration_json(table, 10)))
    assert small[["expected", "observed"]].isna().all().all() and small["suppressed"].all()
    shown = pd.DataFrame(json.loads(calibration_json(table, 5)))
    np.testing.assert_allclose(shown["observed"], table["observed"])
    assert calibration_json(None, 10) is None
