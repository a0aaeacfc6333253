"""Browser-test harness: Debian's chromium driven by Playwright, and axe-core's checks.

Browser tests (marked ``browser``, in xdist group "browser") import this module:

    from .browser_harness import axe_violations, launch_browser, require_chromium

    @pytest.mark.browser
    @pytest.mark.xdist_group("browser")
    def test_page(live_server):
        require_chromium()
        with sync_playwright() as playwright:
            browser = launch_browser(playwright)
            page = browser.new_page()
            page.goto(...)
            assert axe_violations(page) == []

The browser is Debian's package (``apt-get install chromium``), never one that
``playwright install`` would download: this machine reaches no server to download it from.
Where chromium is missing a browser test skips with a reason, unless
CAREVALUE_REQUIRE_BROWSER=1 (CI sets it), when it fails instead.
"""

from __future__ import annotations

import os

import pytest

from carevalue.web.assets import REPO_ROOT

__all__ = [
    "AXE_JS",
    "CHROMIUM",
    "CHROMIUM_ARGS",
    "WCAG_TAGS",
    "axe_violations",
    "chromium_missing_reason",
    "launch_browser",
    "require_chromium",
]

CHROMIUM = "/usr/bin/chromium"
# As root, in a sandbox, on a closed network: no sandbox, no GPU, and none of chromium's
# background requests (each would be refused, many at a time, at every start).
CHROMIUM_ARGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)
# axe-core is a dev dependency in package.json; make venv runs npm ci.
AXE_JS = REPO_ROOT / "node_modules" / "axe-core" / "axe.min.js"
# WCAG 2.2 levels A and AA, as axe-core tags its rules (2.0, 2.1 and 2.2 additions).
WCAG_TAGS = ("wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa")


def chromium_missing_reason() -> str | None:
    """None where the browser tests can run, else one sentence saying what to install."""
    if not os.access(CHROMIUM, os.X_OK):
        return (
            f"Debian's chromium is not installed at {CHROMIUM}, so the browser tests "
            "cannot run: install it with `apt-get install chromium` (as root; CI does)."
        )
    if not AXE_JS.is_file():
        return f"{AXE_JS} is missing, so pages cannot be checked: run `npm ci` (make venv does)."
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return (
            "the playwright Python package is not installed: run `make venv` "
            "(it installs the test extra); never `playwright install`."
        )
    return None


def require_chromium() -> None:
    """Skip the calling test where chromium is missing, or fail it if CI requires a browser."""
    reason = chromium_missing_reason()
    if reason is None:
        return
    if os.environ.get("CAREVALUE_REQUIRE_BROWSER") == "1":
        pytest.fail(f"CAREVALUE_REQUIRE_BROWSER=1, but {reason}", pytrace=False)
    pytest.skip(reason)


def launch_browser(playwright, **options):
    """Start Debian's chromium, headless, through a sync Playwright (``sync_playwright()``)."""
    return playwright.chromium.launch(
        executable_path=CHROMIUM,
        headless=True,
        args=list(CHROMIUM_ARGS),
        **options,
    )


def axe_violations(page, impacts=("serious", "critical")) -> list[dict]:
    """axe-core's WCAG 2.2 A and AA violations on the page, of the given impacts.

    Each is ``{"id", "impact", "help", "targets"}`` (targets: one CSS selector list per
    offending element), so an assertion's failure message says what to fix and where.
    axe.min.js is injected from node_modules as a file, not fetched over the network.
    """
    _inject_axe(page)
    results = page.evaluate(
        """async (tags) => await axe.run(document, {
            runOnly: {type: 'tag', values: tags},
            resultTypes: ['violations'],
        })""",
        list(WCAG_TAGS),
    )
    wanted = set(impacts)
    return [
        {
            "id": violation["id"],
            "impact": violation["impact"],
            "help": violation["help"],
            "targets": [node["target"] for node in violation["nodes"]],
        }
        for violation in results["violations"]
        if violation["impact"] in wanted
    ]


def _inject_axe(page) -> None:
    """Put axe-core on the page: a script tag, or where the page's CSP refuses inline
    scripts (the web app's does: script-src 'self'), the same source evaluated through the
    DevTools protocol, which the CSP does not govern. The page's own CSP stays in force, so
    browser tests still see what it blocks (no bypass_csp)."""
    if page.evaluate("typeof window.axe === 'object'"):
        return
    from playwright.sync_api import Error

    try:
        page.add_script_tag(path=str(AXE_JS))
    except Error as error:
        if "Content Security Policy" not in str(error):
            raise
        page.evaluate(AXE_JS.read_text(encoding="utf-8"))
    if not page.evaluate("typeof window.axe === 'object'"):
        raise RuntimeError(f"axe-core from {AXE_JS} did not load into {page.url}.")
