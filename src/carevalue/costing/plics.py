"""Top-down patient-level costing (PLICS): the general ledger spread over activities, to the
penny, following a costing-rules file (``carevalue.costing.plics_rules``; docs/costing.md).

Steps, per ledger month (the activities that started in that month):

1. cost quantum: every ledger line, marked in or out (excluded expense types such as
   education, research and income are reported, not costed);
2. each line in the quantum goes to one pool, to one overhead, or is reported unmapped;
3. each overhead line is apportioned to departments by its driver (floor area, WTE ...),
   then within a department to its pools pro rata to their direct cost;
4. each pool component (a ledger line, or an overhead line's share) is spread over the
   pool's activities by the pool's activity driver;
5. reconciliation: per pool, cost = allocated + unallocated (with the reason).

All money is whole pennies (int64) split by the largest-remainder method, so every split
adds up exactly on every engine; amounts are shown as decimal(18, 2). Every step is an Ibis
expression: nothing runs until a result is executed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal

import ibis
import ibis.expr.datatypes as dt

from carevalue.costing.plics_rules import CostingRules, LedgerLines

MONEY = dt.Decimal(18, 2)
DRIVER_SCALE = 10_000
"""Drivers are counted in 1/10,000 of their unit (bed days, minutes, £ ...), as integers."""

NO_ACTIVITY = "no activity in the period"
ZERO_DRIVER = "the period's activities all have a zero driver"
UNMAPPED = "no pool or overhead in the rules takes these ledger lines"
NO_DIRECT_COST = "the department has no direct cost in the period to carry its overhead share"
UNMAPPED_POOL = "(unmapped ledger lines)"


@dataclass(frozen=True)
class AllocationResult:
    """The three tables of one allocation (Ibis expressions, not yet run).

    ``quantum``: every ledger line with ``in_quantum`` and ``treatment`` (pool, overhead,
    excluded, unmapped) and ``target`` (the pool or overhead id, or the excluded type).
    ``activity_costs``: activity_id, patient_id, period, pool, department, resource,
    cost_centre and expense_code (the ledger line the pennies came from), amount.
    ``reconciliation``: per period and pool: direct_cost, overhead_cost, cost_in_pool,
    allocated, unallocated, unallocated_reason, difference (0.00 when all is accounted for).
    """

    quantum: ibis.Table
    activity_costs: ibis.Table
    reconciliation: ibis.Table


def allocate_ledger_to_activities(
    ledger: ibis.Table, activities: ibis.Table, rules: CostingRules
) -> AllocationResult:
    """Spread the ledger's cost quantum over activities as ``rules`` say."""
    lines = _classify_ledger_lines(ledger, rules)
    direct = lines.filter(lines.treatment == "pool").select(
        "period",
        pool=lines.target,
        cost_centre="cost_centre",
        expense_code="expense_code",
        pennies="pennies",
        source=ibis.literal("direct"),
    )
    direct = _with_department(direct, rules)
    overhead_to_pools, overhead_unapportioned = _apportion_overheads(lines, direct, rules)
    components = direct.union(overhead_to_pools)

    drivers = _activity_drivers(activities, rules)
    driver_totals = drivers.group_by(["period", "pool"]).aggregate(
        activities=drivers.count(), units=drivers.units.sum()
    )
    components = components.left_join(driver_totals, ["period", "pool"]).select(
        components,
        activities=ibis.coalesce(driver_totals.activities, 0),
        units=ibis.coalesce(driver_totals.units, 0),
    )
    components = components.mutate(
        unallocated_reason=ibis.cases(
            (components.activities == 0, NO_ACTIVITY),
            (components.units <= 0, ZERO_DRIVER),
            else_=ibis.null(str),
        )
    )
    activity_costs = _spread_over_activities(
        components.filter(components.unallocated_reason.isnull()), drivers
    )
    reconciliation = _reconciliation(components, activity_costs, overhead_unapportioned, lines)
    return AllocationResult(
        quantum=lines.mutate(amount=_money(lines.pennies)).drop("pennies"),
        activity_costs=activity_costs.mutate(amount=_money(activity_costs.pennies)).drop("pennies"),
        reconciliation=reconciliation,
    )


def reconcile(result: AllocationResult) -> list[str]:
    """Run the reconciliation; one plain sentence per problem, empty when every pool, and the
    total, add up to the penny."""
    # The reconciliation is small (pools x months), so it is read once and checked here.
    rec = result.reconciliation.execute().sort_values(["period", "pool"])
    problems = [
        f"Pool {row.pool} in {row.period} does not reconcile: cost in pool £{row.cost_in_pool}, "
        f"allocated £{row.allocated}, unallocated £{row.unallocated}; £{row.difference} is "
        "unaccounted for."
        for row in rec.itertuples()
        if _pounds(row.difference) != 0
    ]
    quantum, costs = result.quantum, result.activity_costs
    totals = (
        quantum.aggregate(in_quantum=quantum.amount.sum(where=quantum.in_quantum))
        .cross_join(costs.aggregate(allocated=costs.amount.sum()))
        .execute()
    )
    in_quantum = _pounds(totals.in_quantum.iloc[0])
    allocated = _pounds(totals.allocated.iloc[0])
    unallocated = sum((_pounds(v) for v in rec.unallocated), Decimal("0.00"))
    missing = in_quantum - allocated - unallocated
    if missing != 0:
        problems.append(
            f"The total does not reconcile: cost quantum £{in_quantum}, allocated £{allocated}, "
            f"unallocated £{unallocated}; £{missing} is unaccounted for."
        )
    return problems


# --- 1 and 2: the cost quantum and where each ledger line goes -------------------------------


def _classify_ledger_lines(ledger: ibis.Table, rules: CostingRules) -> ibis.Table:
    excluded = ledger.expense_type.isin(list(rules.quantum.excluded_expense_types))
    branches: list[tuple[ibis.Value, str]] = [(excluded, "excluded")]
    targets: list[tuple[ibis.Value, ibis.Value]] = [(excluded, ledger.expense_type)]
    for kind, owners in (("overhead", rules.overheads), ("pool", rules.pools)):
        for owner in owners:
            taken = _takes(ledger, owner.ledger)
            branches.append((taken, kind))
            targets.append((taken, ibis.literal(owner.id)))
    return ledger.select(
        "period",
        "cost_centre",
        "expense_code",
        "expense_type",
        # Ledger amounts are pounds and pence: held as whole pennies from here on.
        pennies=(ledger.amount * 100).round().cast("int64"),
        in_quantum=~excluded,
        treatment=ibis.cases(*branches, else_="unmapped"),
        target=ibis.cases(*targets, else_=ibis.null(str)),
    )


def _takes(ledger: ibis.Table, lines: LedgerLines) -> ibis.Value:
    taken = ledger.cost_centre.isin(list(lines.cost_centres))
    if lines.expense_codes is not None:
        taken &= ledger.expense_code.isin(list(lines.expense_codes))
    return taken


def _with_department(components: ibis.Table, rules: CostingRules) -> ibis.Table:
    pools = ibis.memtable(
        {
            "pool": [p.id for p in rules.pools],
            "department": [p.department for p in rules.pools],
            "resource": [p.resource for p in rules.pools],
        },
        schema={"pool": "string", "department": "string", "resource": "string"},
    )
    return components.join(pools, "pool")


# --- 3: overheads to departments, then to their pools ----------------------------------------


def _apportion_overheads(
    lines: ibis.Table, direct: ibis.Table, rules: CostingRules
) -> tuple[ibis.Table, ibis.Table]:
    """Overhead lines as pool components, and the shares no pool could carry."""
    weights = ibis.memtable(
        [
            {
                "overhead": o.id,
                "department": d.name,
                "weight": round(d.overhead_drivers.get(o.driver, 0) * DRIVER_SCALE),
            }
            for o in rules.overheads
            for d in rules.departments
            if round(d.overhead_drivers.get(o.driver, 0) * DRIVER_SCALE) > 0
        ],
        schema={"overhead": "string", "department": "string", "weight": "int64"},
    )
    overhead_lines = lines.filter(lines.treatment == "overhead")
    to_departments = overhead_lines.join(weights, overhead_lines.target == weights.overhead)
    to_departments = _apportion_pennies(
        to_departments.select(
            "period", "cost_centre", "expense_code", "pennies", "overhead", "department", "weight"
        ),
        by=["period", "cost_centre", "expense_code"],
        pennies="pennies",
        weight="weight",
        tie_break="department",
        out="share",
    ).select("period", "overhead", "department", "cost_centre", "expense_code", pennies="share")

    # Pro rata to each pool's direct cost in the month; a credit balance carries none.
    pool_direct = direct.group_by(["period", "department", "pool", "resource"]).aggregate(
        weight=ibis.greatest(direct.pennies.sum(), 0)
    )
    department_direct = pool_direct.group_by(["period", "department"]).aggregate(
        total=pool_direct.weight.sum()
    )
    shares = to_departments.left_join(department_direct, ["period", "department"]).select(
        to_departments, total=ibis.coalesce(department_direct.total, 0)
    )
    carried = shares.filter(shares.total > 0).drop("total")
    unapportioned = shares.filter(shares.total <= 0).drop("total")
    to_pools = carried.join(pool_direct, ["period", "department"])
    to_pools = _apportion_pennies(
        to_pools.select(
            "period",
            "department",
            "cost_centre",
            "expense_code",
            "pennies",
            "pool",
            "resource",
            "weight",
        ),
        by=["period", "department", "cost_centre", "expense_code"],
        pennies="pennies",
        weight="weight",
        tie_break="pool",
        out="share",
    )
    to_pools = to_pools.select(
        "period",
        "pool",
        "cost_centre",
        "expense_code",
        pennies="share",
        source=ibis.literal("overhead"),
        department="department",
        resource="resource",
    )
    return to_pools, unapportioned


# --- 4: activity drivers and the spread over activities ---------------------------------------


def _activity_drivers(activities: ibis.Table, rules: CostingRules) -> ibis.Table:
    """One row per activity and pool it belongs to, with its driver in integer units."""
    matches = ibis.memtable(
        sorted(
            {
                (p.id, centre, kind, p.driver)
                for p in rules.pools
                for centre in p.activities.cost_centres
                for kind in p.activities.activity_types
            }
        ),
        columns=["pool", "cost_centre", "activity_type", "driver"],
    ).cast(
        {"pool": "string", "cost_centre": "string", "activity_type": "string", "driver": "string"}
    )
    code_weights = ibis.memtable(
        [
            {"pool": p.id, "code": c, "code_weight": w}
            for p in rules.pools
            for c, w in p.code_weights.items()
        ],
        schema={"pool": "string", "code": "string", "code_weight": "float64"},
    )
    level_weights = ibis.memtable(
        [
            {"pool": p.id, "level": lv, "level_weight": w}
            for p in rules.pools
            for lv, w in p.level_weights.items()
        ],
        schema={"pool": "string", "level": "int64", "level_weight": "float64"},
    )
    a = activities.select(
        "activity_id",
        "patient_id",
        "cost_centre",
        "activity_type",
        "code",
        period=activities.start_at.year().cast("string")
        + "-"
        + activities.start_at.month().cast("string").lpad(2, "0"),
        quantity=activities.quantity.cast("float64").fill_null(0),
        minutes=activities.minutes.cast("float64").fill_null(0),
        staff_present=_extra_number(activities, "staff_present"),
        relative_weight=_extra_number(activities, "relative_weight"),
        issue_value=_extra_number(activities, "issue_value"),
        level=_extra_number(activities, "care_level").round().cast("int64"),
    )
    a = a.join(matches, ["cost_centre", "activity_type"])
    a = a.left_join(code_weights, ["pool", "code"]).select(a, code_weight=code_weights.code_weight)
    a = a.left_join(level_weights, ["pool", "level"]).select(
        a, level_weight=level_weights.level_weight
    )
    base = ibis.cases(
        (a.driver == "bed_days", a.quantity),
        (a.driver == "critical_care_level_days", a.quantity * a.level_weight.fill_null(0)),
        (a.driver == "theatre_staff_minutes", a.minutes * a.staff_present),
        # Imaging and pathology rows count tests in quantity; a blank quantity is one test.
        (
            a.driver == "relative_weight_units",
            a.relative_weight * ibis.ifelse(a.quantity > 0, a.quantity, 1),
        ),
        (a.driver == "issue_value", a.issue_value),
        (a.driver == "attendances", ibis.literal(1.0)),
        (a.driver == "contact_minutes", a.minutes),
        else_=ibis.literal(0.0),
    )
    units = (base * a.code_weight.fill_null(1) * DRIVER_SCALE).round().cast("int64")
    return a.select(
        "activity_id", "patient_id", "period", "pool", units=ibis.greatest(units.fill_null(0), 0)
    )


def _extra_number(activities: ibis.Table, name: str) -> ibis.Value:
    """An extra column of the activity feed as a number. Extras arrive as text; a blank or
    unreadable value, or a column the extract does not have, counts as 0."""
    if name not in activities.columns:
        return ibis.literal(0.0)
    return activities[name].cast("string").try_cast("float64").fill_null(0)


def _spread_over_activities(components: ibis.Table, drivers: ibis.Table) -> ibis.Table:
    joined = components.join(drivers, ["period", "pool"]).select(
        "period",
        "pool",
        "department",
        "resource",
        "cost_centre",
        "expense_code",
        "pennies",
        drivers.activity_id,
        drivers.patient_id,
        weight=drivers.units,
    )
    spread = _apportion_pennies(
        joined,
        by=["period", "pool", "cost_centre", "expense_code"],
        pennies="pennies",
        weight="weight",
        tie_break="activity_id",
        out="share",
    )
    spread = spread.filter(spread.share != 0)
    return spread.select(
        "activity_id",
        "patient_id",
        "period",
        "pool",
        "department",
        "resource",
        "cost_centre",
        "expense_code",
        pennies="share",
    )


# --- 5: reconciliation ------------------------------------------------------------------------


def _reconciliation(
    components: ibis.Table,
    activity_costs: ibis.Table,
    unapportioned: ibis.Table,
    lines: ibis.Table,
) -> ibis.Table:
    c = components
    pools = c.group_by(["period", "pool", "department"]).aggregate(
        direct=c.pennies.sum(where=c.source == "direct"),
        overhead=c.pennies.sum(where=c.source == "overhead"),
        unallocated=c.pennies.sum(where=c.unallocated_reason.notnull()),
        unallocated_reason=c.unallocated_reason.max(),
    )
    allocated = activity_costs.group_by(["period", "pool"]).aggregate(
        allocated=activity_costs.pennies.sum()
    )
    pools = pools.left_join(allocated, ["period", "pool"]).select(
        "period",
        "pool",
        "department",
        direct=pools.direct.fill_null(0),
        overhead=pools.overhead.fill_null(0),
        allocated=allocated.allocated.fill_null(0),
        unallocated=pools.unallocated.fill_null(0),
        unallocated_reason=pools.unallocated_reason,
    )
    left_with_overheads = unapportioned.group_by(["period", "overhead", "department"]).aggregate(
        pennies=unapportioned.pennies.sum()
    )
    left_with_overheads = left_with_overheads.select(
        "period",
        pool=_text("overhead ") + left_with_overheads.overhead,
        department="department",
        direct=ibis.literal(0, "int64"),
        overhead="pennies",
        allocated=ibis.literal(0, "int64"),
        unallocated="pennies",
        unallocated_reason=_text(NO_DIRECT_COST),
    )
    unmapped = lines.filter(lines.treatment == "unmapped")
    unmapped = (
        unmapped.group_by("period")
        .aggregate(pennies=unmapped.pennies.sum())
        .select(
            "period",
            pool=ibis.literal(UNMAPPED_POOL),
            department=ibis.null(str),
            direct="pennies",
            overhead=ibis.literal(0, "int64"),
            allocated=ibis.literal(0, "int64"),
            unallocated="pennies",
            unallocated_reason=_text(UNMAPPED),
        )
    )
    rows = pools.union(left_with_overheads).union(unmapped)
    cost = rows.direct + rows.overhead
    return rows.select(
        "period",
        "pool",
        "department",
        direct_cost=_money(rows.direct),
        overhead_cost=_money(rows.overhead),
        cost_in_pool=_money(cost),
        allocated=_money(rows.allocated),
        unallocated=_money(rows.unallocated),
        unallocated_reason="unallocated_reason",
        difference=_money(cost - rows.allocated - rows.unallocated),
    )


def _text(value: str) -> ibis.Value:
    return ibis.literal(value, "string")


def _money(pennies: ibis.Value) -> ibis.Value:
    # Multiplying by 0.01 keeps the value a decimal on every engine (dividing would turn it
    # into a double on DuckDB).
    return (pennies.cast(MONEY) * ibis.literal(Decimal("0.01"), MONEY)).cast(MONEY)


def _pounds(value) -> Decimal:
    """A money value as read back from an engine (Decimal, or None for an empty sum)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):  # an empty column
        return Decimal("0.00")
    return Decimal(str(value)).quantize(Decimal("0.01"))


# --- the exact split ---------------------------------------------------------------------------


def _apportion_pennies(
    table: ibis.Table, *, by: list[str], pennies: str, weight: str, tie_break: str, out: str
) -> ibis.Table:
    """Add column ``out``: this row's share of ``pennies`` (one value per ``by`` group) in
    proportion to ``weight`` (a non-negative int64; the group's total must be above 0).

    Largest-remainder method: each row first gets floor(P × w / W) pennies (P the group's
    pennies, w the row's weight, W the group's total); the pennies still missing go one each
    to the rows with the largest remainders P × w mod W, ties to the smaller ``tie_break``.
    All integer arithmetic, so the shares add up to P exactly, do not depend on row order,
    and are the same on DuckDB and Spark. Limit: P × w must stay below 2^63 (a £10m pool over
    drivers of up to about 900,000 each, i.e. 9 × 10^9 units); beyond it ``reconcile``
    reports the pool.
    """
    group = ibis.window(group_by=by)
    t = table.mutate(
        _total=table[weight].sum().over(group),
        # A credit is split as its size and given its sign back, so that the engines'
        # different sign conventions for modulo never matter.
        _sign=ibis.ifelse(table[pennies] < 0, -1, 1).cast("int64"),
        _size=table[pennies].abs().cast("int64"),
    )
    t = t.mutate(_product=t._size * t[weight])
    t = t.mutate(_remainder=t._product % t._total)
    # (product - remainder) is an exact multiple of the total, so this division is exact up
    # to the floating-point error of the engine's '/', which the rounding removes.
    t = t.mutate(_floor=((t._product - t._remainder) / t._total).round().cast("int64"))
    t = t.mutate(_missing=t._size - t._floor.sum().over(group))
    t = t.mutate(
        _rank=ibis.row_number().over(
            ibis.window(group_by=by, order_by=[t._remainder.desc(), t[tie_break].asc()])
        )
    )
    t = t.mutate(**{out: t._sign * (t._floor + ibis.ifelse(t._rank < t._missing, 1, 0))})
    return t.drop(
        "_total", "_sign", "_size", "_product", "_remainder", "_floor", "_missing", "_rank"
    )
