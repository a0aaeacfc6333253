"""Care-cycle episodes: the packs' test patients on both engines, the rules one at a time
on small tables, and the synthetic trust, whose generator knows how many patients it put
on each pathway."""

from __future__ import annotations

import shutil
from datetime import date

import pandas as pd
import pytest
from conftest import TEST_KEY
from rich.console import Console

from carevalue.assurance import assure_pack, case_files, run_case
from carevalue.conditions import shipped_conditions
from carevalue.errors import UserError
from carevalue.foundation.run_context import RunContext
from carevalue.packs import load_pack, load_packs
from carevalue.pathways.build_episodes import (
    FEEDS_NEEDED,
    build_episodes,
    data_span,
    prepare_tables,
)
from carevalue.runs import current_run_id, run_pipeline
from carevalue.sources.ingest import ingest_extract
from carevalue.synthetic.generate_trust import generate_trust
from carevalue.warehouse import connect

CONDITIONS = shipped_conditions()
PACKS = {pack.id: pack for pack in load_packs(CONDITIONS)}
CASES = [(pack_id, f) for pack_id in sorted(PACKS) for f in case_files(CONDITIONS / pack_id)]


@pytest.mark.parametrize(("pack_id", "case"), CASES, ids=[f"{p}/{f.stem}" for p, f in CASES])
def test_pack_test_patients_on_every_engine(engine, pack_id, case):
    result = run_case(engine, PACKS[pack_id], case)
    assert result.failures == []


def test_every_pack_ships_test_patients_including_the_required_edge_cases():
    names = {f.stem for _, f in CASES}
    assert {
        "two_strokes_two_years_apart",
        "transferred_in",
        "reinfected_after_cure",
        "inclusion_decisions",
    } <= names
    for pack_id in PACKS:
        assert case_files(CONDITIONS / pack_id), pack_id


def test_a_wrong_expectation_is_reported_not_passed(tmp_path):
    folder = tmp_path / "stroke"
    shutil.copytree(CONDITIONS / "stroke", folder)
    case = folder / "tests" / "two_strokes_two_years_apart.yaml"
    case.write_text(
        case.read_text()
        .replace("S1-A4: acute", "S1-A4: rehabilitation")
        .replace("cycle_end: 2023-03-05", "cycle_end: 2023-03-06")
    )
    pack = load_pack(folder)
    result = next(
        r for r in assure_pack(connect("duckdb://:memory:"), pack, folder) if r.file == case
    )
    assert result.failures == [
        (
            "expected episode not built: patient S1, index encounter S1-IP2, "
            "cycle 2022-03-04 to 2023-03-06"
        ),
        (
            "unexpected episode built: patient S1, index encounter S1-IP2, "
            "cycle 2022-03-04 to 2023-03-05"
        ),
        "activity S1-A4: expected stage rehabilitation, got acute",
    ]


@pytest.fixture(scope="module")
def trust(tmp_path_factory):
    folder = tmp_path_factory.mktemp("trust")
    manifest = generate_trust(folder / "extract", 8_000, seed=5)
    con = connect(str(folder / "warehouse.duckdb"))
    ingest_extract(folder / "extract", con, key=TEST_KEY, console=Console(quiet=True))
    return manifest, con


def test_episode_counts_match_the_patients_the_generator_put_on_each_pathway(trust):
    manifest, con = trust
    report = run_pipeline(con, list(PACKS.values()))
    truth = manifest["cohort_patients"]
    assert report.episodes == {
        "stroke": truth["stroke"],
        "infective_endocarditis": truth["endocarditis"],
        "hepatitis_c": truth["hepatitis_c"],
    }
    episodes = con.table("episodes").execute()
    assert episodes.episode_id.is_unique
    assert set(episodes.condition) == set(PACKS)


def test_every_activity_in_a_cycle_has_exactly_one_stage_and_lies_inside_the_cycle(trust):
    _, con = trust
    run_pipeline(con, list(PACKS.values()))
    rows = con.table("episode_activities").execute()
    assert not rows.duplicated(["episode_id", "activity_id"]).any()
    episodes = con.table("episodes").execute().set_index("episode_id")
    joined = rows.join(episodes[["cycle_start", "cycle_end"]], on="episode_id")
    dates = pd.to_datetime(joined.start_at).dt.normalize()
    assert (dates >= pd.to_datetime(joined.cycle_start)).all()
    assert (dates <= pd.to_datetime(joined.cycle_end)).all()
    for pack_id, pack in PACKS.items():
        stages = set(rows[rows.condition == pack_id].stage)
        assert stages <= {s.id for s in pack.stages} | {"other"}
        # Most of a pathway's activity falls in its declared stages, not 'other'.
        share_other = (rows[rows.condition == pack_id].stage == "other").mean()
        assert share_other < 0.15, (pack_id, share_other)


def test_episode_ids_are_the_same_for_the_same_data(trust):
    _, con = trust
    tables = {name: con.table(name) for name in FEEDS_NEEDED}
    span = data_span(tables)
    ctx = RunContext(con, "test")
    tables = prepare_tables(ctx, tables)
    pack = PACKS["stroke"]
    first = build_episodes(ctx, tables, pack, span)[0].episode_id.execute()
    second = build_episodes(ctx, tables, pack, span)[0].episode_id.execute()
    assert sorted(first) == sorted(second)
    assert all(i.startswith("stroke-") and len(i) == len("stroke-") + 16 for i in first)


def test_segments_and_case_mix_are_filled(trust):
    _, con = trust
    run_pipeline(con, list(PACKS.values()))
    stroke = con.table("episodes").filter(lambda t: t.condition == "stroke").execute()
    assert set(stroke.site) <= {"North", "South"}
    assert stroke.age_band.notna().all() and stroke.financial_year.str.match(r"^\d{4}/\d{2}$").all()
    assert stroke.cm_nihss.between(0, 42).all()
    assert set(stroke.cm_stroke_type) <= {"ischaemic", "haemorrhagic", "unspecified", "unknown"}
    assert (stroke.cm_age == stroke.age).all()


def test_a_new_run_replaces_the_views_and_a_failed_run_leaves_them(trust, monkeypatch):
    _, con = trust
    first = run_pipeline(con, list(PACKS.values())).run_id
    assert current_run_id(con) == first
    count = con.table("episodes").count().execute()

    from carevalue import runs

    def broken(*args, **kwargs):
        raise RuntimeError("killed mid-run")

    monkeypatch.setattr(runs, "_record_run", broken)
    with pytest.raises(RuntimeError):
        run_pipeline(con, list(PACKS.values()))
    assert current_run_id(con) == first
    assert con.table("episodes").count().execute() == count
    # The killed run's tables were rolled back with it: only recorded runs have tables
    # (the runs table keeps the history of runs whose tables were pruned).
    recorded = {f"episodes__{run}" for run in con.table("runs").execute().run_id}
    assert {t for t in con.list_tables() if t.startswith("episodes__")} <= recorded


def test_run_without_loaded_data_is_a_plain_error():
    with pytest.raises(UserError, match="load an extract first"):
        run_pipeline(connect("duckdb://:memory:"), list(PACKS.values()))


# --- the shapes the episode builder uses for speed give the same answers -----------------


def _codelist(list_id: str, match: str, codes: list[tuple[str, str]]):
    from carevalue.packs.codelists import Code, CodeList, normalise_code

    return CodeList(
        list_id,
        match,
        tuple(
            Code(system, code, normalise_code(system, code), "", "", line)
            for line, (system, code) in enumerate(codes)
        ),
    )


def test_codelist_rows_keeps_exactly_the_rows_in_codelist_keeps_on_every_engine(engine):
    import ibis

    from carevalue.foundation.code_matching import codelist_rows, in_codelist, normalised_code

    recorded = [
        ("ICD10", "I63.9"),
        ("ICD10", " i639 "),
        ("ICD10", "I64X"),
        ("ICD10", "I64.x"),
        ("ICD10", "I64"),
        ("ICD10", "I6"),
        ("ICD10", "I64XX"),
        ("ICD10", "I60.1"),
        ("ICD10", "s06"),
        ("ICD10", "S0"),
        ("ICD10", "A09X"),
        ("ICD10", "A09"),
        ("ICD10", "K70.30"),
        ("ICD10", "K703X"),
        ("ICD10", None),
        (None, "I639"),
        ("SNOMED", " 422504002"),
        ("SNOMED", "422504002X"),
        ("OPCS4", "x83.3"),
        ("OPCS4", "X833X"),
        ("LOCAL", " fluclox "),
        ("NICIP", "chead"),
        ("READ", "I639"),
    ]
    lists = [
        _codelist(
            "exact",
            "exact",
            [
                ("ICD10", "I63.9"),
                ("ICD10", "I64X"),
                ("ICD10", "A09X"),
                ("SNOMED", "422504002"),
                ("OPCS4", "X83.3"),
                ("LOCAL", "FLUCLOX"),
                ("NICIP", "CHEAD"),
            ],
        ),
        _codelist("short_prefix", "prefix", [("ICD10", "I60"), ("ICD10", "S06"), ("OPCS4", "X8")]),
        _codelist("long_prefix", "prefix", [("ICD10", "K7030"), ("ICD10", "A09")]),
    ]
    table = engine.create_table(
        "recorded",
        ibis.memtable(
            pd.DataFrame(
                {
                    "row": range(len(recorded)),
                    "code_system": [s for s, _ in recorded],
                    "code": [c for _, c in recorded],
                }
            )
        ),
        overwrite=True,
    )
    table = table.mutate(code_norm=normalised_code(table.code_system, table.code))
    for chosen in ([lists[0]], [lists[1]], [lists[2]], lists):
        expected = table.filter(
            ibis.or_(*[in_codelist(table.code_system, table.code_norm, c) for c in chosen])
        )
        found = codelist_rows(table, chosen)
        assert sorted(found.row.execute()) == sorted(expected.row.execute()), [c.id for c in chosen]


def test_a_scratch_table_reads_back_with_the_schema_duckdb_describes():
    import ibis

    from carevalue.warehouse import scratch_table

    con = connect("duckdb://:memory:")
    rows = ibis.memtable(pd.DataFrame({"k": ["a", "b"], "n": [1, 2], "x": [0.5, None]}))
    expr = rows.mutate(
        at=ibis.null().cast("timestamp"),
        day=ibis.date(2020, 1, 1),
        flag=rows.n > 1,
        small=ibis.literal(1),
        money=rows.n.cast("decimal(18, 2)"),
    )
    table = scratch_table(con, "_scratch", expr)
    assert table.count().execute() == 2
    assert table.schema() == con.table("_scratch").schema()
    again = scratch_table(con, "_scratch", table.filter(table.n > 1))  # reads the table it replaces
    assert again.count().execute() == 1


def _random_stroke_feeds(seed: int, patients: int) -> dict[str, list[dict]]:
    """Emergency admissions at random times (some at exactly the same moment), most with a
    primary stroke code written one of three ways, some with a same-day subarachnoid or
    head-injury code, some while the patient was a child."""
    import random
    from datetime import datetime, timedelta

    rng = random.Random(seed)
    feeds: dict[str, list[dict]] = {"patients": [], "encounters": [], "diagnoses": []}
    first = datetime(2018, 1, 1)
    for p in range(patients):
        patient = f"P{p:03d}"
        born = datetime(1940, 1, 1) + timedelta(days=rng.randrange(70 * 365))
        feeds["patients"].append(
            {"patient_id": patient, "birth_date": born.date().isoformat(), "sex": "female"}
        )
        starts: list[datetime] = []
        for e in range(rng.randint(1, 6)):
            if starts and rng.random() < 0.2:
                start = rng.choice(starts)  # a tie: the encounter id decides the order
            else:
                start = first + timedelta(
                    days=rng.randrange(6 * 365), minutes=rng.randrange(24 * 60)
                )
            starts.append(start)
            encounter = f"{patient}-E{e}"
            feeds["encounters"].append(
                {
                    "encounter_id": encounter,
                    "patient_id": patient,
                    "setting": "inpatient",
                    "admission_method": rng.choice(
                        ["emergency", "emergency", "transfer", "elective"]
                    ),
                    "start_at": start,
                    "end_at": start + timedelta(days=3),
                    "site": "North",
                    "specialty": "Stroke Medicine",
                }
            )
            code = rng.choice(["I63.9", "I639", "I61.0", "J18.9"])
            feeds["diagnoses"].append(
                {
                    "encounter_id": encounter,
                    "patient_id": patient,
                    "code_system": "ICD10",
                    "code": code,
                    "position": 1,
                }
            )
            if rng.random() < 0.1:
                feeds["diagnoses"].append(
                    {
                        "encounter_id": encounter,
                        "patient_id": patient,
                        "code_system": "ICD10",
                        "code": rng.choice(["S06.5", "I60.9"]),
                        "position": 2,
                    }
                )
    # The look-back's edge: a first stroke that cannot start a cycle (a head injury coded
    # the same day), then another exactly 365 days later (still in the look-back) or 366.
    for patient, apart in (("B365", 365), ("B366", 366)):
        feeds["patients"].append({"patient_id": patient, "birth_date": "1950-01-01", "sex": "male"})
        for e, start in enumerate(
            (datetime(2019, 3, 1, 10), datetime(2019, 3, 1, 10) + timedelta(days=apart))
        ):
            encounter = f"{patient}-E{e}"
            feeds["encounters"].append(
                {
                    "encounter_id": encounter,
                    "patient_id": patient,
                    "setting": "inpatient",
                    "admission_method": "emergency",
                    "start_at": start,
                    "end_at": start + timedelta(days=3),
                }
            )
            feeds["diagnoses"].append(
                {
                    "encounter_id": encounter,
                    "patient_id": patient,
                    "code_system": "ICD10",
                    "code": "I63.9",
                    "position": 1,
                }
            )
        feeds["diagnoses"].append(
            {
                "encounter_id": f"{patient}-E0",
                "patient_id": patient,
                "code_system": "ICD10",
                "code": "S06.5",
                "position": 2,
            }
        )
    return feeds


def _stroke_cycles_by_hand(feeds: dict[str, list[dict]]) -> set[tuple]:
    """The stroke pack's cohort rules read plainly, one patient at a time: qualifying
    events, age at least 18, no subarachnoid or head-injury code on an admission the same
    day, no qualifying event in the 365 days before, then year-long cycles one after
    another (a new one from the first eligible event after the last cycle's end)."""
    from datetime import timedelta

    born = {p["patient_id"]: date.fromisoformat(p["birth_date"]) for p in feeds["patients"]}
    codes: dict[str, set[str]] = {}
    for d in feeds["diagnoses"]:
        codes.setdefault(d["encounter_id"], set()).add((d["code"].replace(".", ""), d["position"]))
    excluded_days = {
        (e["patient_id"], e["start_at"].date())
        for e in feeds["encounters"]
        if any(c.startswith(("S06", "I60")) for c, _ in codes.get(e["encounter_id"], ()))
    }
    events: dict[str, list[tuple]] = {}
    for e in feeds["encounters"]:
        stroke = any(
            pos == 1 and c in {"I639", "I610"} for c, pos in codes.get(e["encounter_id"], ())
        )
        if e["admission_method"] in ("emergency", "transfer") and stroke:
            events.setdefault(e["patient_id"], []).append((e["start_at"], e["encounter_id"]))
    cycles = set()
    for patient, found in events.items():
        found.sort()

        def eligible(at, patient=patient) -> bool:
            birth, day = born[patient], at.date()
            age = day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))
            return age >= 18 and (patient, day) not in excluded_days

        def incident(i, found=found) -> bool:
            return all(
                found[j][0].date() < found[i][0].date() - timedelta(days=365) for j in range(i)
            )

        starts = [i for i, (at, _) in enumerate(found) if eligible(at) and incident(i)]
        if not starts:
            continue
        number, i = 1, starts[0]
        while True:
            day = found[i][0].date()
            end = day + timedelta(days=365)
            cycles.add((patient, found[i][1], day - timedelta(days=1), end, number))
            later = [j for j, (at, _) in enumerate(found) if eligible(at) and at.date() > end]
            if not later:
                break
            number, i = number + 1, later[0]
    return cycles


def test_cycles_match_a_plain_reading_of_the_cohort_rules_on_random_patients(engine):
    """Look-back (ties at the same moment included), exclusions, age limits and cycles
    after cycles, on 150 random patients, against the rules read plainly in Python."""
    from carevalue.assurance.cases import _typed_rows
    from carevalue.pathways.build_episodes import DataSpan, episode_core

    feeds = _random_stroke_feeds(seed=3, patients=150)
    tables = {}
    for feed in FEEDS_NEEDED:
        typed, problems = _typed_rows(feed, feeds.get(feed, []))
        assert problems == []
        tables[feed] = engine.create_table(f"_random_{feed}", typed, overwrite=True)
    span = DataSpan(first=date(2018, 1, 1), last=date(2024, 12, 31))
    ctx = RunContext(engine, "test")
    core = episode_core(ctx, prepare_tables(ctx, tables), PACKS["stroke"], span)
    got = core.select(
        "patient_id", "index_encounter_id", "cycle_start", "cycle_end", "cycle_number"
    ).execute()
    built = {
        (
            r.patient_id,
            r.index_encounter_id,
            pd.Timestamp(r.cycle_start).date(),
            pd.Timestamp(r.cycle_end).date(),
            int(r.cycle_number),
        )
        for r in got.itertuples()
    }
    expected = _stroke_cycles_by_hand(feeds)
    assert (
        len(expected) > 100 and max(c[4] for c in expected) >= 3
    )  # recurrences and several rounds
    assert {c[0] for c in expected} & {"B365", "B366"} == {"B366"}
    assert built == expected
