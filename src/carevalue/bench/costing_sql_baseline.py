"""The benchmark baseline for top-down costing (PLICS): the ledger spread over activities
written by hand in DuckDB SQL, the way a costing analyst without CareValue would write it.

Benchmark code, not pipeline code: it exists to measure what the engine-agnostic Ibis
allocation (``carevalue.costing.plics``) costs over direct SQL on the same engine
(docs/benchmarks.md). The rules file is turned into SQL text (VALUES lists and IN lists),
and the query follows docs/costing.md step by step: ledger lines in whole pennies, lines to
pools and overheads, overheads to departments by their driver and then to each department's
pools pro rata to direct cost, pools to activities by the activity driver, every split by
the largest-remainder method with ties to the smaller department, pool or activity_id. It
gives the same pennies per activity as ``allocate_ledger_to_activities(...).activity_costs``,
which the benchmark checks before it reports a time.
"""

from __future__ import annotations

import duckdb

from carevalue.costing.plics_rules import CostingRules, LedgerLines

DRIVER_SCALE = 10_000  # drivers in 1/10,000 of their unit, as in docs/costing.md


def _q(value: str) -> str:
    return "'" + str(value).replace("'", "''") + "'"


def _in(values) -> str:
    return ", ".join(_q(v) for v in values)


def _takes(lines: LedgerLines) -> str:
    sql = f"cost_centre in ({_in(lines.cost_centres)})"
    if lines.expense_codes is not None:
        sql += f" and expense_code in ({_in(lines.expense_codes)})"
    return f"({sql})"


def _values(rows: list[tuple], columns: str, types: tuple[str, ...]) -> str:
    """A VALUES list as a subquery; an empty list gives an empty table of the right types."""
    if not rows:
        nulls = ", ".join(
            f"cast(null as {t}) as {c.strip()}" for t, c in zip(types, columns.split(","))
        )
        return f"(select {nulls} where false)"
    body = ",\n          ".join(
        "(" + ", ".join(_q(v) if t == "varchar" else repr(v) for v, t in zip(row, types)) + ")"
        for row in rows
    )
    return f"(select * from (values {body}) as v({columns}))"


# The activity driver of each kind, in the driver's own unit (docs/costing.md).
_DRIVER_SQL = {
    "bed_days": "quantity",
    "critical_care_level_days": "quantity * coalesce(level_weight, 0)",
    "theatre_staff_minutes": "minutes * staff_present",
    "relative_weight_units": "relative_weight * (case when quantity > 0 then quantity else 1 end)",
    "issue_value": "issue_value",
    "attendances": "1.0",
    "contact_minutes": "minutes",
}


def _split(source: str, *, by: str, tie_break: str) -> str:
    """Largest-remainder split of ``pennies`` over rows by ``weight`` within each ``by``
    group: floor shares first, then one penny each to the largest remainders."""
    return f"""
        select *,
          sign_ * (floor_ + case when row_number() over (
                partition by {by} order by remainder_ desc, {tie_break})
                <= size_ - sum(floor_) over (partition by {by})
              then 1 else 0 end) as share
        from (
          select *, (size_ * weight - remainder_) // total_ as floor_
          from (
            select *, (size_ * weight) % total_ as remainder_
            from (
              select *, sum(weight) over (partition by {by}) as total_,
                     case when pennies < 0 then -1 else 1 end as sign_, abs(pennies) as size_
              from {source})))"""


def plics_sql_baseline(
    con: duckdb.DuckDBPyConnection, rules: CostingRules
) -> duckdb.DuckDBPyRelation:
    """Per-activity costs from the ``ledger`` and ``activities`` tables: activity_id,
    patient_id, period, pool, department, resource, cost_centre, expense_code, amount."""
    targets = [f"when {_takes(o.ledger)} then 'overhead'" for o in rules.overheads] + [
        f"when {_takes(p.ledger)} then 'pool'" for p in rules.pools
    ]
    target_ids = [f"when {_takes(o.ledger)} then {_q(o.id)}" for o in rules.overheads] + [
        f"when {_takes(p.ledger)} then {_q(p.id)}" for p in rules.pools
    ]
    pools = _values(
        [(p.id, p.department, p.resource) for p in rules.pools],
        "pool, department, resource",
        ("varchar", "varchar", "varchar"),
    )
    overhead_weights = _values(
        [
            (o.id, d.name, round(d.overhead_drivers.get(o.driver, 0) * DRIVER_SCALE))
            for o in rules.overheads
            for d in rules.departments
            if round(d.overhead_drivers.get(o.driver, 0) * DRIVER_SCALE) > 0
        ],
        "overhead, department, weight",
        ("varchar", "varchar", "bigint"),
    )
    matches = _values(
        sorted(
            {
                (p.id, centre, kind, p.driver)
                for p in rules.pools
                for centre in p.activities.cost_centres
                for kind in p.activities.activity_types
            }
        ),
        "pool, cost_centre, activity_type, driver",
        ("varchar", "varchar", "varchar", "varchar"),
    )
    code_weights = _values(
        [(p.id, c, float(w)) for p in rules.pools for c, w in p.code_weights.items()],
        "pool, code, code_weight",
        ("varchar", "varchar", "double"),
    )
    level_weights = _values(
        [(p.id, int(lv), float(w)) for p in rules.pools for lv, w in p.level_weights.items()],
        "pool, level, level_weight",
        ("varchar", "bigint", "double"),
    )
    driver_case = (
        "case driver "
        + " ".join(f"when {_q(kind)} then {sql}" for kind, sql in _DRIVER_SQL.items())
        + " else 0.0 end"
    )
    excluded = _in(rules.quantum.excluded_expense_types)

    def extra(name: str) -> str:
        return f"coalesce(try_cast({name} as double), 0)"

    activity_columns = {
        c for (c,) in con.execute("select column_name from (describe activities)").fetchall()
    }
    extras = {
        name: (extra(name) if name in activity_columns else "0.0")
        for name in ("staff_present", "relative_weight", "issue_value", "care_level")
    }

    return con.sql(f"""
    with
    lines as (
      select period, cost_centre, expense_code,
             cast(round(amount * 100) as bigint) as pennies,
             case when expense_type in ({excluded}) then 'excluded' {
        " ".join(targets)
    } else 'unmapped' end as treatment,
             case when expense_type in ({excluded}) then expense_type {
        " ".join(target_ids)
    } end as target
      from ledger),
    direct as (
      select l.period, l.target as pool, p.department, p.resource, l.cost_centre, l.expense_code,
             l.pennies
      from lines l join {pools} p on p.pool = l.target
      where l.treatment = 'pool'),
    pool_direct as (
      select period, department, pool, resource, greatest(sum(pennies), 0) as weight
      from direct group by all),
    department_direct as (
      select period, department, sum(weight) as total from pool_direct group by all),
    overhead_to_departments as (
      {
        _split(
            f'''(select l.period, l.cost_centre, l.expense_code, l.pennies, w.overhead,
                     w.department, w.weight
                   from lines l join {overhead_weights} w on w.overhead = l.target
                   where l.treatment = 'overhead')''',
            by="period, cost_centre, expense_code",
            tie_break="department",
        )
    }),
    overhead_to_pools as (
      {
        _split(
            '''(select d.period, d.department, d.cost_centre, d.expense_code, d.share as pennies,
                         pd.pool, pd.resource, pd.weight
                  from overhead_to_departments d
                  join department_direct dd on dd.period = d.period and dd.department = d.department
                  join pool_direct pd on pd.period = d.period and pd.department = d.department
                  where dd.total > 0)''',
            by="period, department, cost_centre, expense_code",
            tie_break="pool",
        )
    }),
    components as (
      select period, pool, department, resource, cost_centre, expense_code, pennies from direct
      union all
      select period, pool, department, resource, cost_centre, expense_code, share
      from overhead_to_pools),
    acts as (
      select a.activity_id, a.patient_id, strftime(a.start_at, '%Y-%m') as period, m.pool, m.driver,
             a.code,
             coalesce(cast(a.quantity as double), 0) as quantity,
             coalesce(cast(a.minutes as double), 0) as minutes,
             {extras["staff_present"]} as staff_present,
             {extras["relative_weight"]} as relative_weight,
             {extras["issue_value"]} as issue_value,
             cast(round({extras["care_level"]}) as bigint) as level
      from activities a
      join {matches} m on m.cost_centre = a.cost_centre and m.activity_type = a.activity_type),
    drivers as (
      select a.activity_id, a.patient_id, a.period, a.pool,
             greatest(coalesce(cast(round(({driver_case}) * coalesce(cw.code_weight, 1) * {
        DRIVER_SCALE
    }) as bigint), 0), 0) as units
      from acts a
      left join {code_weights} cw on cw.pool = a.pool and cw.code = a.code
      left join {level_weights} lw on lw.pool = a.pool and lw.level = a.level),
    driver_totals as (
      select period, pool, count(*) as activities, sum(units) as units from drivers group by all),
    spread as (
      {
        _split(
            '''(select c.*, d.activity_id, d.patient_id, d.units as weight
                  from components c
                  join driver_totals t on t.period = c.period and t.pool = c.pool
                  join drivers d on d.period = c.period and d.pool = c.pool
                  where t.activities > 0 and t.units > 0)''',
            by="period, pool, cost_centre, expense_code",
            tie_break="activity_id",
        )
    })
    select activity_id, patient_id, period, pool, department, resource, cost_centre, expense_code,
           cast(share / 100 as decimal(18, 2)) as amount
    from spread
    where share <> 0
    """)
