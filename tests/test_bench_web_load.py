"""The web load benchmark (carevalue.bench.web_load): it turns locust's stats CSV into the
figures it reports, and its scenario visits the pages it says it does. No locust run here:
the measurement itself runs in ``make bench``."""

import json
import subprocess
import sys

import pytest

from carevalue.bench import web_load

HEADER = (
    "Type,Name,Request Count,Failure Count,Median Response Time,Average Response Time,"
    "Min Response Time,Max Response Time,Average Content Size,Requests/s,Failures/s,"
    "50%,66%,75%,80%,90%,95%,98%,99%,99.9%,99.99%,100%"
)


def _row(method, name, requests, failures, per_second, p50, p95, p99):
    """One line of locust's stats CSV; the columns the summariser ignores are filled in."""
    percentiles = [p50, p50, p50, p50, p95, p95, p95, p99, p99, p99, p99]
    return ",".join(
        str(v)
        for v in [
            method,
            name,
            requests,
            failures,
            p50,
            p50,
            1,
            p99,
            1000,
            per_second,
            0.0,
            *percentiles,
        ]
    )


def _stats_csv(tmp_path, rows: list[str]):
    path = tmp_path / "locust_pages_stats.csv"
    path.write_text("\n".join([HEADER, *rows]) + "\n", encoding="utf-8")
    return path


def test_the_summariser_turns_locust_stats_into_the_figures(tmp_path):
    path = _stats_csv(
        tmp_path,
        [
            _row("GET", "/c/[condition]/overview/", 120, 0, 2.01, 41, 140, 260),
            _row("GET", "/c/[condition]/spc/?site=North", 118, 2, 1.97, 88, 210, 520),
            _row("GET", "/login/ (form)", 20, 0, 0.33, 9, 18, 20),
            _row("POST", "/login/ (sign in)", 20, 0, 0.33, 160, 240, 250),
            _row("", "Aggregated", 278, 2, 4.64, 50, 190, 420),
        ],
    )
    summary = web_load.summarise_stats_csv(path)

    assert summary["overall"] == {
        "requests": 278,
        "failures": 2,
        "median_ms": 50,
        "p95_ms": 190,
        "p99_ms": 420,
        "requests_per_second": 4.64,
    }
    spc = summary["per_request"]["/c/[condition]/spc/?site=North"]
    assert spc == {
        "requests": 118,
        "failures": 2,
        "median_ms": 88,
        "p95_ms": 210,
        "p99_ms": 520,
        "requests_per_second": 1.97,
    }
    # GET rows keep their path as name; other methods are named with the method.
    assert set(summary["per_request"]) == {
        "/c/[condition]/overview/",
        "/c/[condition]/spc/?site=North",
        "/login/ (form)",
        "POST /login/ (sign in)",
    }


def test_a_request_name_with_no_responses_has_no_percentiles(tmp_path):
    path = _stats_csv(
        tmp_path,
        [
            _row("GET", "/c/[condition]/cost/", 0, 0, 0.0, "N/A", "N/A", "N/A"),
            _row("", "Aggregated", 0, 0, 0.0, "N/A", "N/A", "N/A"),
        ],
    )
    summary = web_load.summarise_stats_csv(path)
    assert summary["per_request"]["/c/[condition]/cost/"]["p95_ms"] is None
    assert summary["overall"]["requests"] == 0


def test_a_csv_without_the_aggregated_row_is_refused(tmp_path):
    path = _stats_csv(tmp_path, [_row("GET", "/healthz", 10, 0, 1.0, 3, 5, 9)])
    with pytest.raises(ValueError, match="Aggregated"):
        web_load.summarise_stats_csv(path)


def test_the_scenario_browses_overview_spc_cost_and_value_of_each_condition():
    paths = web_load.page_paths(["stroke", "hepatitis_c"], "North")
    assert set(web_load.PAGES) >= {"overview", "spc", "cost", "value"}
    for condition in ("stroke", "hepatitis_c"):
        for page in ("overview", "spc", "cost", "value"):
            assert f"/c/{condition}/{page}/" in paths
            assert f"/c/{condition}/{page}/?site=North" in paths
    assert len(paths) == 2 * len(web_load.PAGES) * 2
    # Figures are gathered per page (and filter), across conditions.
    assert {web_load.request_name(p) for p in paths} == {
        f"/c/[condition]/{page}/{q}" for page in web_load.PAGES for q in ("", "?site=North")
    }


def test_every_scenario_page_is_a_page_of_the_web_app():
    from carevalue.web.pages import pages  # Django is set up by pytest-django

    assert set(web_load.PAGES) <= set(pages())


def test_the_locustfile_uses_the_same_page_list():
    # In a child process: importing locust patches the process with gevent.
    code = (
        "import json, carevalue.bench.locustfile_web as f; "
        "print(json.dumps([f.scenario_paths(), f.CareValueUser.__name__]))"
    )
    env = {
        "CAREVALUE_BENCH_CONDITIONS": "stroke,endocarditis",
        "CAREVALUE_BENCH_SITE": "North",
        "CAREVALUE_BENCH_TARGET": "pages",
        "PATH": "/usr/bin:/bin",
    }
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env=env,
        check=True,
        timeout=120,
    )
    paths, user_class = json.loads(out.stdout.strip().splitlines()[-1])
    assert paths == web_load.page_paths(["stroke", "endocarditis"], "North")
    assert user_class == "CareValueUser"


def test_the_login_form_token_is_found():
    html = (
        '<form method="post"><input type="hidden" name="csrfmiddlewaretoken" '
        'value="abc123XYZ"><input name="username"></form>'
    )
    assert web_load.CSRF_INPUT.search(html).group(1) == "abc123XYZ"


@pytest.mark.parametrize(
    "text, expected", [("1-3", "1-3"), ("0", "0"), ("none", "0"), ("2", "2-2")]
)
def test_think_time(text, expected):
    assert web_load.parse_think(text) == expected


def test_the_benchmark_starts_as_the_makefile_calls_it():
    result = subprocess.run(
        [sys.executable, "-m", "carevalue.bench.web_load", "--help"],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "python -m carevalue.bench.web_load" in result.stdout


def test_server_times_come_from_gunicorns_access_log(tmp_path):
    log = tmp_path / "gunicorn.log"
    before = '127.0.0.1 "GET /c/stroke/spc/" 200 384876 9000ms\n'
    log.write_text(
        before
        + "[2026-12-07 21:08:29 +0000] [9280] [INFO] Booting worker with pid: 9281\n"
        + "".join(f'127.0.0.1 "GET /c/stroke/spc/" 200 384876 {ms}ms\n' for ms in (100, 300, 200))
        + '127.0.0.1 "GET /healthz" 200 53 2ms\n'
        + '127.0.0.1 "POST /login/" 302 0 900ms\n'
    )
    times = web_load.server_times(log, start=len(before))
    assert times == {"/c/stroke/spc/": {"requests": 3, "median_ms": 200, "p95_ms": 300}}
