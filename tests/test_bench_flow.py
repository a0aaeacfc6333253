"""The flow map benchmark (carevalue.bench.flow): its synthetic log has the shape it claims,
CareValue and pm4py are compared before anything is reported, and the JSON holds the
figures docs/benchmarks.md quotes. A tiny log only: the real sizes run in ``make bench``.
No test looks at a time."""

import copy
import json
import subprocess
import sys

import pytest

from carevalue.bench import flow

EVENTS = 2_000


@pytest.fixture(scope="module")
def small_run(tmp_path_factory):
    # In this process (the benchmark proper starts a fresh process per measurement).
    return flow.run([EVENTS], repeat=1, work=tmp_path_factory.mktemp("flow"), fresh_process=False)


def test_the_benchmark_starts_as_the_makefile_calls_it():
    result = subprocess.run(
        [sys.executable, "-m", "carevalue.bench.flow", "--help"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "python -m carevalue.bench.flow" in result.stdout


def test_the_log_is_seeded_and_shaped_like_a_pathway():
    log = flow.event_log(EVENTS)
    assert log.equals(flow.event_log(EVENTS))
    assert not log.equals(flow.event_log(EVENTS, seed=flow.SEED + 1))
    assert len(log) == EVENTS
    assert log[flow.ORDER].tolist() == list(range(EVENTS))
    assert log[flow.TIMESTAMP].is_monotonic_increasing  # written in time order
    lengths = log.groupby(flow.CASE).size()
    # Every case but the one cut to fit holds 10 to 20 events.
    assert (lengths.between(flow.MIN_LENGTH, flow.MAX_LENGTH)).sum() >= len(lengths) - 1
    assert 20 <= log[flow.ACTIVITY].nunique() <= 40
    # Ties inside a case, and repeats (a -> a) for the maps to find.
    assert log.duplicated([flow.CASE, flow.TIMESTAMP]).any()
    by_case = log.sort_values([flow.CASE, flow.ORDER])
    following = by_case.groupby(flow.CASE)[flow.ACTIVITY].shift(-1)
    assert (by_case[flow.ACTIVITY] == following).any()


def test_both_tools_agree_and_the_json_has_the_reported_figures(small_run):
    json.dumps(small_run)  # written as it is
    assert set(small_run) >= {"measured_at", "machine", "sizes", "timed"}
    assert small_run["machine"]["pm4py"]
    (size,) = small_run["sizes"]
    assert size["events"] == size["log"]["events"] == EVENTS
    assert size["all_agree"] is True
    assert size["transitions"] == size["log"]["transitions"] == EVENTS - size["log"]["cases"]
    assert size["edge_count"] > 0
    assert 0 < size["variant_count"] <= size["log"]["cases"]
    assert set(size["tools"]) == set(flow.TOOLS)
    for figures in size["tools"].values():
        assert set(figures) >= {"seconds", "runs_seconds", "steps_seconds", "peak_mib"}
        assert figures["seconds"] > 0
        assert figures["peak_mib"] > 0
        assert figures["speed_up_over_pm4py"] > 0
    assert size["tools"]["pm4py"]["speed_up_over_pm4py"] == 1
    assert "format_dataframe" in size["tools"]["pm4py"]["steps_seconds"]
    assert str(EVENTS) in flow.table(small_run).replace(",", "")


def test_a_disagreement_stops_the_benchmark(tmp_path):
    path, facts = flow.write_log(EVENTS, tmp_path)
    answers = {
        tool: flow.measure_here(tool, path)["answer"] for tool in ("pm4py", "carevalue_ibis")
    }
    assert flow.agreement(answers, facts)["all_agree"] is True
    for change in ("count", "wait", "variants", "starts"):
        wrong = copy.deepcopy(answers)
        mine = wrong["carevalue_ibis"]
        if change == "count":
            mine["edges"][0][2] += 1
        elif change == "wait":
            mine["edges"][0][4] += 1.0
        elif change == "variants":
            mine["variants_sha256"] = "0" * 64
        else:
            mine["start_activities"] = {}
        with pytest.raises(flow.Disagreement):
            flow.agreement(wrong, facts)


@pytest.mark.slow
def test_main_measures_each_tool_in_a_fresh_process_and_writes_the_json(tmp_path):
    out = tmp_path / "flow.json"
    flow.main([str(EVENTS), "--repeat", "1", "--out", str(out), "--work", str(tmp_path)])
    (size,) = json.loads(out.read_text())["sizes"]
    assert size["all_agree"] is True
    # Each process measured only itself: its memory after the imports is below its peak.
    for figures in size["tools"].values():
        assert 0 < figures["rss_after_imports_mib"] <= figures["peak_mib"]
    assert not list(tmp_path.glob("*.parquet"))  # the log is not left behind
