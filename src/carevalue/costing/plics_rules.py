"""The costing-rules file of top-down patient-level costing (PLICS): which ledger lines form
which cost pools, how overheads reach patient-facing departments, and which activity driver
spreads each pool over activities. A frozen, self-checking definition; no data is read here.

``load_costing_rules(path)`` reads the YAML file; every problem becomes one ``UserError``
that names the file and says what is wrong.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import yaml
from pydantic import Field, ValidationError, model_validator

from carevalue.costing.shipped_rules import costing_rules_file
from carevalue.errors import UserError
from carevalue.foundation.frozen import Frozen

ActivityDriver = Literal[
    "bed_days",
    "critical_care_level_days",
    "theatre_staff_minutes",
    "relative_weight_units",
    "issue_value",
    "attendances",
    "contact_minutes",
]
"""How an activity row is measured when a pool is spread over activities (docs/costing.md)."""

EXPENSE_TYPES = ("pay", "non_pay", "overhead", "income", "excluded")


class LedgerLines(Frozen):
    """A set of ledger lines: a cost centre and, optionally, some of its expense codes."""

    cost_centres: tuple[str, ...] = Field(
        min_length=1, description="Ledger cost centres whose lines are taken."
    )
    expense_codes: tuple[str, ...] | None = Field(
        None,
        min_length=1,
        description="Only these expense codes at those cost centres; omit for every code.",
    )

    def pairs(self) -> list[tuple[str, str | None]]:
        """(cost centre, expense code or None for all codes) pairs this selection covers."""
        codes: tuple[str | None, ...] = self.expense_codes or (None,)
        return [(centre, code) for centre in self.cost_centres for code in codes]


class Quantum(Frozen):
    """What the cost quantum leaves out of the ledger total."""

    excluded_expense_types: tuple[str, ...] = Field(
        description="Ledger expense types outside the quantum (e.g. 'excluded' for education, "
        "training and research, 'income' for income lines); they are reported, not costed."
    )

    @model_validator(mode="after")
    def _known_types(self) -> Quantum:
        unknown = sorted(set(self.excluded_expense_types) - set(EXPENSE_TYPES))
        if unknown:
            raise ValueError(
                f"quantum.excluded_expense_types has {', '.join(unknown)}; "
                f"expense types are {', '.join(EXPENSE_TYPES)}"
            )
        return self


class Department(Frozen):
    """A patient-facing department and its share of each overhead driver."""

    name: str = Field(description="Department name, as pools name it.")
    overhead_drivers: dict[str, float] = Field(
        default_factory=dict,
        description="Overhead driver values for this department, e.g. floor_area_m2: 1200, "
        "staff_wte: 85. A driver the department does not declare counts as 0.",
    )

    @model_validator(mode="after")
    def _not_negative(self) -> Department:
        for driver, value in self.overhead_drivers.items():
            if value < 0:
                raise ValueError(f"department {self.name!r} has {driver} {value}, below 0")
        return self


class Overhead(Frozen):
    """Support cost lines apportioned to departments by a driver declared per department."""

    id: str = Field(description="Name of the overhead in reports, e.g. 'estates'.")
    ledger: LedgerLines = Field(description="The ledger lines that make up this overhead.")
    driver: str = Field(
        description="Which of the departments' overhead_drivers apportions it, e.g. floor_area_m2."
    )


class ActivityMatch(Frozen):
    """Which activity rows a pool is spread over."""

    cost_centres: tuple[str, ...] = Field(min_length=1, description="Activity cost_centre values.")
    activity_types: tuple[str, ...] = Field(
        min_length=1,
        description="Activity activity_type values (given explicitly, so a new "
        "kind of activity never falls into a pool unnoticed).",
    )


class Pool(Frozen):
    """A cost pool: ledger lines of one resource in one department, and its activity driver."""

    id: str = Field(description="Name of the pool in reports, e.g. 'critical_care_beds'.")
    department: str = Field(description="The patient-facing department the pool belongs to.")
    resource: str = Field(description="The resource the pool pays for (bed, theatre, drugs ...).")
    ledger: LedgerLines = Field(description="The ledger lines whose cost forms the pool.")
    activities: ActivityMatch = Field(description="The activities the pool is spread over.")
    driver: ActivityDriver = Field(description="How each activity is measured (docs/costing.md).")
    code_weights: dict[str, float] = Field(
        default_factory=dict,
        description="Optional weight by activity code that multiplies the driver (e.g. an "
        "acuity weight per ward); codes not listed weigh 1.",
    )
    level_weights: dict[int, float] = Field(
        default_factory=dict,
        description="For critical_care_level_days: weight of a bed day by care_level "
        "(2 and 3); a level not listed weighs 0.",
    )

    @model_validator(mode="after")
    def _weights(self) -> Pool:
        if self.driver == "critical_care_level_days" and not self.level_weights:
            raise ValueError(
                f"pool {self.id!r} uses critical_care_level_days but gives no level_weights"
            )
        if self.level_weights and self.driver != "critical_care_level_days":
            raise ValueError(
                f"pool {self.id!r} gives level_weights but its driver is {self.driver}"
            )
        for name, weights in (
            ("code_weights", self.code_weights),
            ("level_weights", self.level_weights),
        ):
            for key, value in weights.items():
                if value < 0:
                    raise ValueError(f"pool {self.id!r} has {name} {key}: {value}, below 0")
        return self


class CostingRules(Frozen):
    """The whole costing-rules file (docs/costing.md describes it field by field)."""

    rules_version: str = Field(description="Version of these rules; bump it on every change.")
    description: str = Field(description="Whose rules these are and what they cover.")
    periods: Literal["ledger_month"] = Field(
        description="Allocation period: each ledger month is spread over the activities that "
        "started in that month."
    )
    quantum: Quantum = Field(description="What the cost quantum leaves out.")
    departments: tuple[Department, ...] = Field(
        min_length=1, description="Patient-facing departments and their overhead drivers."
    )
    overheads: tuple[Overhead, ...] = Field(default=(), description="Support cost overheads.")
    pools: tuple[Pool, ...] = Field(min_length=1, description="Cost pools and their drivers.")

    @model_validator(mode="after")
    def _consistent(self) -> CostingRules:
        names = [d.name for d in self.departments]
        _no_repeats("department", names)
        _no_repeats(
            "pool or overhead id", [p.id for p in self.pools] + [o.id for o in self.overheads]
        )
        for pool in self.pools:
            if pool.department not in names:
                raise ValueError(
                    f"pool {pool.id!r} names department {pool.department!r}, "
                    "which is not in departments"
                )
        for overhead in self.overheads:
            if not any(d.overhead_drivers.get(overhead.driver, 0) > 0 for d in self.departments):
                raise ValueError(
                    f"overhead {overhead.id!r} is apportioned by {overhead.driver}, "
                    "but no department declares a value above 0 for it"
                )
        _no_overlapping_ledger_lines(
            [(p.id, p.ledger) for p in self.pools] + [(o.id, o.ledger) for o in self.overheads]
        )
        return self


def _no_repeats(kind: str, values: list[str]) -> None:
    seen: set[str] = set()
    for value in values:
        if value in seen:
            raise ValueError(f"{kind} {value!r} is given twice")
        seen.add(value)


def _no_overlapping_ledger_lines(selections: list[tuple[str, LedgerLines]]) -> None:
    """A ledger line must belong to one pool or overhead only, or its cost would count twice."""
    owner: dict[tuple[str, str | None], str] = {}
    for owner_id, lines in selections:
        for centre, code in lines.pairs():
            for (other_centre, other_code), other_id in owner.items():
                if other_centre == centre and (
                    code is None or other_code is None or code == other_code
                ):
                    what = f"cost centre {centre}" + (f" expense code {code}" if code else "")
                    raise ValueError(f"{what} is taken by both {other_id!r} and {owner_id!r}")
            owner[(centre, code)] = owner_id


def load_costing_rules(path: Path | str) -> CostingRules:
    """Read and check a costing-rules YAML file (a path, or a shipped name such as
    ``synthetic``)."""
    path = costing_rules_file(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise UserError(f"Cannot read the costing rules {path}: {error.strerror}.") from None
    except yaml.YAMLError as error:
        raise UserError(f"The costing rules {path} are not valid YAML: {error}") from None
    if not isinstance(data, dict):
        raise UserError(f"The costing rules {path} must be a YAML mapping of fields.")
    try:
        return CostingRules.model_validate(data)
    except ValidationError as error:
        problems = "; ".join(_describe(e) for e in error.errors())
        raise UserError(f"The costing rules {path} have problems: {problems}.") from None


def _describe(error) -> str:
    where = ".".join(str(part) for part in error["loc"])
    message = error["msg"].removeprefix("Value error, ")
    return f"{where}: {message}" if where else message
