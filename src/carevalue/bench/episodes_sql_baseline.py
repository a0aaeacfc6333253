"""The benchmark baseline for episode building: the stroke episode table written by hand
in DuckDB SQL, the way an analyst without CareValue would write it.

Benchmark code, not pipeline code: it exists to measure what the engine-agnostic Ibis
builder costs over direct SQL on the same engine (docs/benchmarks.md). It produces the
same table as ``episode_core`` for the stroke pack, every column of it (episode ids,
index event, cycle, flags, the index encounter's and the patient's fields and the
segments; case mix is added after, on both sides), which the benchmark checks value by
value before it reports a time.
"""

from __future__ import annotations

import duckdb

from carevalue.packs.model import ConditionPack
from carevalue.pathways.build_episodes import EPISODE_CORE_COLUMNS
from carevalue.pathways.segments import AGE_BANDS, ETHNIC_GROUPS, OLDEST_BAND

# The columns both sides return, and the benchmark fetches, from each: the whole table.
BASELINE_COLUMNS = EPISODE_CORE_COLUMNS


def _quoted(codes) -> str:
    return ", ".join(f"'{c}'" for c in sorted(codes))


def stroke_episodes_sql(
    con: duckdb.DuckDBPyConnection, pack: ConditionPack
) -> duckdb.DuckDBPyRelation:
    # Every code system the inclusion lists use (ICD-10 and SNOMED CT), each compared
    # after its own normalisation, as the pack defines the cohort.
    included: dict[str, set[str]] = {}
    for rule in pack.cohort.inclusion:
        codelist = pack.codelist(rule.codelist)
        for system in codelist.systems:
            included.setdefault(system, set()).update(codelist.normalised_codes(system))
    assert set(included) <= {"ICD10", "SNOMED"}, (
        "the baseline is written for ICD-10 and SNOMED CT codes"
    )
    excluded = pack.codelist(pack.cohort.exclusions[0].codelist).normalised_codes("ICD10")
    norm = "replace(upper(trim(code)), '.', '')"
    con.execute(f"""
        create or replace temp table q as
        select e.patient_id, e.encounter_id, e.start_at as event_at,
               cast(e.start_at as date) as event_date,
               date_diff('year', p.birth_date, cast(e.start_at as date))
                 - case when strftime(cast(e.start_at as date), '%m%d')
                             < strftime(p.birth_date, '%m%d')
                        then 1 else 0 end as age
        from encounters e join patients p using (patient_id)
        where e.setting = 'inpatient' and e.admission_method in ('emergency', 'transfer')
          and e.encounter_id in (
            select encounter_id from diagnoses
            where position = 1 and (
              (code_system = 'ICD10'
               and (case when length({norm}) = 4 and {norm} like '%X' then left({norm}, 3)
                         else {norm} end)
                   in ({_quoted(included.get("ICD10", {"-"}))}))
              or (code_system = 'SNOMED'
                  and trim(code) in ({_quoted(included.get("SNOMED", {"-"}))}))))
    """)
    # The days on which a patient has an exclusion code, found first: written as one
    # correlated NOT EXISTS over diagnoses joined to encounters, DuckDB sometimes plans
    # the encounters-by-date join first (890,000 rows at 100k patients) and the statement
    # takes twice as long, depending on the warehouse's statistics.
    con.execute(f"""
        create or replace temp table excluded_days as
        select distinct d.patient_id, cast(x.start_at as date) as day
        from diagnoses d join encounters x using (encounter_id)
        where d.code_system = 'ICD10'
          and ({" or ".join(f"{norm} like '{c}%'" for c in sorted(excluded))})
    """)
    con.execute(f"""
        create or replace temp table q2 as
        select q.*,
          age >= {pack.cohort.age.min_years}
          and not exists (
            select 1 from excluded_days x
            where x.patient_id = q.patient_id and x.day = q.event_date) as eligible,
          not exists (
            select 1 from q as earlier
            where earlier.patient_id = q.patient_id
              and (earlier.event_at < q.event_at
                   or (earlier.event_at = q.event_at and earlier.encounter_id < q.encounter_id))
              and earlier.event_date >= q.event_date - {pack.cohort.lookback_days}) as incident
        from q
    """)
    start, end = pack.care_cycle.start.offset_days, pack.care_cycle.end.offset_days
    gap = pack.cohort.new_episode_after_days
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
            where q2.eligible and q2.event_date > c.event_date + {end + gap}
            group by q2.patient_id
        """).fetchone()[0]
        if not added:
            break
        n += 1
    age_band = " ".join(
        f"when f.age between {low} and {high} then '{label}'" for low, high, label in AGE_BANDS
    )
    ethnic_group = " ".join(
        f"when p.ethnicity in ({_quoted(codes)}) then '{group}'"
        for group, codes in ETHNIC_GROUPS.items()
    )
    return con.sql(f"""
        with span as (
          select min(start_at)::date as first, max(start_at)::date as last from encounters),
        found as (
          select c.*, q.event_at, q.age,
                 case when month(c.event_date) >= 4 then year(c.event_date)
                      else year(c.event_date) - 1 end as fy
          from cycles c join q using (encounter_id))
        select '{pack.id}-'
                 || left(sha256('{pack.id}|' || f.patient_id || '|' || f.encounter_id), 16)
                 as episode_id,
               '{pack.id}' as condition, '{pack.governance.version}' as pack_version,
               f.patient_id, f.n as cycle_number, f.encounter_id as index_encounter_id,
               f.event_at as index_at, f.event_date as index_date,
               f.event_date + {start} as cycle_start, f.event_date + {end} as cycle_end,
               null::timestamp as cycle_end_event_at,
               f.event_date + {end} <= span.last as cycle_complete,
               f.n = 1 and f.event_date - {pack.cohort.lookback_days} < span.first
                 as lookback_incomplete,
               f.age, e.setting as index_setting, e.admission_method, e.site, e.specialty as team,
               e.end_at as index_end_at, p.sex, p.imd_decile, p.ethnicity, p.death_date,
               case {age_band} else '{OLDEST_BAND}' end as age_band,
               case {ethnic_group} else 'Not known' end as ethnic_group,
               strftime(f.event_date, '%Y-%m') as admission_month,
               year(f.event_date) || '-Q' || quarter(f.event_date) as admission_quarter,
               f.fy || '/' || lpad(((f.fy + 1) % 100)::varchar, 2, '0') as financial_year
        from found f, span
        join encounters e on e.encounter_id = f.encounter_id
        join patients p on p.patient_id = f.patient_id
    """)
