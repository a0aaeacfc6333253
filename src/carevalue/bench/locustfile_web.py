"""The locust scenario of ``python -m carevalue.bench.web_load`` (read its docstring).

Each simulated user logs in once (GET /login/, then POST with the CSRF token) and then
browses the overview, SPC, cost and value pages of every condition, unfiltered and
filtered to one site (``web_load.page_paths``), in its own random order, with the think
time between pages. With ``CAREVALUE_BENCH_TARGET=healthz`` every page is replaced by
``/healthz``: the baseline, with no page building. Configured by environment variables,
which ``web_load.py`` sets:

- ``CAREVALUE_BENCH_TARGET``: ``pages`` or ``healthz``
- ``CAREVALUE_BENCH_THINK``: ``LOW-HIGH`` seconds, or ``0`` for none
- ``CAREVALUE_BENCH_PASSWORD``, ``CAREVALUE_BENCH_ACCOUNTS``: the benchmark accounts
  ``bench01`` … (each simulated user takes the next)
- ``CAREVALUE_BENCH_CONDITIONS`` (comma-separated), ``CAREVALUE_BENCH_SITE``

Only locust imports this file (locust patches the process with gevent on import).
"""

from __future__ import annotations

import itertools
import os
import random

from locust import HttpUser, between, constant, task

from carevalue.bench.web_load import (
    CSRF_INPUT,
    USER_PREFIX,
    login_accepted,
    page_paths,
    request_name,
)

THINK = os.environ.get("CAREVALUE_BENCH_THINK", "1-3")
TARGET = os.environ.get("CAREVALUE_BENCH_TARGET", "pages")
CONDITIONS = [c for c in os.environ.get("CAREVALUE_BENCH_CONDITIONS", "").split(",") if c]
SITE = os.environ.get("CAREVALUE_BENCH_SITE", "North")
ACCOUNTS = int(os.environ.get("CAREVALUE_BENCH_ACCOUNTS", "20"))
_accounts = itertools.count()


def _wait_time(text: str):
    if text in ("", "0", "none"):
        return constant(0)
    low, _, high = text.partition("-")
    return between(float(low), float(high or low))


def scenario_paths() -> list[str]:
    paths = page_paths(CONDITIONS, SITE)
    return ["/healthz"] * len(paths) if TARGET == "healthz" else paths


class CareValueUser(HttpUser):
    wait_time = _wait_time(THINK)

    def on_start(self) -> None:
        paths = scenario_paths()
        random.shuffle(paths)
        self.walk = itertools.cycle(paths)
        username = f"{USER_PREFIX}{next(_accounts) % ACCOUNTS + 1:02d}"
        with self.client.get("/login/", name="/login/ (form)", catch_response=True) as form:
            token = CSRF_INPUT.search(form.text or "")
            if token is None:
                form.failure("no CSRF token in the login form")
                return
        with self.client.post(
            "/login/",
            name="/login/ (sign in)",
            data={
                "username": username,
                "password": os.environ["CAREVALUE_BENCH_PASSWORD"],
                "csrfmiddlewaretoken": token.group(1),
            },
            headers={"Referer": f"{self.host}/login/"},
            allow_redirects=False,
            catch_response=True,
        ) as answer:
            if not login_accepted(answer):
                answer.failure(f"login as {username} refused (status {answer.status_code})")

    @task
    def browse(self) -> None:
        path = next(self.walk)
        with self.client.get(
            path, name=request_name(path), allow_redirects=False, catch_response=True
        ) as response:
            if response.status_code != 200:
                # status 0: no HTTP answer at all; say what the connection did
                response.failure(
                    f"status {response.status_code}"
                    + (f": {response.error!r}" if response.error else "")
                )
            elif path != "/healthz" and "No results yet" in response.text:
                response.failure("the server has no published run")
