"""Secondary suppression: a lone blanked cell cannot be worked out from a total."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given
from hypothesis import strategies as st

from carevalue.disclosure import suppress, suppress_complementary


def _table(counts, rates, groups=None):
    frame = pd.DataFrame({"n": counts, "rate": rates})
    if groups is not None:
        frame["site"] = groups
    return suppress(frame, 10, {"n": ("rate",)})


def test_a_lone_small_cell_takes_the_next_smallest_with_it():
    table = _table([4, 30, 12, 50], [0.5, 0.2, 0.3, 0.1])
    out = suppress_complementary(table, count="n", figures=("rate",))
    assert out["rate"].isna().tolist() == [True, False, True, False]
    assert out["suppressed"].tolist() == [True, False, True, False]
    assert "cannot be worked out" in out["note"].iloc[2]
    assert out["n"].tolist() == [4, 30, 12, 50]  # counts stay


def test_two_small_cells_already_protect_each_other():
    table = _table([4, 3, 12, 50], [0.5, 0.2, 0.3, 0.1])
    out = suppress_complementary(table, count="n", figures=("rate",))
    assert out["rate"].isna().tolist() == [True, True, False, False]


def test_groups_are_protected_separately():
    table = _table([4, 30, 12, 50, 40], [0.5, 0.2, 0.3, 0.1, 0.4], ["A", "A", "A", "B", "B"])
    out = suppress_complementary(table, count="n", figures=("rate",), within=("site",))
    assert out["rate"].isna().tolist() == [True, False, True, False, False]


@given(st.lists(st.integers(min_value=0, max_value=60), min_size=2, max_size=12))
def test_no_group_ever_has_exactly_one_hidden_figure(counts):
    table = _table(counts, np.linspace(0, 1, len(counts)))
    out = suppress_complementary(table, count="n", figures=("rate",))
    hidden = int(out["rate"].isna().sum())
    assert hidden != 1 or len(counts) == 1
    # a cell under the threshold is never shown
    assert out.loc[out["n"] < 10, "rate"].isna().all()
