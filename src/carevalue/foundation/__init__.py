"""The lower room: the vocabulary every stage shares and none owns.

- ``code_matching``: normalised codes, code-list membership, diagnosis positions (Ibis);
- ``days``: day numbers from an anchor, ages, day windows (Ibis);
- ``tables``: schemas merged, tables aligned to a schema and stacked, the keyed left join;
- ``yaml_lines`` and ``file_errors``: YAML read with the line of every key, and the one
  file:line problem shape (condition packs, costing rules and TDABC models use both);
- ``frozen``: the frozen pydantic base of every declared model;
- ``run_context``: the run a stage works for (connection, run id, scratch-object names).

It imports no stage: stages import from it.
"""
