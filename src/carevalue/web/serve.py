"""``carevalue serve``: the web app under gunicorn, on the current run's snapshot.

Before starting, the app's own database is migrated and the static files collected (so
whitenoise serves them compressed with long cache headers). gunicorn runs with threaded
workers; each worker reads snapshots only, never the warehouse, so runs go on meanwhile.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

SETTINGS = "carevalue.web.settings"


def setup_django(env: dict[str, str] | None = None) -> None:
    """Django configured in this process (for migrate, users, tests)."""
    for name, value in (env or {}).items():
        os.environ[name] = value
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", SETTINGS)
    import django

    django.setup()


def prepare_app(*, collect_static: bool = True) -> None:
    """Migrate the app's database and collect static files, quietly."""
    from django.core.management import call_command

    Path("var").mkdir(exist_ok=True)
    call_command("migrate", interactive=False, verbosity=0)
    if collect_static:
        call_command("collectstatic", interactive=False, verbosity=0)


def gunicorn_command(host: str, port: int, workers: int, threads: int) -> list[str]:
    return [
        sys.executable,
        "-m",
        "gunicorn",
        "carevalue.web.wsgi:application",
        "--bind",
        f"{host}:{port}",
        "--workers",
        str(workers),
        "--threads",
        str(threads),
        "--worker-class",
        "gthread",
        # Browsers pause between pages: gunicorn's 2 s keep-alive closed connections under a
        # user's next request (1 in 611 requests failed in the load benchmark); 10 s did not.
        "--keep-alive",
        "10",
        # Import Django, the pages and their libraries once, before the workers fork, so a
        # worker's first request does not pay seconds of imports.
        "--preload",
        "--access-logfile",
        "-",
        # access lines carry the path only, never a query string (filters are not patient
        # data, but logs stay minimal)
        "--access-logformat",
        '%(h)s "%(m)s %(U)s" %(s)s %(b)s %(M)sms',
    ]


def run_gunicorn(host: str, port: int, workers: int, threads: int) -> int:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": SETTINGS}
    process = subprocess.Popen(gunicorn_command(host, port, workers, threads), env=env)
    try:
        return process.wait()
    except KeyboardInterrupt:
        process.terminate()
        process.wait(timeout=30)
        return 0
