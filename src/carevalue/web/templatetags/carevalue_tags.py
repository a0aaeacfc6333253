"""Template tags: the Making Data Count icons with their words."""

from __future__ import annotations

from django import template
from django.templatetags.static import static
from django.utils.html import escape, format_html
from django.utils.safestring import mark_safe

from carevalue.web import mdc_icons

register = template.Library()


@register.simple_tag
def variation_icon(code, improvement="", size=40):
    """The variation icon as an image whose alt text says what it means (blank for none)."""
    if not code or code not in mdc_icons.VARIATION:
        return ""
    icon = mdc_icons.variation_icon(code)
    return format_html(
        '<img class="cv-icon" src="{}" alt="{}" title="{}" width="{}" height="{}">',
        static(icon.static_path),
        icon.label,
        icon.label,
        size,
        size,
    )


@register.simple_tag
def assurance_icon(code, size=40):
    if not code or code not in mdc_icons.ASSURANCE:
        return ""
    icon = mdc_icons.assurance_icon(code)
    return format_html(
        '<img class="cv-icon" src="{}" alt="{}" title="{}" width="{}" height="{}">',
        static(icon.static_path),
        icon.label,
        icon.label,
        size,
        size,
    )


@register.filter
def variation_label(code) -> str:
    icon = mdc_icons.VARIATION.get(code) if code else None
    return icon.label if icon else "Not charted"


@register.simple_tag
def table_body(panel) -> str:
    """A panel's table rows as HTML, built here rather than in template loops: the SPC page
    has thousands of cells, and Django's template engine takes ~20 µs a cell."""
    rows = panel.linked_rows()
    if not rows:
        return format_html(
            '<tr><td colspan="{}">Nothing to show for these filters.</td></tr>', len(panel.columns)
        )
    out = []
    for row, link in rows:
        cells = []
        for position, (text, numeric) in enumerate(row):
            shown = escape(text)
            css = ' class="cv-num"' if numeric else ""
            if position == 0:
                if link:
                    shown = f'<a href="{escape(link)}">{shown}</a>'
                cells.append(f'<th scope="row"{css}>{shown}</th>')
            else:
                cells.append(f"<td{css}>{shown}</td>")
        out.append("<tr>" + "".join(cells) + "</tr>")
    return mark_safe("\n".join(out))  # every value above is escaped
