"""Cost a TDABC model: capacity cost rates, minutes and costs per step and process, used
and unused capacity (Kaplan & Anderson 2004; Kaplan & Porter 2011).

Everything here is exact ``Fraction`` arithmetic on the model's ``Decimal`` figures: a
rate such as £1,000,000 / 82,800 minutes has no finite decimal form, and even products of
minutes, shares and volumes could outgrow ``Decimal``'s 28 significant digits.
``carevalue.costing.tdabc_report`` rounds for display; ``unit_cost`` rounds one unit's cost
to the penny for a patient-level costing.

Unused capacity stays with its resource: a unit's cost is its minutes at the capacity cost
rate, never a share of idle time. When a process's minutes exceed a resource's practical
capacity, the model is still costed (unused capacity is then negative) and the result
carries an ``over_capacity`` finding: the figures reconcile, but the capacity or the times
are wrong, or staff are working beyond their practical capacity.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import Literal, TypeVar

from carevalue.costing.pennies import round_half_up, to_pennies
from carevalue.costing.tdabc_model import Process, Resource, Step, TdabcModel
from carevalue.errors import UserError

_Item = TypeVar("_Item", "CostedResource", "CostedProcess")
# Which conditions hold for one unit: {"new_patient": True} or {"new_patient"}.
Conditions = Mapping[str, bool] | Iterable[str]


@dataclass(frozen=True)
class CostedResource:
    """A resource's capacity cost rate and how much of its time the processes used."""

    resource: Resource
    costed_by: Literal["capacity", "known_rate"]
    cost_supplied: Decimal | None  # None for a known rate: nothing is supplied up front
    practical_capacity_minutes: Fraction | None  # None for a known rate: no capacity
    rate_per_minute: Fraction
    used_minutes: Fraction

    @property
    def id(self) -> str:
        return self.resource.id

    @property
    def rate_per_hour(self) -> Fraction:
        return self.rate_per_minute * 60

    @property
    def assigned_cost(self) -> Fraction:
        """Cost of the minutes the processes used, at the rate: what reaches patients."""
        return self.used_minutes * self.rate_per_minute

    @property
    def unused_minutes(self) -> Fraction | None:
        if self.practical_capacity_minutes is None:
            return None
        return self.practical_capacity_minutes - self.used_minutes

    @property
    def unused_cost(self) -> Fraction:
        """Cost of capacity supplied but not used (0 for a known rate; negative when over
        capacity). Reported beside the processes, never loaded onto them."""
        if self.cost_supplied is None:
            return Fraction(0)
        return Fraction(self.cost_supplied) - self.assigned_cost

    @property
    def over_capacity(self) -> bool:
        unused = self.unused_minutes
        return unused is not None and unused < 0


@dataclass(frozen=True)
class CostedStep:
    """One step's minutes and cost, per unit (for any conditions) and in total."""

    step: Step
    rate_per_minute: Fraction
    shares: Mapping[str, Decimal]
    volume: int | None

    @property
    def id(self) -> str:
        return self.step.id

    @property
    def resource(self) -> str:
        return self.step.resource

    @property
    def base_minutes(self) -> Decimal:
        return self.step.minutes.base

    @property
    def added_minutes(self) -> dict[str, Decimal]:
        """Minutes added for each condition this step's time equation names."""
        return {term.when: term.minutes for term in self.step.minutes.add}

    def minutes_for(self, holding: frozenset[str]) -> Fraction:
        """Minutes of one unit for which exactly the conditions in ``holding`` hold."""
        added = self.added_minutes
        return Fraction(self.base_minutes) + sum(
            (Fraction(added[c]) for c in holding if c in added), Fraction(0)
        )

    def cost_for(self, holding: frozenset[str]) -> Fraction:
        return self.minutes_for(holding) * self.rate_per_minute

    @property
    def expected_minutes(self) -> Fraction:
        """Minutes of an average unit: base + Σ share × added minutes."""
        return Fraction(self.base_minutes) + sum(
            (Fraction(self.shares[c]) * Fraction(m) for c, m in self.added_minutes.items()),
            Fraction(0),
        )

    @property
    def expected_cost(self) -> Fraction:
        return self.expected_minutes * self.rate_per_minute

    @property
    def total_minutes(self) -> Fraction | None:
        """volume × (base + Σ share × added minutes); None without a volume."""
        return None if self.volume is None else self.volume * self.expected_minutes

    @property
    def total_cost(self) -> Fraction | None:
        minutes = self.total_minutes
        return None if minutes is None else minutes * self.rate_per_minute


@dataclass(frozen=True)
class CostedProcess:
    """A process's minutes and cost per unit and in total, step by step."""

    process: Process
    steps: tuple[CostedStep, ...]

    @property
    def id(self) -> str:
        return self.process.id

    @property
    def volume(self) -> int | None:
        return self.process.volume

    @property
    def shares(self) -> Mapping[str, Decimal]:
        return self.process.conditions

    def holding(self, conditions: Conditions | None) -> frozenset[str]:
        """The names of the conditions that hold, checked against the process's own."""
        if conditions is None:
            named, holds = set(), set()
        elif isinstance(conditions, str):
            named = holds = {conditions}
        elif isinstance(conditions, Mapping):
            named = set(conditions)
            holds = {name for name, value in conditions.items() if value}
        else:
            named = holds = set(conditions)
        unknown = sorted(named - set(self.shares))
        if unknown:
            known = ", ".join(self.shares)
            raise UserError(
                f"process '{self.id}' has no condition {', '.join(repr(c) for c in unknown)}; "
                + (f"its conditions are {known}." if known else "it has no conditions.")
            )
        return frozenset(holds)

    def minutes_for(self, conditions: Conditions | None = None) -> Fraction:
        holding = self.holding(conditions)
        return sum((step.minutes_for(holding) for step in self.steps), Fraction(0))

    def cost_for(self, conditions: Conditions | None = None) -> Fraction:
        """Exact cost of one unit for which exactly these conditions hold."""
        holding = self.holding(conditions)
        return sum((step.cost_for(holding) for step in self.steps), Fraction(0))

    @property
    def expected_minutes(self) -> Fraction:
        return sum((step.expected_minutes for step in self.steps), Fraction(0))

    @property
    def expected_cost(self) -> Fraction:
        return sum((step.expected_cost for step in self.steps), Fraction(0))

    @property
    def total_minutes(self) -> Fraction | None:
        if self.volume is None:
            return None
        return sum((step.total_minutes or Fraction(0) for step in self.steps), Fraction(0))

    @property
    def total_cost(self) -> Fraction | None:
        if self.volume is None:
            return None
        return sum((step.total_cost or Fraction(0) for step in self.steps), Fraction(0))


@dataclass(frozen=True)
class Finding:
    """Something in the costed model a reader must know, though it is not an error."""

    kind: Literal["over_capacity", "resource_not_used", "process_without_volume", "no_processes"]
    subject: str  # the resource or process id ("model" for no_processes)
    message: str


@dataclass(frozen=True)
class TdabcResult:
    """The costed model: every resource and process, exact, and the findings."""

    model: TdabcModel
    resources: tuple[CostedResource, ...]
    processes: tuple[CostedProcess, ...]
    findings: tuple[Finding, ...]

    def resource(self, resource_id: str) -> CostedResource:
        return _by_id(self.resources, resource_id, "resource", "resources")

    def process(self, process_id: str) -> CostedProcess:
        return _by_id(self.processes, process_id, "process", "processes")


def _by_id(items: tuple[_Item, ...], item_id: str, noun: str, plural: str) -> _Item:
    for item in items:
        if item.id == item_id:
            return item
    if not items:
        raise UserError(
            f"the model has no {noun} '{item_id}'; it has no {plural} yet (a model of "
            "resources alone gives their capacity cost rates only)."
        )
    known = ", ".join(item.id for item in items)
    raise UserError(f"the model has no {noun} '{item_id}'; its {plural} are {known}.")


def cost_model(model: TdabcModel) -> TdabcResult:
    """Cost an already-built (hence valid) model."""
    rates = {resource.id: _rate_per_minute(resource, model) for resource in model.resources}
    processes = tuple(
        CostedProcess(
            process,
            tuple(
                CostedStep(step, rates[step.resource], process.conditions, process.volume)
                for step in process.steps
            ),
        )
        for process in model.processes
    )
    used = {resource.id: Fraction(0) for resource in model.resources}
    for process in processes:
        for step in process.steps:
            used[step.resource] += step.total_minutes or Fraction(0)
    resources = tuple(
        CostedResource(
            resource=resource,
            costed_by=resource.costed_by,
            cost_supplied=resource.total_cost,
            practical_capacity_minutes=resource.capacity_minutes(model.period),
            rate_per_minute=rates[resource.id],
            used_minutes=used[resource.id],
        )
        for resource in model.resources
    )
    return TdabcResult(model, resources, processes, _findings(model, resources, processes))


def unit_cost(process: CostedProcess, conditions: Conditions | None = None) -> Decimal:
    """Cost of one unit of ``process`` to the penny, for the conditions that hold for it
    (``{"new_patient": True}``; conditions not named do not hold): what a patient-level
    costing charges each time the patient goes through the process."""
    return to_pennies(process.cost_for(conditions))


def _rate_per_minute(resource: Resource, model: TdabcModel) -> Fraction:
    known = resource.known_rate_per_minute
    if known is not None:
        return known
    # The resource checked that it has a cost and a capacity above 0.
    return Fraction(resource.total_cost) / resource.capacity_minutes(model.period)


def _findings(
    model: TdabcModel,
    resources: tuple[CostedResource, ...],
    processes: tuple[CostedProcess, ...],
) -> tuple[Finding, ...]:
    findings = []
    used_by_steps = {step.resource for process in processes for step in process.steps}
    money = model.currency
    if not processes:
        # One finding for the model, not one "not used" per resource: before the process
        # map exists no resource is used, and that is expected.
        findings.append(
            Finding(
                "no_processes",
                "model",
                "the model has no processes yet, so it gives each resource's capacity and "
                "capacity cost rate only; every minute shows as unused until processes "
                "(steps with their minutes) are added.",
            )
        )
    for resource in resources:
        if processes and resource.id not in used_by_steps:
            findings.append(
                Finding(
                    "resource_not_used",
                    resource.id,
                    f"resource '{resource.id}' is not used by any step"
                    + (
                        ", so all its cost is unused capacity."
                        if resource.costed_by == "capacity"
                        else "."
                    ),
                )
            )
        if resource.over_capacity:
            capacity = resource.practical_capacity_minutes
            over = -resource.unused_cost
            findings.append(
                Finding(
                    "over_capacity",
                    resource.id,
                    f"resource '{resource.id}' is over capacity: the processes use "
                    f"{_amount(resource.used_minutes, 0)} minutes but its practical capacity "
                    f"is {_amount(capacity, 0)} "
                    f"({_amount(resource.used_minutes / capacity * 100, 0)}% used), so the "
                    f"cost assigned exceeds its cost of {money} "
                    f"{_amount(resource.cost_supplied, 2)} by {money} {_amount(over, 2)}; "
                    "check the minutes, volumes and capacity, and if staff really work "
                    "beyond it, raise the practical capacity.",
                )
            )
    for process in processes:
        if process.volume is None:
            findings.append(
                Finding(
                    "process_without_volume",
                    process.id,
                    f"process '{process.id}' has no volume, so it has unit costs but no "
                    "totals, and its minutes are not counted in the resources' used capacity.",
                )
            )
    return tuple(findings)


def _amount(value: Fraction | Decimal, places: int) -> str:
    return f"{round_half_up(Fraction(value), places):,}"
