"""Server-drawn SVG charts for the board pack's PDF."""

from carevalue.web import charts
from carevalue.web.static_charts import svg_from_figure


def test_a_dated_line_chart_with_gaps_is_drawn_as_svg():
    months = [f"2024-{m:02d}-01" for m in range(1, 13)]
    figure = {
        "data": [
            {
                "type": "scatter",
                "mode": "lines+markers",
                "x": months,
                "y": [5, 6, None, 7, 6, 5, 9, 6, 5, 6, 7, 6],
            },
            {
                "type": "scatter",
                "mode": "lines",
                "x": [months[0], months[-1]],
                "y": [6, 6],
                "line": {"dash": "dash"},
            },
        ],
        "layout": charts.layout("Length of stay"),
    }
    svg = svg_from_figure(figure)
    assert svg.startswith("<svg") and "Length of stay" in svg


def test_stacked_horizontal_bars_are_drawn_and_unknown_traces_are_left_to_the_table():
    bars = {
        "data": [
            {"type": "bar", "orientation": "h", "y": ["a", "b"], "x": [1, 2]},
            {"type": "bar", "orientation": "h", "y": ["a", "b"], "x": [3, None]},
        ]
    }
    assert svg_from_figure(bars).startswith("<svg")
    assert svg_from_figure({"data": [{"type": "sankey"}]}) is None
    assert svg_from_figure({"data": [{"type": "scatter", "x": [1, 2], "y": [1]}]}) is None
