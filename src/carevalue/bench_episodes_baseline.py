"""The benchmark baseline for episode building: the stroke episode table written by hand
in DuckDB SQL, the way an analyst without CareValue would write it.

Benchmark code, not pipeline code: it exists to measure what the engine-agnostic Ibis
builder costs over direct SQL on the same engine (docs/benchmarks.md). It produces the
same rows as ``build_episodes`` for the stroke pack's core columns, which the benchmark
checks before it reports a time.
"""

from __future__ import annotations

import duckdb

from carevalue.packs.model import ConditionPack


def _quoted(codes) -> str:
    return ", ".join(f"'{c}'" for c in sorted(codes))


def stroke_episodes_sql(con: duckdb.DuckDBPyConnection, pack: ConditionPack) -> duckdb.DuckDBPyRelation:
    stroke_codes = set()
    for rule in pack.cohort.inclusion:
        stroke_codes |= pack.codelist(rule.codelist).normalised_codes("ICD10")
    excluded = pack.codelist(pack.cohort.exclusions[0].codelist).normalised_codes("ICD10")
    norm = "replace(upper(trim(code)), '.', '')"
    con.execute(f"""
        create or replace temp table q as
        select e.patient_id, e.encounter_id, e.start_at as event_at, cast(e.start_at as date) as event_date,
               date_diff('year', p.birth_date, cast(e.start_at as date))
                 - case when strftime(cast(e.start_at as date), '%m%d') < strftime(p.birth_date, '%m%d') then 1 else 0 end as age
        from encounters e join patients p using (patient_id)
        where e.setting = 'inpatient' and e.admission_method in ('emergency', 'transfer')
          and e.encounter_id in (
            select encounter_id from diagnoses
            where code_system = 'ICD10' and position = 1
              and (case when length({norm}) = 4 and {norm} like '%X' then left({norm}, 3) else {norm} end)
                  in ({_quoted(stroke_codes)}))
    """)
    con.execute(f"""
        create or replace temp table q2 as
        select q.*,
          age >= {pack.cohort.age.min_years}
          and not exists (
            select 1 from diagnoses d join encounters x using (encounter_id)
            where d.patient_id = q.patient_id and d.code_system = 'ICD10'
              and ({" or ".join(f"{norm} like '{c}%'" for c in sorted(excluded))})
              and cast(x.start_at as date) = q.event_date) as eligible,
          not exists (
            select 1 from q as earlier
            where earlier.patient_id = q.patient_id
              and (earlier.event_at < q.event_at or (earlier.event_at = q.event_at and earlier.encounter_id < q.encounter_id))
              and earlier.event_date >= q.event_date - {pack.cohort.lookback_days}) as incident
        from q
    """)
    start, end = pack.care_cycle.start.offset_days, pack.care_cycle.end.offset_days
    con.execute("""
        create or replace temp table cycles as
        select patient_id, arg_min(encounter_id, (event_at, encounter_id)) as encounter_id,
               min(event_date) as event_date, 1 as n
        from q2 where eligible and incident group by patient_id
    """)
    n = 1
    while True:
        added = con.execute(f"""
            insert into cycles
            select q2.patient_id, arg_min(q2.encounter_id, (q2.event_at, q2.encounter_id)),
                   min(q2.event_date), {n + 1}
            from q2 join cycles c on c.patient_id = q2.patient_id and c.n = {n}
            where q2.eligible and q2.event_date > c.event_date + {end}
            group by q2.patient_id
        """).fetchone()[0]
        if not added:
            break
        n += 1
    return con.sql(f"""
        select patient_id, encounter_id as index_encounter_id, event_date as index_date,
               event_date + {start} as cycle_start, event_date + {end} as cycle_end, n as cycle_number
        from cycles
    """)
