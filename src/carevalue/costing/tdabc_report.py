"""The JSON report of a costed TDABC model (what ``carevalue costing tdabc --json`` prints).

Money is rounded to the penny and rates to 4 decimal places, halves away from zero, once,
from exact values; costs use the exact rate, not the rounded one shown. So that every
column adds up, pennies are apportioned by largest remainder (``pennies``): within each
resource, its steps' total costs and its unused capacity cost add up to its cost supplied;
within each process, its steps' per-unit costs add up to the process's. Each resource's
``rounding_residue`` says how many pennies that moved compared with rounding each figure
on its own. Numbers are JSON numbers; read them with ``json.loads(text,
parse_float=decimal.Decimal)`` to add them up exactly.
"""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction
from typing import Any

from carevalue.costing.pennies import apportion_pennies, round_half_up, rounding_residue, to_pennies
from carevalue.costing.tdabc_costs import CostedProcess, CostedResource, CostedStep, TdabcResult
from carevalue.costing.tdabc_model import HOURS_FIELDS, PERIOD_SHARE_OF_YEAR, show_number

RATE_PLACES = 4
MINUTE_PLACES = 4
KNOWN_RATE_NOTE = (
    "Costed at a known rate: no capacity is supplied, so its cost is the minutes used × "
    "the rate and it has no unused capacity."
)
ROUNDING_NOTE = (
    "Money to the penny and rates to 4 decimal places, halves away from zero, rounded once "
    "from exact values (costs use the exact rate, not the rounded rate shown). Pennies are "
    "apportioned by largest remainder so that each resource's step costs and unused "
    "capacity cost add up to its cost supplied, and each process's step costs add up to its "
    "own; rounding_residue is the pennies moved."
)

# Where a step's rounded total cost is found: (process id, step id).
_StepKey = tuple[str, str]


def costing_report(result: TdabcResult, model_file: str | None = None) -> dict[str, Any]:
    """The JSON-able report of ``result``; ``model_file`` (as the user gave it) names the
    file in the report and in each process's address ``<model file>#<process id>``."""
    step_costs: dict[_StepKey, Decimal] = {}
    resources = [_resource(resource, result, step_costs) for resource in result.resources]
    processes = [_process(process, step_costs, model_file) for process in result.processes]

    def column(key: str) -> Decimal:
        return sum((r[key] for r in resources), Decimal("0.00"))

    supplied, assigned = column("cost_supplied"), column("assigned_cost")
    unused, residue = column("unused_capacity_cost"), column("rounding_residue")
    model = result.model
    return _json_numbers(
        {
            "model": model_file,
            "currency": model.currency,
            "period": model.period,
            "description": model.description,
            "resources": resources,
            "processes": processes,
            "reconciliation": {
                "cost_supplied": _money(supplied),
                "assigned_to_processes": _money(assigned),
                "unused_capacity_cost": _money(unused),
                "rounding_residue": _money(residue),
                "balanced": assigned + unused == supplied,
            },
            "findings": [
                {"kind": f.kind, "subject": f.subject, "message": f.message}
                for f in result.findings
            ],
            "rounding": ROUNDING_NOTE,
        }
    )


def _resource(
    resource: CostedResource, result: TdabcResult, step_costs: dict[_StepKey, Decimal]
) -> dict[str, Any]:
    keys: list[_StepKey] = []
    parts: list[Fraction] = []
    for process in result.processes:
        for step in process.steps:
            if step.resource == resource.id and step.total_cost is not None:
                keys.append((process.id, step.id))
                parts.append(step.total_cost)
    by_capacity = resource.costed_by == "capacity"
    if by_capacity:
        # Unused capacity is one more part of the cost supplied, so the pennies of the
        # resource's cost are shared between the steps and the unused capacity.
        parts.append(resource.unused_cost)
        target = to_pennies(resource.cost_supplied)
    else:
        target = to_pennies(sum(parts, Fraction(0)))
    rounded = apportion_pennies(parts, target)
    step_costs.update(zip(keys, rounded, strict=False))
    assigned = sum(rounded[: len(keys)], Decimal("0.00"))
    capacity = resource.practical_capacity_minutes
    return {
        "id": resource.id,
        "description": resource.resource.description,
        "costed_by": resource.costed_by,
        "cost_supplied": _money(target),
        "cost_components": (
            {name: _money(value) for name, value in resource.resource.cost_components.items()}
            if resource.resource.cost_components is not None
            else None
        ),
        "practical_capacity_minutes": _minutes(capacity),
        "practical_capacity_hours": None if capacity is None else _minutes(capacity / 60),
        "practical_capacity_worked_out": _capacity_working(resource, result.model.period),
        "capacity_cost_rate_per_minute": _rate(resource.rate_per_minute),
        "capacity_cost_rate_per_hour": _rate(resource.rate_per_hour),
        "used_minutes": _minutes(resource.used_minutes),
        "unused_minutes": _minutes(resource.unused_minutes),
        "utilisation": (
            None if capacity is None else round_half_up(resource.used_minutes / capacity, 4)
        ),
        "assigned_cost": _money(assigned),
        "unused_capacity_cost": _money(rounded[-1] if by_capacity else Decimal("0.00")),
        "over_capacity": resource.over_capacity,
        "rounding_residue": _money(rounding_residue(parts, target)),
        "note": None if by_capacity else KNOWN_RATE_NOTE,
    }


def _capacity_working(resource: CostedResource, period: str) -> str | None:
    """How the practical capacity was worked out, in the model's own figures."""
    source = resource.resource
    if source.costed_by == "known_rate":
        return None
    if source.practical_capacity_minutes is not None:
        return "given as practical_capacity_minutes"
    factors = [f"{name} {show_number(getattr(source, name))}" for name in HOURS_FIELDS]
    if source.quantity is not None:
        factors.append(f"quantity {show_number(source.quantity)}")
    working = " × ".join(factors) + " × 60 minutes"
    share = PERIOD_SHARE_OF_YEAR[period]
    if share != 1:
        working += f" × {share.numerator}/{share.denominator} of a year (one {period})"
    return working


def _process(
    process: CostedProcess, step_costs: dict[_StepKey, Decimal], model_file: str | None
) -> dict[str, Any]:
    columns = _per_unit_columns(process)
    steps = [
        _step(process, index, step, columns, step_costs) for index, step in enumerate(process.steps)
    ]
    total = None
    if process.volume is not None:
        total = {
            "minutes": _minutes(process.total_minutes),
            "cost": _money(
                sum((step_costs[(process.id, s.id)] for s in process.steps), Decimal("0.00"))
            ),
        }
    return {
        "id": process.id,
        "description": process.process.description,
        "process_map": None if model_file is None else f"{model_file}#{process.id}",
        "volume": process.volume,
        "condition_shares": dict(process.shares),
        "per_unit": {
            "base_minutes": _minutes(process.minutes_for()),
            "base_cost": _money(sum(columns["base"], Decimal("0.00"))),
            "conditions": [
                {
                    "when": condition,
                    "share": share,
                    "added_minutes": _minutes(
                        process.minutes_for({condition}) - process.minutes_for()
                    ),
                    "added_cost": _money(sum(columns[condition], Decimal("0.00"))),
                }
                for condition, share in process.shares.items()
            ],
            "expected_minutes": _minutes(process.expected_minutes),
            "expected_cost": _money(sum(columns["expected"], Decimal("0.00"))),
        },
        "total": total,
        "steps": steps,
    }


def _per_unit_columns(process: CostedProcess) -> dict[str, list[Decimal]]:
    """Each per-unit cost column (base, each condition's added cost, expected) rounded so
    the steps add up to the process's own rounded figure."""
    rate = [step.rate_per_minute for step in process.steps]
    exact = {
        "base": [Fraction(s.base_minutes) * r for s, r in zip(process.steps, rate, strict=True)],
        "expected": [s.expected_cost for s in process.steps],
    }
    for condition in process.shares:
        exact[condition] = [
            Fraction(s.added_minutes.get(condition, Decimal(0))) * r
            for s, r in zip(process.steps, rate, strict=True)
        ]
    return {
        column: apportion_pennies(parts, to_pennies(sum(parts, Fraction(0))))
        for column, parts in exact.items()
    }


def _step(
    process: CostedProcess,
    index: int,
    step: CostedStep,
    columns: dict[str, list[Decimal]],
    step_costs: dict[_StepKey, Decimal],
) -> dict[str, Any]:
    return {
        "id": step.id,
        "resource": step.resource,
        "description": step.step.description,
        "per_unit": {
            "base_minutes": _minutes(step.base_minutes),
            "base_cost": _money(columns["base"][index]),
            "conditions": [
                {
                    "when": condition,
                    "added_minutes": _minutes(minutes),
                    "added_cost": _money(columns[condition][index]),
                }
                for condition, minutes in step.added_minutes.items()
            ],
            "expected_minutes": _minutes(step.expected_minutes),
            "expected_cost": _money(columns["expected"][index]),
        },
        "total": (
            None
            if step.total_minutes is None
            else {
                "minutes": _minutes(step.total_minutes),
                "cost": _money(step_costs[(process.id, step.id)]),
            }
        ),
    }


# The report is built with exact Decimals (so its columns can be added up here) and turned
# into JSON numbers once, at the end.


def _json_numbers(node: Any) -> Any:
    if isinstance(node, Decimal):
        return float(node)
    if isinstance(node, dict):
        return {key: _json_numbers(value) for key, value in node.items()}
    if isinstance(node, list):
        return [_json_numbers(item) for item in node]
    return node


def _money(value: Decimal) -> Decimal:
    return to_pennies(value)


def _rate(value: Fraction) -> Decimal:
    return round_half_up(value, RATE_PLACES)


def _minutes(value: Fraction | Decimal | None) -> Decimal | None:
    return None if value is None else round_half_up(Fraction(value), MINUTE_PLACES)
