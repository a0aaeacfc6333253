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
ORANGE = "#ed8b00"  # special cause: concern (MDC)
IMPROVEMENT = "#41b6e6"  # special cause: improvement (MDC light blue)
NEUTRAL_SPECIAL = "#330072"  # special cause, neither (MDC purple)
RED = "#d5281b"
GREEN = "#007f3b"
PALETTE = [BLUE, "#ffb81c", "#330072", "#009639", "#ae2573", "#768692", "#00a499", "#8a1538"]


def layout(
    title: str = "", *, x_title: str = "", y_title: str = "", height: int = 380, legend: bool = True
) -> dict:
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
        # months too small to report are gaps; a sparkline joins across them (its card
        # and the SPC page show the gaps) so the trend stays readable at a glance
        "data": [
            {
                "type": "scatter",
                "mode": "lines+markers",
                "x": clean(x),
                "y": clean(y),
                "connectgaps": True,
                "line": {"color": colour, "width": 1.5},
                "marker": {"color": colour, "size": 3},
                "hoverinfo": "skip",
            }
        ],
        "layout": {
            "height": 60,
            "margin": {"l": 0, "r": 0, "t": 4, "b": 4},
            "xaxis": {"visible": False},
            "yaxis": {"visible": False},
            "showlegend": False,
            "plot_bgcolor": "#ffffff",
            "paper_bgcolor": "#ffffff",
        },
    }
