"""Server-drawn SVG charts for the board pack's PDF."""

from carevalue.web import charts
from carevalue.web.static_charts import svg_from_figure


def test_an_spc_figure_is_drawn_as_svg():
    import pandas as pd

    points = pd.DataFrame({
        "date": pd.date_range("2024-01-01", periods=12, freq="MS"),
        "y": [5, 6, 5, 7, 6, 5, 9, 6, 5, 6, 7, 6], "mean": [6.0] * 12, "upl": [9.0] * 12,
        "lpl": [3.0] * 12, "rebase_group": [0] * 12,
        "point_type": [None] * 6 + ["special_cause_concern"] + [None] * 5,
    })
    svg = svg_from_figure(charts.spc_figure(points, title="Length of stay"))
    assert svg.startswith("<svg") and "Length of stay" in svg


def test_stacked_horizontal_bars_are_drawn_and_unknown_traces_are_left_to_the_table():
    bars = {"data": [{"type": "bar", "orientation": "h", "y": ["a", "b"], "x": [1, 2]},
                     {"type": "bar", "orientation": "h", "y": ["a", "b"], "x": [3, None]}]}
    assert svg_from_figure(bars).startswith("<svg")
    assert svg_from_figure({"data": [{"type": "sankey"}]}) is None
    assert svg_from_figure({"data": [{"type": "scatter", "x": [1, 2], "y": [1]}]}) is None
