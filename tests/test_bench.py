"""The benchmarks (carevalue.bench): they live in one subpackage, start as documented, and
measure what they say on a small trust (the full sizes run only in ``make bench``)."""

import importlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

import carevalue
from carevalue.bench import outcomes as bench_outcomes
from carevalue.bench import pipeline as bench

BENCH_MODULES = ["pipeline", "episodes_sql_baseline", "costing_sql_baseline", "outcomes", "stats"]


def test_the_package_root_holds_no_benchmark_code():
    root = Path(carevalue.__file__).parent
    assert sorted(p.name for p in root.glob("bench*.py")) == []
    for name in BENCH_MODULES:
        assert importlib.import_module(f"carevalue.bench.{name}").__doc__, name


@pytest.mark.parametrize(
    "module", ["carevalue.bench", "carevalue.bench.outcomes", "carevalue.bench.stats"]
)
def test_each_benchmark_starts_as_the_makefile_calls_it(module):
    result = subprocess.run(
        [sys.executable, "-m", module, "--help"], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    assert f"python -m {module}" in result.stdout


@pytest.mark.slow
def test_bench_measures_every_step_on_a_small_trust(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    bench.main(["--sizes", "1500", "--repeat", "1"])  # one run of each step: a smoke test
    result = json.loads((tmp_path / "bench/results/generate_ingest_1500.json").read_text())
    for step in ("generate", "baseline_read", "ingest"):
        assert result[step]["rows"] > 500
        assert result[step]["peak_mib"] > 0
    # The baseline reads exactly the rows that ingest reads.
    assert result["baseline_read"]["rows"] == result["ingest"]["rows"]
    # The hand-written SQL baseline and CareValue build the same stroke episodes.
    assert result["episodes_stroke"]["rows"] > 0
    assert result["episodes_stroke_matches_baseline"] is True
    assert result["run"]["episodes"]["stroke"] == result["episodes_stroke"]["rows"]
    # The hand-written SQL baseline and CareValue give every activity the same pennies.
    for step in ("costing_plics", "costing_plics_sql_baseline"):
        assert result[step]["rows"] > 0
        assert result[step]["activities_costed"] > 0
        assert result[step]["peak_mib"] > 0
    assert result["costing_plics"]["rows"] == result["costing_plics_sql_baseline"]["rows"]
    assert result["costing_matches_baseline"] is True
    assert result["costing_time_ratio"] > 0


@pytest.mark.slow
def test_outcomes_bench_times_every_stage_against_the_episode_baseline(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    bench_outcomes.main(["1500"])
    result = json.loads((tmp_path / "bench/results/outcomes_1500.json").read_text())
    assert set(result["stage_seconds"]) >= {"stroke", "costing", "outcomes", "charts"}
    assert result["baseline_episodes_seconds"] > 0
    assert result["episode_outcome_rows"] > result["episodes"]["stroke"]
    assert result["metric_series_rows"] > 0
    assert result["outcomes_over_episodes"] > 0
