import json

import pytest

from carevalue import bench


@pytest.mark.slow
def test_bench_measures_every_step_on_a_small_trust(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    bench.main(["--sizes", "500"])
    result = json.loads((tmp_path / "bench/results/generate_ingest_500.json").read_text())
    for step in ("generate", "baseline_read", "ingest"):
        assert result[step]["rows"] > 500
        assert result[step]["peak_mib"] > 0
    # The baseline reads exactly the rows that ingest reads.
    assert result["baseline_read"]["rows"] == result["ingest"]["rows"]
