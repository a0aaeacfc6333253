"""``carevalue assure``: run each pack's hand-written test patients and compare.

A test case is a YAML file in ``conditions/<id>/tests/``: a few rows of each feed, and
what the pack must make of them — the exact set of episodes (so a patient left out is an
inclusion decision too) and the stage of chosen activities (``outside`` for one that must
not be in any cycle). Cases run on an in-memory engine, each on its own tables.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

import ibis
import numpy as np
import pyarrow as pa
import yaml
from ibis.backends import BaseBackend

from carevalue.assurance.expected_outcomes import check_outcomes
from carevalue.errors import UserError
from carevalue.foundation.run_context import RunContext
from carevalue.packs.model import ConditionPack
from carevalue.pathways import FEEDS_NEEDED, DataSpan, build_episodes, prepare_tables
from carevalue.sources.feeds import FEEDS
from carevalue.sources.validate_rows import check_batch

OUTSIDE = "outside"


@dataclass
class CaseResult:
    file: Path
    name: str
    failures: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.failures


def case_files(pack_folder: Path) -> list[Path]:
    return sorted((pack_folder / "tests").glob("*.yaml"))


def run_case(con: BaseBackend, pack: ConditionPack, file: Path) -> CaseResult:
    case = yaml.safe_load(file.read_text(encoding="utf-8"))
    result = CaseResult(file=file, name=case.get("name", file.stem))
    tables = {}
    for feed in (*FEEDS_NEEDED, "prom_responses"):
        rows = case.get("feeds", {}).get(feed, [])
        typed, problems = _typed_rows(feed, rows)
        result.failures += [f"the test's own {feed} rows are invalid: {p}" for p in problems]
        tables[feed] = con.create_table(f"_assure_{pack.id}_{feed}", typed, overwrite=True)
    if result.failures:
        return result
    span = DataSpan(
        first=_date(case.get("data_from", "2015-01-01")),
        last=_date(case.get("data_to", "2030-12-31")),
    )
    ctx = RunContext(con, f"assure_{pack.id}")
    prepared = prepare_tables(
        ctx, {name: table for name, table in tables.items() if name in FEEDS_NEEDED}
    )
    prepared["prom_responses"] = tables["prom_responses"]
    episodes, activities = build_episodes(ctx, prepared, pack, span)
    got = episodes.select("patient_id", "index_encounter_id", "cycle_start", "cycle_end").execute()
    got_set = {
        (r.patient_id, r.index_encounter_id, str(_date(r.cycle_start)), str(_date(r.cycle_end)))
        for r in got.itertuples()
    }
    want = case.get("expect", {})
    want_set = {
        (e["patient_id"], e["index_encounter_id"], str(e["cycle_start"]), str(e["cycle_end"]))
        for e in want.get("episodes", [])
    }
    for missing in sorted(want_set - got_set):
        result.failures.append(f"expected episode not built: {_describe(missing)}")
    for extra in sorted(got_set - want_set):
        result.failures.append(f"unexpected episode built: {_describe(extra)}")
    staged = activities.select("activity_id", "stage").execute()
    stage_of = {}
    for r in staged.itertuples():
        stage_of.setdefault(r.activity_id, []).append(r.stage)
    for activity_id, expected in want.get("stages", {}).items():
        actual = stage_of.get(activity_id, [OUTSIDE])
        if actual != [expected]:
            result.failures.append(
                f"activity {activity_id}: expected stage {expected}, got {', '.join(actual)}"
            )
    result.failures += check_outcomes(
        ctx, prepared, pack, episodes, want.get("outcomes", {}), span.last
    )
    return result


def assure_pack(con: BaseBackend, pack: ConditionPack, pack_folder: Path) -> list[CaseResult]:
    files = case_files(pack_folder)
    if not files:
        raise UserError(
            f"{pack_folder / 'tests'} has no test patients; every pack ships some "
            "(see docs/condition-packs.md)."
        )
    return [run_case(con, pack, f) for f in files]


def _typed_rows(feed: str, rows: list[dict]) -> tuple[pa.Table, list[str]]:
    declared = FEEDS[feed]
    names = list(declared.column_names)
    for row in rows:
        names += [k for k in row if k not in names]
    text = {n: pa.array([_text(r.get(n)) for r in rows], pa.string()) for n in names}
    checked = check_batch(declared, pa.table(text), np.arange(2, 2 + len(rows)))
    good = checked.good.drop_columns(["_row", "_key"])
    if feed == "patients" and "nhs_number" in good.column_names:
        good = good.drop_columns(["nhs_number"])
    return good, [f"row {p.row}: {p.reason}" for p in checked.problems]


def _text(value) -> str | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%dT%H:%M:%S")
    return str(value)


def _date(value) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if hasattr(value, "date"):
        return value.date()
    return date.fromisoformat(str(value))


def _describe(episode: tuple) -> str:
    patient, encounter, start, end = episode
    return f"patient {patient}, index encounter {encounter}, cycle {start} to {end}"


def in_memory_engine() -> BaseBackend:
    return ibis.duckdb.connect()
