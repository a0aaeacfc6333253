"""Charts as SVG drawn on the server, for the printable board pack and its PDF (which runs
no JavaScript). Draws the Plotly figure dicts the pages build, for the trace types the
pages use (lines and markers, bars, waterfalls, histograms); anything else is left to the
table beside it."""

from __future__ import annotations

import io
import json
from datetime import date
from functools import lru_cache

import matplotlib

matplotlib.use("Agg")  # no display on a server
import matplotlib.pyplot as plt
import numpy as np

SUPPORTED = {"scatter", "bar", "waterfall", "histogram"}


def _x(values):
    out = []
    for value in values or []:
        if isinstance(value, str) and len(value) >= 7 and value[4] == "-":
            try:  # ISO dates and months ("2024-03") on a date axis, not as 60 labels
                text = value[:10] if len(value) >= 10 and value[7] == "-" else value[:7] + "-01"
                out.append(date.fromisoformat(text))
                continue
            except ValueError:
                pass
        out.append(value)
    return out


def _numbers(values):
    return np.array([np.nan if v is None else v for v in (values or [])], dtype=float)


def svg_from_figure(figure: dict, *, width: float = 7.0, height: float = 3.2) -> str | None:
    """The figure as SVG text, or None when it has no trace this module can draw (the table
    printed beside every chart carries the same figures). Drawn once per figure: a cached
    page's charts are the same figures every time the pack is printed."""
    return _drawn(json.dumps(figure, sort_keys=True, default=str), width, height)


@lru_cache(maxsize=256)
def _drawn(figure_json: str, width: float, height: float) -> str | None:
    try:
        return _draw(json.loads(figure_json), width, height)
    except (ValueError, TypeError):
        return None


def _draw(figure: dict, width: float, height: float) -> str | None:
    # Traces on a second axis (e.g. the SPC strip marking months with no point) would land
    # on the main axis here: the printed table says the same.
    traces = [
        t
        for t in figure.get("data", [])
        if t.get("type", "scatter") in SUPPORTED
        and t.get("yaxis") in (None, "y")
        and t.get("xaxis") in (None, "x")
    ]
    if not traces:
        return None
    fig, ax = plt.subplots(figsize=(width, height))
    try:
        bottoms: dict = {}
        lefts: dict = {}
        drawn = 0
        for trace in traces:
            kind = trace.get("type", "scatter")
            name = trace.get("name")
            colour = (trace.get("marker") or {}).get("color") or (trace.get("line") or {}).get(
                "color"
            )
            colour = colour if isinstance(colour, str) else None
            if kind == "scatter":
                x, y = _x(trace.get("x")), _numbers(trace.get("y"))
                if not len(x) or len(x) != len(y):
                    continue
                mode = trace.get("mode", "lines+markers")
                style = "-" if "lines" in mode else ""
                if (trace.get("line") or {}).get("dash") in ("dash", "dot"):
                    style = "--" if "lines" in mode else ""
                marker = "o" if "markers" in mode else ""
                ax.plot(
                    x,
                    y,
                    linestyle=style or "none",
                    marker=marker or None,
                    markersize=4,
                    color=colour,
                    label=name,
                    linewidth=1.2,
                )
                drawn += 1
            elif kind == "bar" and trace.get("orientation") == "h":
                y, x = [str(v) for v in trace.get("y") or []], _numbers(trace.get("x"))
                if not y or len(y) != len(x):
                    continue
                base = np.array([lefts.get(v, 0.0) for v in y])
                ax.barh(y, np.nan_to_num(x), left=base, color=colour, label=name)
                for position, value in enumerate(y):
                    lefts[value] = base[position] + np.nan_to_num(x[position])
                drawn += 1
            elif kind in ("bar", "waterfall"):
                if not trace.get("x"):
                    continue
                x, y = [str(v) for v in trace.get("x") or []], _numbers(trace.get("y"))
                if kind == "waterfall":
                    # a "total" bar stands on the axis at the running sum; the rest step
                    measures = list(trace.get("measure") or ["relative"] * len(y))
                    steps = np.array(
                        [
                            0.0 if m == "total" else v
                            for m, v in zip(measures, np.nan_to_num(y), strict=False)
                        ]
                    )
                    ends = np.cumsum(steps)
                    starts = ends - steps
                    totals = np.array([m == "total" for m in measures[: len(y)]])
                    y = np.where(totals, ends, np.nan_to_num(y))
                    starts = np.where(totals, 0.0, starts)
                    ax.bar(
                        x, np.nan_to_num(y), bottom=starts, color=colour or "#005eb8", label=name
                    )
                    drawn += 1
                    continue
                base = np.array([bottoms.get(v, 0.0) for v in x])
                ax.bar(x, np.nan_to_num(y), bottom=base, color=colour, label=name)
                for position, value in enumerate(x):
                    bottoms[value] = base[position] + np.nan_to_num(y[position])
                drawn += 1
            elif kind == "histogram":
                values = _numbers(trace.get("x"))
                values = values[~np.isnan(values)]
                if len(values):
                    ax.hist(values, bins=30, color=colour or "#005eb8", label=name)
                    drawn += 1
        if not drawn:
            return None
        layout = figure.get("layout") or {}
        title = (
            (layout.get("title") or {}).get("text")
            if isinstance(layout.get("title"), dict)
            else None
        )
        if title:
            ax.set_title(title, fontsize=10)
        for axis, setter in (("xaxis", ax.set_xlabel), ("yaxis", ax.set_ylabel)):
            text = (layout.get(axis) or {}).get("title") or {}
            if isinstance(text, dict) and text.get("text"):
                setter(text["text"], fontsize=8)
        ax.tick_params(labelsize=7)
        for label in ax.get_xticklabels():
            label.set_rotation(30)
            label.set_horizontalalignment("right")
        ax.grid(True, color="#d8dde0", linewidth=0.5)
        ax.spines[["top", "right"]].set_visible(False)
        if any(t.get("name") for t in traces) and len(traces) > 1:
            handles, labels = ax.get_legend_handles_labels()
            unique = dict(zip(labels, handles, strict=True))  # one entry per name
            ax.legend(
                unique.values(),
                unique.keys(),
                fontsize=7,
                frameon=False,
                loc="upper left",
                bbox_to_anchor=(1.01, 1),
            )
        fig.tight_layout()
        buffer = io.StringIO()
        fig.savefig(buffer, format="svg")
        text = buffer.getvalue()
    finally:
        plt.close(fig)
    return text[text.find("<svg") :]
