"""Template tags: the Making Data Count icons with their words."""

from __future__ import annotations

from django import template
from django.templatetags.static import static
from django.utils.html import format_html

from carevalue.web import mdc_icons

register = template.Library()


@register.simple_tag
def variation_icon(code, improvement="", size=40):
    """The variation icon as an image whose alt text says what it means (blank for none)."""
    if not code or code not in mdc_icons.VARIATION:
        return ""
    icon = mdc_icons.variation_icon(code)
    return format_html('<img class="cv-icon" src="{}" alt="{}" title="{}" width="{}" height="{}">',
                       static(icon.static_path), icon.label, icon.label, size, size)


@register.simple_tag
def assurance_icon(code, size=40):
    if not code or code not in mdc_icons.ASSURANCE:
        return ""
    icon = mdc_icons.assurance_icon(code)
    return format_html('<img class="cv-icon" src="{}" alt="{}" title="{}" width="{}" height="{}">',
                       static(icon.static_path), icon.label, icon.label, size, size)


@register.filter
def variation_label(code) -> str:
    icon = mdc_icons.VARIATION.get(code) if code else None
    return icon.label if icon else "Not charted"
