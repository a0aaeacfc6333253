"""The web app in a real browser: Debian's chromium through Playwright, against
pytest-django's live server on the shared published run of the synthetic trust.

Each role logs in through the real form and opens every stroke page it may open (and is
refused, with a 403 page, those it may not); charts must be drawn by the page's own
scripts under its CSP;
axe-core checks every page for one role (the administrator, who sees the most; the
clinician for the patients page). Then: a filter changes the page and its URL, a CSV
download carries the panel's table, the board pack and its PDF, the skip link, logout.

One browser per module, one context (cookie jar) per login, few page loads: the file is
meant to run in about a minute and a half.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

# tests/web is a package (its __init__.py); the fallback serves a checkout without one.
try:
    from . import browser_harness
    from .conftest import PASSWORD
except ImportError:
    import browser_harness
    from conftest import PASSWORD

# xdist_group keeps these tests on one xdist worker (make test: --dist loadgroup). The
# marker is registered by the xdist plugin, so under `-p no:xdist` with --strict-markers
# it would fail collection: it is applied where xdist runs the tests (on its workers).
pytestmark = [pytest.mark.browser, pytest.mark.slow] + (
    [pytest.mark.xdist_group("browser")] if os.environ.get("PYTEST_XDIST_WORKER") else []
)

CONDITION = "stroke"
OTHER_CONDITION = "infective_endocarditis"

# Every stroke page: its slug, the h1 it shows, and whether it draws charts (.cv-chart);
# the overview draws sparklines on its headline cards instead.
PAGES = {
    "overview": ("Overview", False),
    "value": ("Value", True),
    "cost": ("Cost along the pathway", True),
    "outcomes": ("Outcomes", True),
    "spc": ("SPC charts", True),
    "equity": ("Equity", True),
    "data-quality": ("Data quality", True),
    "flow": ("Process map", False),
    "flow-variants": ("Variants", False),
    "value-stream": ("Value stream", True),
    "patients": ("Patients", False),
}
# Pages reached from their section's own menu, not the header (test_flow_browser.py).
SECTION_ONLY = {"flow-variants", "value-stream"}
EVERY_PAGE = tuple(PAGES)

# Each role as docs/web.md describes it: (condition granted, stroke pages it may not open).
ROLE_CASES = {
    "clinician": (CONDITION, set()),
    "team_lead": (CONDITION, set()),
    "service_manager": ("", {"patients"}),
    "finance": ("", {"patients"}),
    "commissioner": ("", {"data-quality", "patients"}),
    "administrator": ("", {"patients"}),
}
# Roles shown where each stage's cost comes from (ledger lines, on the cost page).
COSTING_DETAIL = {"team_lead", "service_manager", "finance", "administrator"}
# Who runs axe on which pages (everything else just loads and is checked).
AXE_PAGES = {
    "administrator": {"home", "login", "forbidden", *EVERY_PAGE},
    "clinician": {"patients"},
}
FORBIDDEN_HEADING = "Not available to your role"


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    """One chromium for the whole module (starting it costs about a second)."""
    browser_harness.require_chromium()
    from playwright.sync_api import sync_playwright

    # The sync Playwright API keeps an asyncio loop on this thread, so Django would refuse
    # the ORM calls the fixtures make here (creating users, flushing the database after
    # each test): nothing here is async, and the live server runs on its own thread.
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        playwright = sync_playwright().start()
        try:
            chromium = browser_harness.launch_browser(playwright)
            try:
                yield chromium
            finally:
                chromium.close()
        finally:
            playwright.stop()


@pytest.fixture
def site(live_server, results, transactional_db) -> str:
    """The live server's base URL, showing the shared published run."""
    return live_server.url


@pytest.fixture
def contexts(browser) -> Iterator[list]:
    """Browser contexts a test opens (one per login), closed after it."""
    opened: list = []
    yield opened
    for context in opened:
        context.close()


class Watcher:
    """What went wrong in the page's own scripts: uncaught errors and CSP refusals."""

    def __init__(self, page) -> None:
        self.errors: list[str] = []
        page.on("pageerror", lambda error: self.errors.append(f"uncaught: {error}"))
        page.on("console", self._console)

    def _console(self, message) -> None:
        if message.type == "error" and "Content Security Policy" in message.text:
            self.errors.append(f"CSP: {message.text}")

    def take(self) -> list[str]:
        errors, self.errors = self.errors, []
        return errors


def open_page(browser, contexts: list, site: str):
    context = browser.new_context(base_url=site, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(20_000)
    contexts.append(context)
    page = context.new_page()
    return page, Watcher(page)


def log_in(page, site: str, username: str) -> None:
    """Through the real form, as a person would; lands on the home page."""
    page.goto("/login/")
    page.get_by_label("User name").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{site}/")


def readable(violations: list[dict]) -> str:
    lines = []
    for v in violations:
        targets = ", ".join(" ".join(t) for t in v["targets"][:5])
        more = f" (+{len(v['targets']) - 5} more)" if len(v["targets"]) > 5 else ""
        lines.append(f"  [{v['impact']}] {v['id']}: {v['help']} -> {targets}{more}")
    return "\n".join(lines)


def check_axe(page, watcher: Watcher, where: str, failures: list[str]) -> None:
    """axe's serious and critical violations on the page, added to ``failures``. The
    page's own errors are taken first: the harness's first try at injecting axe (a script
    tag) is refused by the CSP, as it should be, and that refusal is not the page's."""
    failures.extend(f"{where}: {error}" for error in watcher.take())
    violations = browser_harness.axe_violations(page)
    watcher.take()
    if violations:
        failures.append(f"axe on {where}:\n{readable(violations)}")


def charts_drawn(page, selector: str) -> tuple[int, int]:
    """(containers, containers plotly drew into) for ``selector``, once drawing is done."""
    total = page.locator(selector).count()
    if total:
        page.wait_for_function(
            """(sel) => [...document.querySelectorAll(sel)]
                   .every(el => el.querySelector('.main-svg'))""",
            arg=selector,
            timeout=10_000,
        )
    drawn = page.locator(f"{selector}:has(.main-svg)").count()
    return total, drawn


# --------------------------------------------------------------------------- 1. roles


@pytest.mark.parametrize("role", list(ROLE_CASES))
def test_each_role_opens_its_pages_and_is_refused_the_others(
    role, site, browser, contexts, make_user
):
    condition, forbidden = ROLE_CASES[role]
    allowed = [slug for slug in EVERY_PAGE if slug not in forbidden]
    axe_on = AXE_PAGES.get(role, set())
    user = make_user(role, condition)
    page, watcher = open_page(browser, contexts, site)
    failures: list[str] = []

    if "login" in axe_on:
        page.goto("/login/")
        check_axe(page, watcher, "the login page", failures)
    log_in(page, site, user.username)
    assert page.locator("h1").inner_text() == "Your dashboards"
    overview_link = page.locator(f'a[href="/c/{CONDITION}/overview/"]')
    assert overview_link.count() == 1, "the home page links to the stroke dashboard"
    if condition:
        assert page.locator(f'a[href="/c/{OTHER_CONDITION}/overview/"]').count() == 0
    if "home" in axe_on:
        check_axe(page, watcher, "home", failures)

    for slug in allowed:
        response = page.goto(f"/c/{CONDITION}/{slug}/")
        where = f"{slug} as {role}"
        assert response is not None and response.status == 200, where
        heading, has_charts = PAGES[slug]
        assert page.locator("h1").inner_text() == heading, where
        if has_charts:
            total, drawn = charts_drawn(page, ".cv-chart")
            assert total >= 1 and drawn == total, f"{where}: {drawn} of {total} charts drawn"
        elif slug == "overview":
            total, drawn = charts_drawn(page, ".cv-sparkline")
            assert total >= 1 and drawn == total, f"{where}: {drawn} of {total} sparklines"
        if slug == "cost":
            provenance = page.locator("section.cv-panel[id^='panel-provenance-']").count()
            if role in COSTING_DETAIL:
                assert provenance >= 1, f"{where}: the ledger lines behind each stage"
            else:
                assert provenance == 0, f"{where}: no ledger lines for this role"
        if slug == allowed[0]:
            # the page's navigation offers exactly the pages this role may open
            nav = page.locator(".nhsuk-header__navigation-link").evaluate_all(
                "links => links.map(a => new URL(a.href).pathname)"
            )
            expected = [f"/c/{CONDITION}/{s}/" for s in allowed if s not in SECTION_ONLY]
            expected.append(f"/c/{CONDITION}/pack/")
            assert nav == expected, where
        failures.extend(f"{where}: {error}" for error in watcher.take())
        if slug in axe_on:
            check_axe(page, watcher, slug, failures)

    refused = [f"/c/{CONDITION}/{slug}/" for slug in sorted(forbidden)]
    if condition:  # a role for stroke only: another condition's dashboards are refused
        refused.append(f"/c/{OTHER_CONDITION}/overview/")
    for path in refused:
        response = page.goto(path)
        assert response is not None and response.status == 403, f"{path} as {role}"
        assert page.locator("h1").inner_text() == FORBIDDEN_HEADING, f"{path} as {role}"
    if "forbidden" in axe_on and refused:
        check_axe(page, watcher, "the forbidden page", failures)
    failures.extend(f"as {role}: {error}" for error in watcher.take())

    assert not failures, "\n".join(failures)


# --------------------------------------------------------------------------- 2. filters


def test_a_filter_goes_into_the_url_and_changes_the_figures(site, browser, contexts, make_user):
    user = make_user("service_manager")
    page, watcher = open_page(browser, contexts, site)
    log_in(page, site, user.username)
    page.goto(f"/c/{CONDITION}/overview/")
    legend = page.locator("form.cv-filters legend")
    before_legend = legend.inner_text()
    before_cards = page.locator(".cv-card__value").all_inner_texts()
    assert "all episodes" in before_legend

    sites = [
        v
        for v in page.locator("#f-site option").evaluate_all("options => options.map(o => o.value)")
        if v
    ]
    assert sites, "the site filter offers at least one site"
    chosen = sites[0]
    page.select_option("#f-site", chosen)
    page.get_by_role("button", name="Apply filters").click()
    page.wait_for_url(re.compile(r"[?&]site="))

    assert f"site={chosen}" in page.url
    after_legend = legend.inner_text()
    after_cards = page.locator(".cv-card__value").all_inner_texts()
    assert after_legend != before_legend and f"site {chosen}" in after_legend
    assert after_cards != before_cards, "the headline figures change with the site"
    assert page.locator("#f-site").input_value() == chosen, "the form keeps the choice"
    # the navigation keeps the filter, so the next page shows the same site
    value_link = page.locator(".nhsuk-header__navigation-link", has_text="Value")
    assert f"site={chosen}" in (value_link.get_attribute("href") or "")
    assert page.get_by_role("link", name="Clear filters").count() == 1
    assert not watcher.take()


# --------------------------------------------------------------------------- 3. CSV


def test_a_csv_download_carries_the_panel_table(site, browser, contexts, make_user):
    user = make_user("finance")
    page, _ = open_page(browser, contexts, site)
    log_in(page, site, user.username)
    page.goto(f"/c/{CONDITION}/overview/")
    panel = page.locator("section.cv-panel").first
    panel_id = (panel.get_attribute("id") or "").removeprefix("panel-")
    shown = panel.locator("thead th").all_inner_texts()
    link = panel.get_by_role("link", name=re.compile(r"^CSV"))
    assert (link.get_attribute("href") or "").endswith(f"/{panel_id}.csv")

    with page.expect_download() as info:
        link.click()
    download = info.value
    assert download.suggested_filename == f"carevalue-{CONDITION}-overview-{panel_id}.csv"
    text = Path(download.path()).read_text(encoding="utf-8")
    lines = text.splitlines()
    comments = [line for line in lines if line.startswith("#")]
    data = [line for line in lines if not line.startswith("#")]
    assert any(line.startswith("# Run: ") for line in comments), comments
    assert any("Small-number suppression" in line for line in comments), comments
    header = next(csv.reader(io.StringIO(data[0])))
    assert header == [h.strip() for h in shown], (header, shown)
    assert len(data) >= 2, "the table has rows"


# --------------------------------------------------------------------------- 4. pack


def test_the_board_pack_has_its_sections_and_a_pdf(site, browser, contexts, make_user):
    """The stroke pack's sections and charts in the browser; its PDF link is checked, and
    the PDF fetched is the infective endocarditis pack's: the same code path, but the
    stroke PDF takes about 30 s to make (the stroke pack reports cells of 5, so it draws
    many more SPC charts) and this file must stay fast."""
    user = make_user("service_manager")
    page, watcher = open_page(browser, contexts, site)
    log_in(page, site, user.username)
    response = page.goto(f"/c/{CONDITION}/pack/", timeout=60_000)
    assert response is not None and response.status == 200
    assert page.locator("h1").inner_text() == "Acute stroke: board and MDT pack"
    assert "run " in page.locator("p.meta").inner_text()
    sections = page.locator("main > section > h2").all_inner_texts()
    assert sections == [
        "Overview",
        "SPC charts",
        "Cost along the pathway",
        "Outcomes",
        "Data quality",
    ], sections
    for number in range(len(sections)):
        section = page.locator("main > section").nth(number)
        assert section.locator("table").count() >= 1, f"{sections[number]} has its tables"
    assert page.locator("main figure svg").count() >= 1, "charts drawn by the server"
    pdf_link = page.get_by_role("link", name="Download this pack as PDF")
    assert pdf_link.get_attribute("href") == f"/c/{CONDITION}/pack.pdf"
    assert not watcher.take()

    page.goto(f"/c/{OTHER_CONDITION}/pack/")
    href = page.get_by_role("link", name="Download this pack as PDF").get_attribute("href")
    assert href == f"/c/{OTHER_CONDITION}/pack.pdf"
    pdf = page.request.get(href, timeout=120_000)
    assert pdf.status == 200 and pdf.headers["content-type"] == "application/pdf"
    assert pdf.body()[:5] == b"%PDF-"
    assert "attachment" in pdf.headers["content-disposition"]


# --------------------------------------------------------------------------- 5. keyboard


def test_the_skip_link_comes_first_and_moves_focus_to_main(site, browser, contexts, make_user):
    user = make_user("commissioner")
    page, _ = open_page(browser, contexts, site)
    log_in(page, site, user.username)
    page.goto(f"/c/{CONDITION}/overview/")
    page.keyboard.press("Tab")
    focused = page.evaluate(
        "() => ({text: document.activeElement.textContent.trim(),"
        " href: document.activeElement.getAttribute('href')})"
    )
    assert focused == {"text": "Skip to main content", "href": "#maincontent"}, focused
    assert page.locator("a.nhsuk-skip-link").is_visible(), "the skip link shows when focused"
    page.keyboard.press("Enter")
    page.wait_for_function("() => document.activeElement.id === 'maincontent'", timeout=5_000)
    assert page.evaluate("document.activeElement.tagName") == "MAIN"
    # the next Tab continues from main, not from the top of the page
    page.keyboard.press("Tab")
    inside = page.evaluate(
        "document.getElementById('maincontent').contains(document.activeElement)"
    )
    assert inside, "Tab after the skip link moves into the main content"


# --------------------------------------------------------------------------- 6. logout


def test_logout_ends_the_session(site, browser, contexts, make_user):
    user = make_user("clinician", CONDITION)
    page, _ = open_page(browser, contexts, site)
    log_in(page, site, user.username)
    assert user.username in page.locator(".nhsuk-header__account").inner_text()
    page.get_by_role("button", name="Log out").click()
    page.wait_for_url(re.compile(r"/login/"))
    assert page.locator("h1").inner_text() == "Log in to CareValue"
    # the session is gone: a page now sends the browser back to the login form
    page.goto(f"/c/{CONDITION}/overview/")
    assert re.search(r"/login/\?next=", page.url), page.url
    assert page.get_by_role("button", name="Log in").is_visible()
    assert "sessionid" not in {c["name"] for c in page.context.cookies()}


def test_module_constants_cover_every_registered_page():
    """The page table above names every page the app registers (a new page needs a row)."""
    from carevalue.web.pages import pages

    registered = {slug: spec.title for slug, spec in pages().items()}
    assert registered == {slug: title for slug, (title, _) in PAGES.items()}, json.dumps(registered)
