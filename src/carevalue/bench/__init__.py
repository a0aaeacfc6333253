"""Benchmarks, kept apart from the stages they measure (``make bench``; docs/benchmarks.md).

- ``pipeline``: generate, ingest, episodes and PLICS costing at each size, each step in a
  child process, beside its baseline (``python -m carevalue.bench``);
- ``episodes_sql_baseline``, ``costing_sql_baseline``: the hand-written DuckDB SQL those
  steps are compared with;
- ``outcomes``: a whole costed run, each stage timed (``python -m carevalue.bench.outcomes``);
- ``stats``: SPC and funnel statistics against numpy/scipy floors
  (``python -m carevalue.bench.stats``).

Results go to ``bench/results/*.json`` under the folder the benchmark is started in.
"""
