import json

import pytest

from carevalue import bench


@pytest.mark.slow
def test_bench_measures_every_step_on_a_small_trust(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    bench.main(["--sizes", "3000"])
    result = json.loads((tmp_path / "bench/results/generate_ingest_3000.json").read_text())
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
    from carevalue import bench_outcomes

    monkeypatch.chdir(tmp_path)
    bench_outcomes.main(["3000"])
    result = json.loads((tmp_path / "bench/results/outcomes_3000.json").read_text())
    assert set(result["stage_seconds"]) >= {"stroke", "costing", "outcomes", "charts"}
    assert result["baseline_episodes_seconds"] > 0
    assert result["episode_outcome_rows"] > result["episodes"]["stroke"]
    assert result["metric_series_rows"] > 0
    assert result["outcomes_over_episodes"] > 0
