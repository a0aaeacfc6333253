"""``carevalue run``: build every stage that exists into a new, immutable run.

A run writes its tables under its own names (``episodes__<run_id>``…), records itself in
``runs`` and only then points the plain names (``episodes``…) at them, all in one
transaction where the engine has them. A failed or killed run therefore leaves the
previous run serving. The last ``KEEP_RUNS`` runs are kept; older ones are dropped.
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime

import ibis
import pandas as pd
from ibis.backends import BaseBackend

from carevalue.errors import UserError
from carevalue.packs.model import ConditionPack
from carevalue.pathways.build_episodes import (
    FEEDS_NEEDED,
    build_episodes,
    data_span,
    prepare_tables,
)
from carevalue.sources.merge_feed import align_columns, union_schema
from carevalue.warehouse import atomic, replace_table, scratch_table, table_or_none

RUNS_TABLE = "runs"
RESULT_TABLES = ("episodes", "episode_activities")
KEEP_RUNS = 3


@dataclass
class RunReport:
    run_id: str
    episodes: dict[str, int] = field(default_factory=dict)
    stages: dict[str, dict[str, int]] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)


def run_pipeline(con: BaseBackend, packs: list[ConditionPack]) -> RunReport:
    missing = [name for name in FEEDS_NEEDED if name not in con.list_tables()]
    if missing:
        raise UserError(
            f"The warehouse has no {missing[0]} table yet; load an extract first with "
            "'carevalue ingest FOLDER' (or run 'carevalue demo')."
        )
    if not packs:
        raise UserError("No condition packs to run; check the conditions folder with 'carevalue validate'.")
    run_id = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ_") + uuid.uuid4().hex[:6]
    report = RunReport(run_id=run_id)
    tables = {name: con.table(name) for name in FEEDS_NEEDED}
    span = data_span(tables)
    tables = prepare_tables(con, tables)
    started = datetime.now(UTC).replace(tzinfo=None)

    built: dict[str, list[ibis.Table]] = {name: [] for name in RESULT_TABLES}
    for pack in packs:
        clock = time.perf_counter()
        episodes, activities = build_episodes(con, tables, pack, span)
        episodes = scratch_table(con, f"_carevalue_{pack.id}_episodes", episodes)
        activities = scratch_table(con, f"_carevalue_{pack.id}_activities", activities)
        built["episodes"].append(episodes)
        built["episode_activities"].append(activities)
        report.episodes[pack.id] = int(episodes.count().execute())
        counts = activities.group_by("stage").aggregate(n=activities.count()).execute()
        order = [s.id for s in pack.stages] + ["other"]
        found = dict(zip(counts["stage"], counts["n"], strict=True))
        report.stages[pack.id] = {stage: int(found.get(stage, 0)) for stage in order}
        report.seconds[pack.id] = round(time.perf_counter() - clock, 2)

    with atomic(con):
        for name, parts in built.items():
            schema = union_schema(*[p.schema() for p in parts])
            combined = ibis.union(*[align_columns(p, schema) for p in parts])
            con.create_table(f"{name}__{run_id}", combined, overwrite=True)
        _record_run(con, run_id, started, packs, span, report)
        for name in RESULT_TABLES:
            con.create_view(name, con.table(f"{name}__{run_id}"), overwrite=True)
    _drop_old_runs(con)
    return report


def _record_run(con, run_id, started, packs, span, report: RunReport) -> None:
    row = pd.DataFrame(
        [
            {
                "run_id": run_id,
                "started_at": started,
                "finished_at": datetime.now(UTC).replace(tzinfo=None),
                "packs": json.dumps({p.id: p.governance.version for p in packs}),
                "data_first_date": str(span.first),
                "data_last_date": str(span.last),
                "episodes": json.dumps(report.episodes),
                "seconds": json.dumps(report.seconds),
            }
        ]
    )
    new = ibis.memtable(row)
    existing = table_or_none(con, RUNS_TABLE)
    if existing is not None:
        new = existing.union(align_columns(new, existing.schema()))
    replace_table(con, RUNS_TABLE, new)


def current_run_id(con: BaseBackend) -> str | None:
    runs = table_or_none(con, RUNS_TABLE)
    if runs is None:
        return None
    latest = runs.order_by(ibis.desc("finished_at")).limit(1).execute()
    return None if latest.empty else str(latest["run_id"][0])


def _drop_old_runs(con: BaseBackend) -> None:
    runs = con.table(RUNS_TABLE).order_by(ibis.desc("finished_at")).execute()["run_id"].tolist()
    for old in runs[KEEP_RUNS:]:
        for name in RESULT_TABLES:
            if f"{name}__{old}" in con.list_tables():
                con.drop_table(f"{name}__{old}")
