"""Template tags of the patient-flow pages: table rows with a link of their own, and a
variant's activities as chips."""

from __future__ import annotations

from django import template
from django.utils.html import escape, format_html
from django.utils.safestring import mark_safe

register = template.Library()


@register.simple_tag
def detail_rows(panel, label: str = "Waits") -> str:
    """A panel's rows as ``table_body`` writes them, plus a last cell linking to the row's
    ``detail_url`` (named by its first two cells for screen readers; ``data-edge`` lets
    flow.js open the detail in place)."""
    rows = panel.linked_rows()
    if not rows:
        return format_html(
            '<tr><td colspan="{}">Nothing to show for these filters.</td></tr>',
            len(panel.columns) + 1,
        )
    table = panel.table
    urls = table["detail_url"].tolist() if "detail_url" in table.columns else [None] * len(rows)
    edges = table["edge"].tolist() if "edge" in table.columns else [""] * len(rows)
    marked = table["on_variant"].tolist() if "on_variant" in table.columns else [""] * len(rows)
    out = []
    for (row, _), url, edge, mark in zip(rows, urls, edges, marked, strict=True):
        cells = []
        for position, (text, numeric) in enumerate(row):
            css = ' class="cv-num"' if numeric else ""
            tag = 'th scope="row"' if position == 0 else "td"
            cells.append(f"<{tag}{css}>{escape(text)}</{tag.split()[0]}>")
        if url:
            what = " to ".join(escape(text) for text, _ in row[:2])
            cells.append(
                f'<td class="cv-link-cell"><a href="{escape(url)}" data-edge="{escape(edge)}">'
                f"{escape(label)}"
                f'<span class="nhsuk-u-visually-hidden"> from {what}</span></a></td>'
            )
        else:
            cells.append('<td class="cv-link-cell"></td>')
        css = ' class="cv-row--marked"' if mark else ""
        out.append(f'<tr{css} data-edge-row="{escape(edge)}">' + "".join(cells) + "</tr>")
    return mark_safe("\n".join(out))  # every value above is escaped


@register.simple_tag
def chips(activities) -> str:
    """A sequence of activities as an ordered list of chips (read as a list by screen
    readers, one step after another)."""
    items = "".join(f'<li class="cv-chip">{escape(a)}</li>' for a in activities)
    return mark_safe(f'<ol class="cv-chips">{items}</ol>')  # escaped above


@register.simple_tag
def variant_rows(panel) -> str:
    """The variants table's rows: the path as chips, and a link to it on the process map."""
    rows = panel.linked_rows()
    if not rows:
        return format_html(
            '<tr><td colspan="{}">Nothing to show for these filters.</td></tr>',
            len(panel.columns) + 1,
        )
    keys = [c.key for c in panel.columns]
    table = panel.table
    out = []
    for (row, _), steps, url in zip(
        rows, table["activities"].tolist(), table["map_url"].tolist(), strict=True
    ):
        cells = []
        for key, (text, numeric) in zip(keys, row, strict=True):
            css = ' class="cv-num"' if numeric else ""
            if key == "variant":
                cells.append(f'<th scope="row"{css}>{escape(text)}</th>')
            elif key == "sequence" and steps:
                cells.append(f"<td>{chips(steps)}</td>")
            else:
                cells.append(f"<td{css}>{escape(text)}</td>")
        if url:
            rank = escape(row[0][0])
            cells.append(
                f'<td class="cv-link-cell"><a href="{escape(url)}">On the map'
                f'<span class="nhsuk-u-visually-hidden">: variant {rank}</span></a></td>'
            )
        else:
            cells.append('<td class="cv-link-cell"></td>')
        out.append("<tr>" + "".join(cells) + "</tr>")
    return mark_safe("\n".join(out))  # every value above is escaped
