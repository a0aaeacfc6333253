"""Plotly figures in one house style (NHS.UK colours, plain fonts, no logo), returned as
dicts the page carries as JSON. Every chart has a table beside it with the same figures."""

from __future__ import annotations

import math

import pandas as pd
import plotly.graph_objects as go

BLUE = "#005eb8"
DARK_BLUE = "#003087"
GREY = "#4c6272"
PALE_GREY = "#d8dde0"
ORANGE = "#ed8b00"      # special cause: concern (MDC)
IMPROVEMENT = "#41b6e6"  # special cause: improvement (MDC light blue)
NEUTRAL_SPECIAL = "#330072"  # special cause, neither (MDC purple)
RED = "#d5281b"
GREEN = "#007f3b"
PALETTE = [BLUE, "#ffb81c", "#330072", "#009639", "#ae2573", "#768692", "#00a499", "#8a1538"]


def layout(title: str = "", *, x_title: str = "", y_title: str = "", height: int = 380,
           legend: bool = True) -> dict:
    return {
        "title": {"text": title, "font": {"size": 16}} if title else None,
        "font": {"family": "Arial, sans-serif", "size": 13, "color": "#212b32"},
        "height": height,
        "margin": {"l": 60, "r": 20, "t": 40 if title else 16, "b": 60},
        "xaxis": {"title": {"text": x_title}, "gridcolor": PALE_GREY, "zeroline": False},
        "yaxis": {"title": {"text": y_title}, "gridcolor": PALE_GREY, "zeroline": False},
        "showlegend": legend,
        "legend": {"orientation": "h", "y": -0.2},
        "plot_bgcolor": "#ffffff",
        "paper_bgcolor": "#ffffff",
        "hovermode": "closest",
    }


def as_dict(figure: go.Figure) -> dict:
    return figure.to_plotly_json()


def clean(values) -> list:
    """Plain Python values for JSON: NaN and NA become None."""
    out = []
    for value in values:
        if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
            out.append(None)
        elif hasattr(value, "isoformat"):
            out.append(value.isoformat()[:10])
        elif hasattr(value, "item"):
            out.append(value.item())
        else:
            out.append(value)
    return out


def sparkline(x, y, colour: str = BLUE) -> dict:
    """A tiny line with no axes, for a headline card."""
    return {
        "data": [{"type": "scatter", "mode": "lines", "x": clean(x), "y": clean(y),
                  "line": {"color": colour, "width": 2}, "hoverinfo": "skip"}],
        "layout": {"height": 60, "margin": {"l": 0, "r": 0, "t": 4, "b": 4},
                   "xaxis": {"visible": False}, "yaxis": {"visible": False},
                   "showlegend": False, "plot_bgcolor": "#ffffff", "paper_bgcolor": "#ffffff"},
    }


def spc_figure(points: pd.DataFrame, *, title: str = "", y_title: str = "",
               changes: list[tuple[str, str]] = (), height: int = 380) -> dict:
    """A Making Data Count XmR chart from ``metric_spc`` rows of one series: the values,
    mean, process limits and target per rebase group, special-cause points coloured
    (improvement light blue, concern orange, neither purple), service changes marked."""
    points = points.sort_values("date")
    x = clean(points["date"])
    data = [{"type": "scatter", "mode": "lines+markers", "name": "Monthly value", "x": x,
             "y": clean(points["y"]), "line": {"color": GREY, "width": 1.5},
             "marker": {"color": GREY, "size": 6}, "connectgaps": False}]
    for column, name, style in (("mean", "Mean", {"color": "#000000", "width": 1.5}),
                                ("upl", "Upper process limit", {"color": GREY, "dash": "dash", "width": 1}),
                                ("lpl", "Lower process limit", {"color": GREY, "dash": "dash", "width": 1}),
                                ("target", "Target", {"color": RED, "dash": "dot", "width": 1.5})):
        if column in points.columns and points[column].notna().any():
            # one segment per rebase group, so limits step at each rebase
            ys = []
            previous = None
            for group, value in zip(points.get("rebase_group", [0] * len(points)), points[column]):
                ys.append(None if previous is not None and group != previous else value)
                previous = group
            data.append({"type": "scatter", "mode": "lines", "name": name, "x": x,
                         "y": clean(ys), "line": style, "hoverinfo": "skip"})
    kinds = {"improvement": IMPROVEMENT, "concern": ORANGE, "neither": NEUTRAL_SPECIAL}
    if "point_type" in points.columns:
        for kind, colour in kinds.items():
            chosen = points[points["point_type"].astype("string").str.contains(kind, na=False)]
            if not chosen.empty:
                data.append({"type": "scatter", "mode": "markers",
                             "name": f"Special cause: {kind}", "x": clean(chosen["date"]),
                             "y": clean(chosen["y"]),
                             "marker": {"color": colour, "size": 10,
                                        "line": {"color": "#000000", "width": 0.5}}})
    shapes, annotations = [], []
    for date, text in changes:
        shapes.append({"type": "line", "xref": "x", "yref": "paper", "x0": date, "x1": date,
                       "y0": 0, "y1": 1, "line": {"color": DARK_BLUE, "dash": "dot", "width": 1}})
        annotations.append({"xref": "x", "yref": "paper", "x": date, "y": 1, "text": text,
                            "showarrow": False, "xanchor": "left", "yanchor": "bottom",
                            "font": {"size": 11, "color": DARK_BLUE}})
    figure = {"data": data, "layout": layout(title, x_title="Month of admission",
                                             y_title=y_title, height=height)}
    figure["layout"]["shapes"] = shapes
    figure["layout"]["annotations"] = annotations
    return figure
