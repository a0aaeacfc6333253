"""The process map in a real browser (Debian's chromium through Playwright, as
test_browser.py): dagre lays it out and flow.js draws every activity and transition
under the page's CSP with no script errors, axe finds nothing on the three flow pages,
and an edge opened by keyboard or click shows its wait distribution, then (for a
clinician) the audited list of the episodes behind it.
"""

from __future__ import annotations

import json
import os

import pytest

try:
    from .test_browser import browser, check_axe, contexts, log_in, open_page, site
except ImportError:
    from test_browser import browser, check_axe, contexts, log_in, open_page, site

__all__ = ["browser", "contexts", "site"]  # the fixtures, shared with test_browser.py

pytestmark = [pytest.mark.browser, pytest.mark.slow] + (
    [pytest.mark.xdist_group("browser")] if os.environ.get("PYTEST_XDIST_WORKER") else []
)

MAP = "/c/stroke/flow/"


def _map_data(page) -> dict:
    return json.loads(page.locator("#flow-map-data").text_content().replace("<\\/", "</"))


def test_the_map_draws_every_activity_and_transition_and_passes_axe(
    site, browser, contexts, make_user
):
    user = make_user("administrator")
    page, watcher = open_page(browser, contexts, site)
    log_in(page, site, user.username)
    failures: list[str] = []
    for path in (MAP, "/c/stroke/flow-variants/", "/c/stroke/value-stream/"):
        response = page.goto(path)
        assert response is not None and response.status == 200, path
        if path == MAP:
            page.wait_for_selector("#flow-map[data-drawn] svg")
            data = _map_data(page)
            assert page.locator("svg .cv-node").count() == len(data["nodes"]) > 3
            assert page.locator("svg g.cv-edge").count() == len(data["edges"]) > 3
            assert page.locator("svg .cv-node__start").count() == 1
            assert page.locator("svg .cv-node__end").count() == 1
            labels = page.locator("svg .cv-node__label").all_text_contents()
            assert sorted(labels) == sorted(n["label"] for n in data["nodes"])
            # svg-pan-zoom took over the drawing and its buttons are shown
            assert page.locator(".cv-flow__toolbar").is_visible()
            page.get_by_role("button", name="Zoom in").click()
        failures.extend(f"{path}: {error}" for error in watcher.take())
        check_axe(page, watcher, path, failures)
    assert not failures, "\n".join(failures)


def test_an_edge_opens_its_waits_and_a_clinician_its_episodes(site, browser, contexts, make_user):
    from carevalue.web.models import AuditEvent

    user = make_user("clinician", "stroke")
    page, watcher = open_page(browser, contexts, site)
    log_in(page, site, user.username)
    page.goto(MAP)
    page.wait_for_selector("#flow-map[data-drawn] svg")
    data = _map_data(page)
    edge = next(e for e in data["edges"] if not e["suppressed"] and len(e["bands"]) > 1)

    # by keyboard: every arrow is in the tab order; Enter opens its detail
    arrow = page.locator(f'svg g.cv-edge[data-edge="{edge["id"]}"]')
    arrow.focus()
    page.keyboard.press("Enter")
    detail = page.locator("#edge-detail")
    assert detail.locator("h3").inner_text() == f"{edge['from']} to {edge['to']}"
    detail.locator(".main-svg").first.wait_for()
    assert detail.locator("tbody tr").count() == len(edge["bands"])
    assert "cv-edge--selected" in (arrow.get_attribute("class") or "")

    # by mouse, another arrow
    other = next(e for e in data["edges"] if e["id"] != edge["id"])
    page.locator(f'svg g.cv-edge[data-edge="{other["id"]}"] .cv-edge__hit').dispatch_event("click")
    assert detail.locator("h3").inner_text() == f"{other['from']} to {other['to']}"

    assert not AuditEvent.objects.filter(action="view_patients").exists()
    page.locator(f'svg g.cv-edge[data-edge="{edge["id"]}"]').focus()
    page.keyboard.press("Enter")
    detail.get_by_role("link", name="List the episodes behind this transition").click()
    page.wait_for_selector("#panel-edge-episodes")
    rows = page.locator("#panel-edge-episodes tbody tr").count()
    assert rows >= 1
    event = AuditEvent.objects.get(action="view_patients")
    assert len(event.patients) >= 1 and event.detail == {"what": "flow"}
    assert not watcher.take()
    failures: list[str] = []
    check_axe(page, watcher, "the edge's episodes", failures)
    assert not failures, "\n".join(failures)
