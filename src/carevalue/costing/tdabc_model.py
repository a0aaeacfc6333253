"""A time-driven activity-based costing (TDABC) model as frozen, self-validating
definition objects (pure: no I/O).

``TdabcModel`` mirrors the model file: the resources whose time is supplied (with their
cost and practical capacity, or a known rate) and the processes that use that time, step
by step, with time equations. Each object checks itself and the model checks the
references between them, so a model built in Python is held to the same rules as one
read from a file. A check that fails raises ``ModelProblems``, which carries every
problem found with the path of the offending value, so the loader can name its line.

Numbers are ``Decimal`` (a YAML 0.3 becomes exactly 0.3, never 0.29999…), so money and
minutes stay exact until the report rounds them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from carevalue.foundation.frozen import Frozen
from carevalue.foundation.yaml_lines import DataPath
from carevalue.packs.base import Identifier

# Hours-based capacity is written per year (weeks_per_year); a shorter period gets its
# share of the year's capacity, so one set of staffing figures serves any period.
PERIOD_SHARE_OF_YEAR = {"year": Fraction(1), "quarter": Fraction(1, 4), "month": Fraction(1, 12)}
Period = Literal["year", "quarter", "month"]
CURRENCY_PATTERN = r"^[A-Z]{3}$"

RATE_FIELDS = ("rate_per_hour", "rate_per_minute")
COST_FIELDS = ("cost", "cost_components")
HOURS_FIELDS = ("hours_per_day", "days_per_week", "weeks_per_year", "practical_fraction")
CAPACITY_FIELDS = ("practical_capacity_minutes", *HOURS_FIELDS, "quantity")
# Upper limits of the hours-based capacity factors, and why, for the message.
HOURS_LIMITS = {
    "hours_per_day": (Decimal(24), "a day has 24 hours"),
    "days_per_week": (Decimal(7), "a week has 7 days"),
    "weeks_per_year": (Fraction(366, 7), "a year has at most 366 days (52.29 weeks)"),
    "practical_fraction": (
        Decimal(1),
        (
            "it is the share of paid time available for productive work, at most 1 "
            "(Kaplan's rule of thumb is 0.80 to 0.85)"
        ),
    ),
}
PENNY = Decimal("0.01")


@dataclass(frozen=True)
class Problem:
    """One inconsistency, at ``path`` relative to the object whose check found it.

    ``message`` may hold ``{first}``, filled with " (first on line N)" when the model was
    read from a file and ``first_path`` (where a duplicated value first appears) has a line.
    """

    path: DataPath
    message: str
    first_path: DataPath | None = None

    def text(self, first_line: int | None = None) -> str:
        # Plain replacement, not str.format: messages quote YAML such as {new_patient: 0.3}.
        return self.message.replace(
            "{first}", f" (first on line {first_line})" if first_line else ""
        )


class ModelProblems(ValueError):
    """Raised by a model's check with every problem it found (pydantic keeps the exception
    in the error's context, which is how the loader gets the paths back)."""

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems = tuple(problems)
        super().__init__(" ".join(problem.text() for problem in self.problems))


def _raise_if_any(problems: list[Problem]) -> None:
    if problems:
        raise ModelProblems(problems)


def show_number(value: Decimal) -> str:
    """A number as the user wrote it: 82800, 0.3, -5 (no exponent, no trailing zeros)."""
    text = format(value, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def _listing(names: Iterable[str]) -> str:
    return ", ".join(names)


def _either(names: list[str], word: str) -> str:
    """'a', 'a and b', 'a, b and c' (or 'or')."""
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} {word} {names[-1]}"


class Resource(Frozen):
    """Something whose time the processes use: a staff group, a room, a scanner.

    Give either its cost for the period and its practical capacity (the capacity cost rate
    is cost / practical capacity minutes), or the rate itself when it is known.
    """

    id: Identifier = Field(description="How steps refer to the resource, e.g. 'nurse'.")
    description: str | None = Field(
        default=None,
        description="What the resource is and where its cost comes from (ledger lines, "
        "staff bands), for reviewers.",
    )
    cost: Decimal | None = Field(
        default=None,
        description="Cost of supplying the resource for the whole period, in the model's "
        "currency, to the penny (at most 2 decimal places).",
    )
    cost_components: dict[str, Decimal] | None = Field(
        default=None,
        min_length=1,
        description="The cost in parts (e.g. salary, on_costs, space, equipment), each to the "
        "penny; they are added up to make the cost. Give this or cost, not both.",
    )
    practical_capacity_minutes: Decimal | None = Field(
        default=None,
        description="Minutes the resource is available for productive work in the period "
        "(after leave, training, breaks and meetings). Give this, or the four hours-based "
        "fields.",
    )
    hours_per_day: Decimal | None = Field(
        default=None, description="Paid hours in a working day (hours-based capacity)."
    )
    days_per_week: Decimal | None = Field(
        default=None, description="Working days in a week (hours-based capacity)."
    )
    weeks_per_year: Decimal | None = Field(
        default=None,
        description="Working weeks in a year, after annual leave and public holidays "
        "(hours-based capacity; a quarter or month gets its share of the year).",
    )
    practical_fraction: Decimal | None = Field(
        default=None,
        description="Share of the paid time available for productive work, above 0 and at "
        "most 1 (Kaplan's rule of thumb: 0.80 to 0.85).",
    )
    quantity: Decimal | None = Field(
        default=None,
        description="How many of the resource the cost pays for (whole-time equivalent staff, "
        "rooms, machines); multiplies the hours-based capacity. Default 1.",
    )
    rate_per_hour: Decimal | None = Field(
        default=None,
        description="The known cost of one hour of the resource's time; the resource then has "
        "no cost or capacity of its own and no unused capacity.",
    )
    rate_per_minute: Decimal | None = Field(
        default=None, description="The known cost of one minute (give this or rate_per_hour)."
    )

    def _given(self, fields: Iterable[str]) -> list[str]:
        return [name for name in fields if getattr(self, name) is not None]

    @property
    def costed_by(self) -> Literal["capacity", "known_rate"]:
        """'known_rate' when a rate is given, else 'capacity' (cost / practical capacity)."""
        return "known_rate" if self._given(RATE_FIELDS) else "capacity"

    @property
    def total_cost(self) -> Decimal | None:
        """The cost supplied in the period (None for a resource with a known rate)."""
        if self.cost_components is not None:
            return sum(self.cost_components.values(), Decimal(0))
        return self.cost

    @property
    def known_rate_per_minute(self) -> Fraction | None:
        if self.rate_per_minute is not None:
            return Fraction(self.rate_per_minute)
        if self.rate_per_hour is not None:
            return Fraction(self.rate_per_hour) / 60
        return None

    def capacity_minutes(self, period: Period) -> Fraction | None:
        """Practical capacity in the period; None for a resource with a known rate."""
        if self.practical_capacity_minutes is not None:
            return Fraction(self.practical_capacity_minutes)
        if self.costed_by == "known_rate":
            return None
        # hours × days × weeks × practical fraction × 60 is one year of one unit.
        per_year = Fraction(60) * Fraction(self.quantity if self.quantity is not None else 1)
        for name in HOURS_FIELDS:
            per_year *= Fraction(getattr(self, name))
        return per_year * PERIOD_SHARE_OF_YEAR[period]

    @model_validator(mode="after")
    def _one_way_to_cost(self) -> Resource:
        name = f"resource '{self.id}'"
        problems = self._negative_numbers(name)
        rates, costs = self._given(RATE_FIELDS), self._given(COST_FIELDS)
        capacity = self._given(CAPACITY_FIELDS)
        if rates:
            if len(rates) == 2:
                problems.append(
                    Problem(
                        (rates[1],),
                        f"{name} gives both rate_per_hour and rate_per_minute; give one.",
                    )
                )
            if capacity:
                problems.append(
                    Problem(
                        (capacity[0],),
                        f"{name} gives both a rate ({_listing(rates)}) and a capacity "
                        f"({_listing(capacity)}); give the rate when it is known, or the cost "
                        "and the capacity to work the rate out, not both.",
                    )
                )
            if costs:
                problems.append(
                    Problem(
                        (costs[0],),
                        f"{name} gives both a rate ({_listing(rates)}) and a cost "
                        f"({_listing(costs)}); a resource with a known rate is costed by the "
                        "minutes it is used, so leave its cost out.",
                    )
                )
        else:
            problems += self._cost_problems(name, costs)
            problems += self._capacity_problems(name)
        _raise_if_any(problems)
        return self

    def _negative_numbers(self, name: str) -> list[Problem]:
        problems = []
        for field in ("cost", *CAPACITY_FIELDS, *RATE_FIELDS):
            value = getattr(self, field)
            if value is not None and value < 0:
                problems.append(
                    Problem(
                        (field,), f"{name} has {field} {show_number(value)}; it cannot be negative."
                    )
                )
        for part, value in (self.cost_components or {}).items():
            if value < 0:
                problems.append(
                    Problem(
                        ("cost_components", part),
                        f"{name} has cost component '{part}' {show_number(value)}; it cannot be "
                        "negative.",
                    )
                )
        return problems

    def _cost_problems(self, name: str, costs: list[str]) -> list[Problem]:
        if not costs:
            return [
                Problem(
                    (),
                    f"{name} has no cost; give its cost for the period (cost, or "
                    "cost_components to add up), or its rate_per_hour or rate_per_minute if "
                    "the rate is known.",
                )
            ]
        if len(costs) == 2:
            return [
                Problem(
                    ("cost_components",),
                    f"{name} gives both cost and cost_components; give one (the components "
                    "are added up to make the cost).",
                )
            ]
        amounts = (
            [(("cost",), "cost", self.cost)]
            if self.cost is not None
            else [
                (("cost_components", part), f"cost component '{part}'", value)
                for part, value in (self.cost_components or {}).items()
            ]
        )
        return [
            Problem(
                path,
                f"{name} has {label} {show_number(value)}, which is not to the penny; give money "
                "with at most 2 decimal places.",
            )
            for path, label, value in amounts
            if value != value.quantize(PENNY)
        ]

    def _capacity_problems(self, name: str) -> list[Problem]:
        hours = self._given(HOURS_FIELDS)
        given_minutes = self.practical_capacity_minutes is not None
        zero = (
            f"{name} has a practical capacity of 0 minutes{{because}}, so its capacity cost "
            "rate (cost per minute) cannot be worked out; give the time it is available for "
            "work in the period."
        )
        if given_minutes and hours:
            return [
                Problem(
                    (hours[0],),
                    f"{name} gives both practical_capacity_minutes and an hours-based capacity "
                    f"({_listing(hours)}); give one way to work out its capacity.",
                )
            ]
        if given_minutes:
            if self.quantity is not None:
                return [
                    Problem(
                        ("quantity",),
                        f"{name} gives quantity with practical_capacity_minutes; quantity "
                        "multiplies the capacity worked out from hours, so put the minutes of "
                        "all of them in practical_capacity_minutes.",
                    )
                ]
            if self.practical_capacity_minutes == 0:
                return [Problem(("practical_capacity_minutes",), zero.format(because=""))]
            return []
        if not hours:
            return [
                Problem(
                    (),
                    f"{name} has a cost but no practical capacity; give "
                    "practical_capacity_minutes, or hours_per_day, days_per_week, "
                    "weeks_per_year and practical_fraction.",
                )
            ]
        missing = [field for field in HOURS_FIELDS if field not in hours]
        if missing:
            return [
                Problem(
                    (hours[0],),
                    f"{name} gives {_either(hours, 'and')} but not {_either(missing, 'or')}; "
                    "practical capacity is hours_per_day × days_per_week × weeks_per_year × "
                    "practical_fraction × 60 minutes, so give all four.",
                )
            ]
        problems = []
        for field in (*HOURS_FIELDS, "quantity"):
            value = getattr(self, field)
            if value == 0:
                problems.append(Problem((field,), zero.format(because=f" because {field} is 0")))
            elif field in HOURS_LIMITS and value > HOURS_LIMITS[field][0]:
                problems.append(
                    Problem(
                        (field,),
                        f"{name} has {field} {show_number(value)}, which is too many: "
                        f"{HOURS_LIMITS[field][1]}.",
                    )
                )
        return problems


class AddedMinutes(Frozen):
    """A term of a time equation: minutes added to the step when a condition holds."""

    when: Identifier = Field(
        description="The condition, e.g. 'new_patient'; the process gives the share of units "
        "for which it holds."
    )
    minutes: Decimal = Field(description="Minutes added when the condition holds.")


class TimeEquation(Frozen):
    """How long a step takes: base minutes, plus minutes for each condition that holds
    (Kaplan & Anderson's time equation: base + β₁X₁ + β₂X₂ …, each X 0 or 1)."""

    base: Decimal = Field(description="Minutes the step takes when no condition holds.")
    add: tuple[AddedMinutes, ...] = Field(
        default=(), description="Minutes added when a condition holds, one entry per condition."
    )


class Step(Frozen):
    """One activity of a process, done by one resource, taking minutes of its time. A step
    that needs two resources at once (a nurse in a clinic room) is written as two steps."""

    id: Identifier = Field(description="The step's id, unique within its process.")
    resource: Identifier = Field(description="Id of the declared resource that does the step.")
    minutes: TimeEquation = Field(
        description="Minutes of the resource's time per unit of the process: a number, or a "
        "time equation {base: 20, add: [{when: new_patient, minutes: 4}]}."
    )
    description: str | None = Field(default=None, description="What happens in the step.")

    @field_validator("minutes", mode="before")
    @classmethod
    def _plain_number_is_base(cls, value: Any) -> Any:
        # A plain number is the common case; it is a time equation with no conditions. Text
        # that reads as a number counts too, as for every other number in the model (YAML
        # reads 1e3 as text).
        if isinstance(value, (int, float, Decimal)) and not isinstance(value, bool):
            return {"base": value}
        if isinstance(value, str):
            try:
                return {"base": Decimal(value.strip())}
            except InvalidOperation:
                pass
            raise ValueError(
                "should be a number of minutes, or a time equation like {base: 20, add: "
                f"[{{when: new_patient, minutes: 4}}]}}, not {value!r}"
            )
        return value

    @model_validator(mode="after")
    def _minutes_not_negative(self) -> Step:
        name = f"step '{self.id}'"
        problems = []
        if self.minutes.base < 0:
            problems.append(
                Problem(
                    ("minutes", "base"),
                    f"{name} takes {show_number(self.minutes.base)} minutes; minutes cannot be "
                    "negative.",
                )
            )
        first: dict[str, int] = {}
        for index, term in enumerate(self.minutes.add):
            if term.minutes < 0:
                problems.append(
                    Problem(
                        ("minutes", "add", index, "minutes"),
                        f"{name} adds {show_number(term.minutes)} minutes when '{term.when}'; "
                        "minutes cannot be negative.",
                    )
                )
            if term.when in first:
                problems.append(
                    Problem(
                        ("minutes", "add", index, "when"),
                        f"{name} adds minutes when '{term.when}' twice{{first}}; add them up "
                        "in one entry.",
                        ("minutes", "add", first[term.when], "when"),
                    )
                )
            first.setdefault(term.when, index)
        _raise_if_any(problems)
        return self


class Process(Frozen):
    """A unit of care that repeats (a clinic visit, a CT scan, a day on the stroke unit):
    its steps in order, how often it ran in the period, and the share of units for which
    each condition of its time equations holds.

    A condition pack refers to it as ``<model file>#<process id>``."""

    id: Identifier = Field(description="The process's id, unique in the model file.")
    description: str | None = Field(default=None, description="What one unit of the process is.")
    volume: int | None = Field(
        default=None,
        description="How many units of the process ran in the period. Without it the process "
        "has unit costs but no totals, and uses none of the resources' capacity.",
    )
    conditions: dict[Identifier, Decimal] = Field(
        default_factory=dict,
        description="For each condition the time equations use, the share of units (0 to 1) "
        "for which it holds, e.g. {new_patient: 0.3}.",
    )
    steps: tuple[Step, ...] = Field(min_length=1, description="The steps, in order.")

    @model_validator(mode="after")
    def _shares_match_the_time_equations(self) -> Process:
        name = f"process '{self.id}'"
        problems = []
        if self.volume is not None and self.volume < 0:
            problems.append(
                Problem(
                    ("volume",),
                    f"{name} has a volume of {self.volume}; the volume is how many units ran in "
                    "the period and cannot be negative.",
                )
            )
        for condition, share in self.conditions.items():
            if not 0 <= share <= 1:
                problems.append(
                    Problem(
                        ("conditions", condition),
                        f"{name} gives condition '{condition}' a share of {show_number(share)}; a "
                        "share is the fraction of units for which the condition holds, from 0 "
                        "to 1.",
                    )
                )
        first_step: dict[str, int] = {}
        used: list[str] = []
        for index, step in enumerate(self.steps):
            if step.id in first_step:
                problems.append(
                    Problem(
                        ("steps", index, "id"),
                        f"{name} has two steps with id '{step.id}'{{first}}; give each step its "
                        "own id.",
                        ("steps", first_step[step.id], "id"),
                    )
                )
            first_step.setdefault(step.id, index)
            for term_index, term in enumerate(step.minutes.add):
                if term.when not in used:
                    used.append(term.when)
                if term.when not in self.conditions:
                    problems.append(
                        Problem(
                            ("steps", index, "minutes", "add", term_index, "when"),
                            f"step '{step.id}' adds minutes when '{term.when}', but {name} "
                            f"gives no share for it; add conditions: {{{term.when}: <share of "
                            "units, 0 to 1>} to the process.",
                        )
                    )
        for condition in self.conditions:
            if condition not in used:
                problems.append(
                    Problem(
                        ("conditions", condition),
                        f"{name} gives a share for condition '{condition}', which no step's time "
                        "equation uses; "
                        + (
                            f"the conditions used are {_listing(used)}."
                            if used
                            else "no step adds minutes for any condition."
                        ),
                    )
                )
        _raise_if_any(problems)
        return self


class TdabcModel(Frozen):
    """A TDABC model: resources with their capacity cost rates, and processes that use
    their time, for one period (or resources alone, for their rates)."""

    currency: str = Field(
        pattern=CURRENCY_PATTERN,
        description="ISO 4217 code of the currency all money is in, like GBP.",
    )
    period: Period = Field(
        description="The period the costs and volumes cover: year, quarter or month."
    )
    description: str | None = Field(
        default=None, description="What the model covers (service, site, financial year)."
    )
    resources: tuple[Resource, ...] = Field(min_length=1, description="The resources.")
    # TDABC's first step is the capacity cost rates, before any process is mapped, so a
    # model of resources alone is complete: it reports their capacity and rates.
    processes: tuple[Process, ...] = Field(
        default=(),
        description="The processes. Leave them out to work out the resources' capacity "
        "cost rates alone, before any process map exists.",
    )

    @model_validator(mode="after")
    def _references_resolve(self) -> TdabcModel:
        problems = _duplicates("resources", "resource", [r.id for r in self.resources])
        problems += _duplicates("processes", "process", [p.id for p in self.processes])
        declared = [resource.id for resource in self.resources]
        for p_index, process in enumerate(self.processes):
            for s_index, step in enumerate(process.steps):
                if step.resource not in declared:
                    problems.append(
                        Problem(
                            ("processes", p_index, "steps", s_index, "resource"),
                            f"step '{step.id}' uses resource '{step.resource}', which is not "
                            f"declared; declared resources are {_listing(declared)}.",
                        )
                    )
        _raise_if_any(problems)
        return self


def _duplicates(section: str, noun: str, ids: list[str]) -> list[Problem]:
    first: dict[str, int] = {}
    problems = []
    for index, item_id in enumerate(ids):
        if item_id in first:
            problems.append(
                Problem(
                    (section, index, "id"),
                    f"{noun} '{item_id}' is declared twice{{first}}; give each {noun} its own id.",
                    (section, first[item_id], "id"),
                )
            )
        first.setdefault(item_id, index)
    return problems
