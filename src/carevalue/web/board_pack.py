"""The board and MDT pack: one printable report per condition and filters (HTML, and PDF
made from the same HTML by WeasyPrint, with server-drawn SVG charts and no internet).

It is built from the dashboard pages themselves (overview, SPC, cost, outcomes, data
quality), through the same disclosure rules as the user's role, so the pack and the
screens always agree."""

from __future__ import annotations

from pathlib import Path

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string
from django.utils import timezone

from carevalue.web import actions
from carevalue.web.pages import pages
from carevalue.web.permissions import VIEW_DASHBOARDS, has_permission
from carevalue.web.static_charts import svg_from_figure
from carevalue.web.views import (
    NoResults,
    _forbidden,
    _no_results,
    _snapshot,
    build_page,
    page_context,
)

PACK_PAGES = ("overview", "spc", "cost", "outcomes", "data-quality")
ROWS_PER_TABLE = 25
PACK_CSS = Path(__file__).parent / "static" / "carevalue" / "pack.css"


def pack_sections(request: HttpRequest, condition: str) -> tuple[object, list[dict]]:
    snapshot = _snapshot()
    ctx = page_context(request, snapshot, condition)
    sections = []
    for slug in PACK_PAGES:
        spec = pages()[slug]
        if not has_permission(request.user, spec.permission, condition=condition):
            continue
        page = build_page(ctx, spec)
        panels = []
        for panel in _pack_panels(ctx, slug, page.panels):
            rows = panel.rows()
            panels.append(
                {
                    "panel": panel,
                    "svg": svg_from_figure(panel.figure) if panel.figure else None,
                    "rows": rows[:ROWS_PER_TABLE],
                    "more": max(0, len(rows) - ROWS_PER_TABLE),
                }
            )
        sections.append({"spec": spec, "page": page, "panels": panels})
    return ctx, sections


def _pack_panels(ctx, slug: str, panels: list) -> list:
    """The panels a printed pack carries: every panel, but on the SPC page only the charts
    of the overview's headline measures and of measures showing special cause (the
    summary table lists every measure's icons), so the pack stays a pack."""
    if slug != "spc":
        return panels
    from carevalue.web.pages.overview import headline_metrics

    wanted = set(headline_metrics(ctx))
    summary = next((p for p in panels if p.id == "icons"), None)
    if summary is not None and "variation" in summary.table.columns:
        special = summary.table["variation"].astype("string")
        wanted |= set(summary.table.loc[special.notna() & (special != "common_cause"), "metric"])
    return [p for p in panels if not p.id.startswith("chart-") or p.id[6:] in wanted]


def _render(request: HttpRequest, condition: str, *, for_pdf: bool) -> str | HttpResponse:
    try:
        ctx, sections = pack_sections(request, condition)
    except NoResults:
        return _no_results(request)
    return render_to_string(
        "carevalue/board_pack.html",
        {
            "ctx": ctx,
            "pack": ctx.pack,
            "sections": sections,
            "snapshot": ctx.snapshot,
            "filters": ctx.filters,
            "made_at": timezone.now(),
            "for_pdf": for_pdf,
            "condition": condition,
            "pack_css": PACK_CSS.read_text(encoding="utf-8"),
        },
        request=request,
    )


def _refuse_fetch(url: str, *args, **kwargs):
    raise ValueError(f"the board pack fetches nothing ({url})")


@login_required
def board_pack_html(request: HttpRequest, condition: str) -> HttpResponse:
    if not has_permission(request.user, VIEW_DASHBOARDS, condition=condition):
        return _forbidden(request, "Your role does not include this condition's dashboards.")
    html = _render(request, condition, for_pdf=False)
    if isinstance(html, HttpResponse):
        return html
    return HttpResponse(html)


@login_required
def board_pack_pdf(request: HttpRequest, condition: str) -> HttpResponse:
    if not has_permission(request.user, VIEW_DASHBOARDS, condition=condition):
        return _forbidden(request, "Your role does not include this condition's dashboards.")
    html = _render(request, condition, for_pdf=True)
    if isinstance(html, HttpResponse):
        return html
    from weasyprint import HTML

    # Everything the PDF needs is inside the HTML (inline SVG and styles): WeasyPrint
    # fetches nothing, so the pack is made with no network at all.
    pdf = HTML(string=html, url_fetcher=_refuse_fetch).write_pdf()
    actions.record_download(
        by=request.user,
        condition=condition,
        run_id=_snapshot().run_id,
        path=request.get_full_path(),
        what="board pack PDF",
    )
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="carevalue-{condition}-board-pack.pdf"'
    return response
