"""Full-page screenshots of the web app, for docs/screenshots/ (a script, not a test).

    .venv/bin/python tests/web/screenshots.py docs/screenshots [--snapshots FOLDER]

Serves the app under gunicorn on a free 127.0.0.1 port, on a published run's snapshots
(default /tmp/cvweb/snapshots, the prebuilt synthetic trust the web tests use) and a
throwaway SQLite database holding two users (an administrator and a stroke clinician),
then logs in through the real form with Debian's chromium and saves 1280 px wide
full-page PNGs: home.png, overview.png, value.png, cost.png, outcomes.png, spc.png,
equity.png, data-quality.png, patients.png (as the clinician) and board-pack.png, each
reduced to a 256-colour palette so the repository stays small.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path.insert(0, str(HERE))  # browser_harness, imported as a plain module

from browser_harness import launch_browser  # noqa: E402 (after the sys.path line)

CONDITION = "stroke"
PASSWORD = "a-long-screenshot-password-for-carevalue"
ADMIN = ("screens-admin", "administrator", "")
CLINICIAN = ("screens-clinician", "clinician", CONDITION)
WIDTH = 1280

# (file stem, path, who): the pages an administrator sees, then the clinician's patients.
SHOTS = [
    ("home", "/", ADMIN),
    ("overview", f"/c/{CONDITION}/overview/", ADMIN),
    ("value", f"/c/{CONDITION}/value/", ADMIN),
    ("cost", f"/c/{CONDITION}/cost/", ADMIN),
    ("outcomes", f"/c/{CONDITION}/outcomes/", ADMIN),
    ("spc", f"/c/{CONDITION}/spc/", ADMIN),
    ("equity", f"/c/{CONDITION}/equity/", ADMIN),
    ("data-quality", f"/c/{CONDITION}/data-quality/", ADMIN),
    ("board-pack", f"/c/{CONDITION}/pack/", ADMIN),
    ("patients", f"/c/{CONDITION}/patients/", CLINICIAN),
]

SETUP = """
from django.core.management import call_command
from carevalue.web.serve import setup_django
setup_django()
call_command("migrate", interactive=False, verbosity=0)
from carevalue.web import actions
for username, role, condition in {users!r}:
    actions.create_user(username=username, password={password!r}, roles=[(role, condition)])
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until_up(url: str, server: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"the server stopped (exit {server.returncode}) before it served")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.3)
    raise SystemExit(f"{url} did not answer within {timeout:.0f} s")


def log_in(page, base: str, username: str) -> None:
    page.goto(f"{base}/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{base}/")


def settle(page) -> None:
    """Wait for every chart the page carries to be drawn (plotly draws after load)."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    page.wait_for_load_state("load")
    expected = page.locator("script[data-chart]").count()
    if expected:
        try:
            page.wait_for_function(
                "n => document.querySelectorAll('.main-svg').length >= n",
                arg=expected,
                timeout=15_000,
            )
        except PlaywrightTimeout as error:  # a chart that never draws is reported, not fatal
            print(f"  charts not all drawn on {page.url}: {error}", file=sys.stderr)
    page.wait_for_timeout(300)


def shrink(png: Path) -> None:
    """Rewrite a screenshot with a 256-colour palette (no dithering): the pages are flat
    NHS.UK colours, so it looks the same at about a third of the size in the repository."""
    from PIL import Image

    with Image.open(png) as image:
        image.load()
        small = image.convert("RGB").quantize(
            colors=256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE
        )
    small.save(png, optimize=True)


def shoot(base: str, out: Path) -> list[str]:
    from playwright.sync_api import sync_playwright

    notes = []
    with sync_playwright() as playwright:
        browser = launch_browser(playwright)
        try:
            contexts = {}
            for stem, path, (username, _, _) in SHOTS:
                if username not in contexts:
                    context = browser.new_context(viewport={"width": WIDTH, "height": 900})
                    context.set_default_timeout(120_000)  # the stroke board pack takes ~10 s
                    page = context.new_page()
                    log_in(page, base, username)
                    contexts[username] = page
                page = contexts[username]
                started = time.monotonic()
                response = page.goto(base + path)
                settle(page)
                took = time.monotonic() - started
                status = response.status if response else 0
                title = page.title()
                target = out / f"{stem}.png"
                page.screenshot(path=str(target), full_page=True)
                shrink(target)
                height = page.evaluate("document.documentElement.scrollHeight")
                notes.append(
                    f"{target.name}: {path} as {username}, HTTP {status}, "
                    f"'{title}', {WIDTH}x{height}, {took:.1f} s"
                )
        finally:
            browser.close()
    return notes


@contextlib.contextmanager
def serve(snapshots: Path) -> Iterator[str]:
    """The app under gunicorn on a free port, with the two users; yields its base URL."""
    from carevalue.web.serve import SETTINGS, gunicorn_command

    with tempfile.TemporaryDirectory(prefix="cv-screens-") as temp:
        (Path(temp) / "static").mkdir()  # whitenoise serves from the app's folders
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": SETTINGS,
            "CAREVALUE_SNAPSHOTS": str(snapshots.resolve()),
            "CAREVALUE_WEB_DB": str(Path(temp) / "web.sqlite3"),
            "CAREVALUE_STATIC_ROOT": str(Path(temp) / "static"),
            "PYTHONPATH": os.pathsep.join(
                p for p in (str(REPO / "src"), os.environ.get("PYTHONPATH", "")) if p
            ),
        }
        env.pop("CAREVALUE_DEBUG", None)
        env.pop("CAREVALUE_PRODUCTION", None)
        setup = SETUP.format(users=[ADMIN, CLINICIAN], password=PASSWORD)
        subprocess.run([sys.executable, "-c", setup], env=env, cwd=temp, check=True)
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        server = subprocess.Popen(
            gunicorn_command("127.0.0.1", port, 1, 4), env=env, cwd=temp, stdout=subprocess.DEVNULL
        )
        try:
            wait_until_up(f"{base}/healthz", server)
            yield base
        finally:
            server.terminate()
            try:
                server.wait(timeout=20)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path, help="folder for the PNG files")
    parser.add_argument(
        "--snapshots",
        type=Path,
        default=Path("/tmp/cvweb/snapshots"),
        help="a published run's snapshots folder (default %(default)s)",
    )
    args = parser.parse_args(argv)
    if not (args.snapshots / "CURRENT").exists():
        raise SystemExit(f"{args.snapshots} holds no published run (no CURRENT file)")
    args.out.mkdir(parents=True, exist_ok=True)
    with serve(args.snapshots) as base:
        for line in shoot(base, args.out):
            print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
