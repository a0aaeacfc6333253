"""Plotly figures in one house style (NHS.UK colours, plain fonts, no logo), returned as
dicts the page carries as JSON. Every chart has a table beside it with the same figures."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from carevalue.reports import display

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


def dot_whisker(
    series: list[dict], *, side_by_side: bool = True, height: int | None = None
) -> dict:
    """Dots with 95% interval whiskers, one subplot per series (side by side sharing the
    group axis, or stacked each with its own). Each series: ``title``, ``labels``,
    ``value``, ``lower``, ``upper``, optional ``reference`` (a dashed line, e.g. everyone)
    and ``kind`` ("rate", "money" or "number") for the axis and hover format."""
    count = max(len(series), 1)
    rows = max((len(s["labels"]) for s in series), default=1)
    plot = layout(
        legend=False,
        height=height
        or (
            max(220, 90 + 34 * rows)
            if side_by_side
            else 80 + sum(60 + 30 * len(s["labels"]) for s in series)
        ),
    )
    plot["margin"] = {"l": 170, "r": 20, "t": 40, "b": 50}
    data, shapes, annotations = [], [], []
    gap = 0.08 if side_by_side else 0.16
    size = (1 - gap * (count - 1)) / count
    for number, one in enumerate(series):
        suffix = "" if number == 0 else str(number + 1)
        x_ref, y_ref = f"x{suffix}", (f"y{suffix}" if not side_by_side else "y")
        if side_by_side:
            x_domain, y_domain = [number * (size + gap), number * (size + gap) + size], [0, 1]
        else:
            top = 1 - number * (size + gap)
            x_domain, y_domain = [0, 1], [top - size, top]
        kind = one.get("kind", "number")
        last = side_by_side or number == count - 1
        axis = {
            "gridcolor": PALE_GREY,
            "zeroline": False,
            "domain": x_domain,
            "anchor": y_ref,
            "title": {"text": one.get("x_title", "") if last else ""},
        }
        if kind == "rate":
            axis["tickformat"] = ".0%"
        elif kind == "money":
            axis["tickprefix"], axis["tickformat"] = "£", ",.0f"
        plot[f"xaxis{suffix}"] = axis
        if not side_by_side or number == 0:
            plot[f"yaxis{suffix}"] = {
                "type": "category",
                "autorange": "reversed",
                "domain": y_domain,
                "anchor": x_ref,
                "categoryorder": "array",
                "categoryarray": list(one["labels"]),
                "gridcolor": PALE_GREY,
                "automargin": True,
            }
        value = np.asarray(clean(one["value"]), dtype=float)
        lower = np.asarray(clean(one["lower"]), dtype=float)
        upper = np.asarray(clean(one["upper"]), dtype=float)
        hover = {"rate": "%{x:.1%}", "money": "£%{x:,.0f}"}.get(kind, "%{x:,.2f}")
        data.append(
            {
                "type": "scatter",
                "mode": "markers",
                "name": one["title"],
                "x": clean(value),
                "y": list(one["labels"]),
                "xaxis": x_ref,
                "yaxis": y_ref,
                "marker": {"color": BLUE, "size": 9},
                "error_x": {
                    "type": "data",
                    "symmetric": False,
                    "array": clean(upper - value),
                    "arrayminus": clean(value - lower),
                    "color": BLUE,
                    "thickness": 1.5,
                    "width": 4,
                },
                "hovertemplate": f"%{{y}}: {hover}<extra>{one['title']}</extra>",
            }
        )
        reference = one.get("reference")
        missing = [label for label, v in zip(one["labels"], value, strict=True) if np.isnan(v)]
        if missing:
            # a group without a dot says why, so an empty row never reads as zero
            finite = value[~np.isnan(value)]
            where = (
                float(reference)
                if reference is not None and not display.missing(reference)
                else float(np.median(finite))
                if len(finite)
                else 0.0
            )
            data.append(
                {
                    "type": "scatter",
                    "mode": "text",
                    "x": [where] * len(missing),
                    "y": missing,
                    "xaxis": x_ref,
                    "yaxis": y_ref,
                    "text": ["too few to report"] * len(missing),
                    "textfont": {"color": GREY, "size": 11},
                    "hoverinfo": "skip",
                    "showlegend": False,
                }
            )
        if reference is not None and not display.missing(reference):
            shapes.append(
                {
                    "type": "line",
                    "xref": x_ref,
                    "yref": "paper",
                    "x0": float(reference),
                    "x1": float(reference),
                    "y0": y_domain[0],
                    "y1": y_domain[1],
                    "line": {"color": GREY, "dash": "dash", "width": 1},
                }
            )
        annotations.append(
            {
                "xref": "paper",
                "yref": "paper",
                "x": sum(x_domain) / 2,
                "y": y_domain[1],
                "yanchor": "bottom",
                "xanchor": "center",
                "text": one["title"],
                "showarrow": False,
                "font": {"size": 13},
            }
        )
    plot["shapes"], plot["annotations"] = shapes, annotations
    return {"data": data, "layout": plot}


# ---------------------------------------------------------------- the page
