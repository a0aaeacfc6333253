"""Views read: the current snapshot and the user's roles; they never write models (the
audit events go through ``carevalue.web.actions``)."""

from __future__ import annotations

import json

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render

from carevalue.value import metric_labels
from carevalue.web import actions, downloads, results
from carevalue.web.filters import Filters, choices
from carevalue.web.page_cache import cached_page
from carevalue.web.pages import PageContext, PageSpec, pages
from carevalue.web.panels import Page
from carevalue.web.permissions import (
    VIEW_COSTING_DETAIL,
    VIEW_DASHBOARDS,
    VIEW_PATIENTS,
    VIEW_SMALL_CELLS,
    conditions_visible,
    has_permission,
)


class NoResults(Exception):
    """No run has been published yet."""


def _snapshot():
    snapshot = results.current()
    if snapshot is None:
        raise NoResults
    return snapshot


def _forbidden(request: HttpRequest, why: str) -> HttpResponse:
    return render(request, "carevalue/forbidden.html", {"why": why}, status=403)


def _no_results(request: HttpRequest) -> HttpResponse:
    return render(request, "carevalue/no_results.html", status=200)


def page_context(
    request: HttpRequest, snapshot, condition: str, spec: PageSpec | None = None
) -> PageContext:
    packs = results.packs(snapshot)
    if condition not in packs:
        raise Http404("No such condition in this run.")
    user = request.user
    return PageContext(
        snapshot=snapshot,
        pack=packs[condition],
        filters=Filters.from_query(request.GET),
        secondary_suppression=not has_permission(user, VIEW_SMALL_CELLS, condition=condition),
        costing_detail=has_permission(user, VIEW_COSTING_DETAIL, condition=condition),
        patient_level=has_permission(user, VIEW_PATIENTS, condition=condition),
        base_url=f"/c/{condition}/",
        options={
            name: str(request.GET[name]).strip()[:100]
            for name in (spec.options if spec is not None else ())
            if str(request.GET.get(name, "")).strip()
        },
    )


def build_page(ctx: PageContext, spec: PageSpec) -> Page:
    """The page for these filters and this role, every panel through disclosure."""
    key = (
        ctx.run_id,
        ctx.condition,
        spec.slug,
        ctx.filters,
        ctx.secondary_suppression,
        ctx.costing_detail,
        ctx.patient_level,
        tuple(sorted(ctx.options.items())),
    )

    def build() -> Page:
        page = spec.build(ctx)
        page.panels = [ctx.protect(panel) for panel in page.panels]
        return page

    return cached_page(key, build)


def _allowed_pages(user, condition: str) -> list[PageSpec]:
    return [s for s in pages().values() if has_permission(user, s.permission, condition=condition)]


@login_required
def home(request: HttpRequest) -> HttpResponse:
    try:
        snapshot = _snapshot()
    except NoResults:
        return _no_results(request)
    packs = results.packs(snapshot)
    visible = conditions_visible(request.user, list(packs))
    conditions = [
        {"id": c, "name": packs[c].governance.name, "pages": _allowed_pages(request.user, c)}
        for c in visible
    ]
    return render(
        request,
        "carevalue/home.html",
        {
            "conditions": conditions,
            "snapshot": snapshot,
            "attention": _attention(snapshot, visible),
            "packs": packs,
        },
    )


def _attention(snapshot, conditions: list[str]) -> list[dict]:
    """Metrics whose latest SPC signal is special cause, concerns first: what needs
    attention before anything else."""
    if not snapshot.has("metric_spc_icons"):
        return []
    icons = snapshot.table("metric_spc_icons")
    variation = icons["variation"].astype("string")
    # A series too short for trustworthy limits is left out: its "signal" is arithmetic.
    short = icons["short_series"].eq(True) if "short_series" in icons.columns else False
    if {"upl", "lpl"} <= set(icons.columns):
        short = short | (icons["upl"] == icons["lpl"])  # limits resting on no variation
    rows = icons[
        icons["condition"].isin(conditions)
        & (icons["segment_type"] == "all")
        & variation.notna()
        & (variation != "common_cause")
        & ~short
    ]
    packs = results.packs(snapshot)
    out = []
    for record in rows.to_dict("records"):
        pack = packs.get(record["condition"])
        labels = metric_labels(pack) if pack is not None else {}
        out.append(
            {
                "condition": record["condition"],
                "condition_name": pack.governance.name if pack else record["condition"],
                "metric": record["metric"],
                "label": labels.get(record["metric"], record["metric"]),
                "variation": record["variation"],
                "assurance": record.get("assurance"),
                "concern": str(record["variation"]).startswith("concern"),
            }
        )
    return sorted(out, key=lambda r: (not r["concern"], r["condition"], r["metric"]))


@login_required
def condition_page(request: HttpRequest, condition: str, slug: str) -> HttpResponse:
    spec = pages().get(slug)
    if spec is None:
        raise Http404("No such page.")
    try:
        snapshot = _snapshot()
    except NoResults:
        return _no_results(request)
    if not has_permission(request.user, VIEW_DASHBOARDS, condition=condition):
        return _forbidden(request, "Your role does not include this condition's dashboards.")
    if not has_permission(request.user, spec.permission, condition=condition):
        return _forbidden(request, f"Your role does not include the {spec.title} page.")
    ctx = page_context(request, snapshot, condition, spec)
    page = build_page(ctx, spec)
    shown = [p for panel in page.panels for p in panel.patients]
    # a patient-level page is audited on every view; any other page whenever it shows
    # patients (the process map lists a transition's episodes for clinical roles)
    if spec.patient_level or shown:
        actions.record_patient_view(
            by=request.user,
            condition=condition,
            run_id=snapshot.run_id,
            path=request.get_full_path(),
            what=spec.slug,
            patients=shown,
        )
    return render(
        request,
        spec.template,
        {
            "page": page,
            "spec": spec,
            "ctx": ctx,
            "condition": condition,
            "pack": ctx.pack,
            "snapshot": snapshot,
            "filters": ctx.filters,
            "filter_choices": choices(ctx.all_episodes),
            "nav": _allowed_pages(request.user, condition),
            "query": ctx.filters.query(),
            # the filters and the page's own options: its downloads and permalink
            "page_query": ctx.filters.query(**ctx.options),
            "charts_json": _charts_json(page),
        },
    )


def _charts_json(page: Page) -> dict[str, str]:
    """Each chart as JSON text for a ``<script type="application/json">`` block (no inline
    script runs; static/carevalue/charts.js draws them)."""
    out = {}
    for panel in page.panels:
        if panel.figure is not None:
            out[panel.id] = json.dumps(panel.figure, default=str).replace("</", "<\\/")
    for number, card in enumerate(page.cards):
        if card.sparkline is not None:
            out[f"spark-{number}"] = json.dumps(card.sparkline, default=str).replace("</", "<\\/")
    return out


@login_required
def download(
    request: HttpRequest, condition: str, slug: str, panel_id: str, fmt: str
) -> HttpResponse:
    spec = pages().get(slug)
    if spec is None or fmt not in ("csv", "xlsx"):
        raise Http404("No such download.")
    try:
        snapshot = _snapshot()
    except NoResults:
        return _no_results(request)
    if not (
        has_permission(request.user, VIEW_DASHBOARDS, condition=condition)
        and has_permission(request.user, spec.permission, condition=condition)
    ):
        return _forbidden(request, "Your role does not include this download.")
    ctx = page_context(request, snapshot, condition, spec)
    page = build_page(ctx, spec)
    panel = page.panel(panel_id)
    if panel is None:
        raise Http404("No such table on this page.")
    meta = downloads.metadata(
        panel,
        condition=condition,
        pack_version=ctx.pack.governance.version,
        run_id=snapshot.run_id,
        data_last_date=str(snapshot.manifest.get("run", {}).get("data_last_date", "")),
        filters=ctx.filters.describe(),
        suppression=(
            f"figures resting on fewer than {ctx.min_cell} episodes are blanked"
            + (", with secondary suppression" if ctx.secondary_suppression else "")
        ),
    )
    actions.record_download(
        by=request.user,
        condition=condition,
        run_id=snapshot.run_id,
        path=request.get_full_path(),
        what=f"{slug}/{panel_id}.{fmt}",
        patients=panel.patients,
    )
    name = f"carevalue-{condition}-{slug}-{panel_id}"
    if fmt == "csv":
        response = HttpResponse(
            downloads.as_csv(panel, meta), content_type="text/csv; charset=utf-8"
        )
    else:
        response = HttpResponse(
            downloads.as_excel(panel, meta),
            content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        )
    response["Content-Disposition"] = f'attachment; filename="{name}.{fmt}"'
    return response


def healthz(request: HttpRequest) -> JsonResponse:
    """For load balancers and tests: which run is being served (no login, no data)."""
    snapshot = results.current()
    return JsonResponse({"status": "ok", "run_id": None if snapshot is None else snapshot.run_id})
