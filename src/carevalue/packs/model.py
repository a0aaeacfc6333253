"""A condition pack as frozen, self-validating definition objects (pure: no I/O).

``ConditionPack`` mirrors pack.yaml section by section. Each model checks its own fields;
``ConditionPack`` also runs the checks that need the whole pack (references between
sections, unique ids, overlapping stages: ``cross_checks``), so a pack built in Python is
held to the same rules as one read from YAML. Code list *contents* are read from disk by
``validate_packs`` and attached to the loaded pack (``ConditionPack.codelist``).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from types import MappingProxyType
from typing import Annotated, Literal

from pydantic import (
    Discriminator,
    Field,
    NonNegativeInt,
    PositiveInt,
    PrivateAttr,
    Tag,
    model_validator,
)

from carevalue.packs.base import (
    POSITION_MEANING,
    ActivityType,
    AdmissionMethod,
    CodeSource,
    DayWindow,
    Frozen,
    Identifier,
    Position,
    Setting,
    Text,
    Why,
    check_position,
)
from carevalue.packs.codelists import CodeList
from carevalue.packs.measures import CaseMixVariable, Outcome, ValueEquation

OTHER_STAGE = "other"


class Governance(Frozen):
    """Who owns the pack, why it exists, and its review record."""

    id: Identifier = Field(
        description="The condition's id; must equal the pack's folder name, e.g. 'stroke'."
    )
    name: Text = Field(description="The condition's name as clinicians say it.")
    version: str = Field(
        pattern=r"^\d+\.\d+\.\d+$",
        description="Semantic version (MAJOR.MINOR.PATCH): raise MAJOR when a change moves "
        "patients between cohorts or changes what a measure means.",
    )
    owner_team: Text = Field(
        description="The multidisciplinary team that owns the pathway and this pack."
    )
    why_it_matters: Text = Field(
        description="The clinical narrative: why measuring value for this condition matters."
    )
    authored_by: tuple[Text, ...] = Field(
        min_length=1, description="Who wrote the pack (name, role)."
    )
    checked_by: tuple[Text, ...] = Field(
        min_length=1,
        description="Who checked the pack: at least one person, none of them an author.",
    )
    next_review: date = Field(
        description="Date (YYYY-MM-DD) by which the owner team reviews the pack again."
    )
    references: tuple[Text, ...] = Field(
        default=(), description="Standards and papers the pack follows (ICHOM sets, guidelines)."
    )

    @model_validator(mode="after")
    def _checked_by_someone_else(self) -> Governance:
        own = sorted(set(self.authored_by) & set(self.checked_by))
        if own:
            raise ValueError(
                f"{', '.join(own)} both wrote and checked the pack: it must be checked by "
                "someone who did not write it"
            )
        return self


class CodeListDeclaration(Frozen):
    """A code list the pack uses: a CSV file with columns code, term, system, release."""

    id: Identifier = Field(description="How rules in this pack refer to the list.")
    file: str = Field(
        pattern=r"^codelists/[A-Za-z0-9_\-]+\.csv$",
        description="Path of the CSV file, inside the pack's codelists folder.",
    )
    description: Text = Field(description="What the list holds, in a sentence.")
    match: Literal["exact", "prefix"] = Field(
        default="exact",
        description="'exact': a recorded code matches when it equals a listed code once both "
        "are normalised (ICD-10 and OPCS-4 compared without dots and in upper case, so I63.9 "
        "matches I639). 'prefix': a recorded code matches when it starts with a listed code "
        "(ICD-10 and OPCS-4 lists only, e.g. I48 matches I48.9).",
    )
    why: Why = None


class QualifyingCode(Frozen):
    """A code list and where to look for it."""

    codelist: Identifier = Field(description="Id of a declared code list.")
    source: CodeSource = Field(
        description="'diagnoses': a diagnosis recorded on the encounter; 'activities': an "
        "activity belonging to the encounter."
    )
    position: Position | None = Field(
        default=None, description=POSITION_MEANING + " Diagnoses only."
    )

    @model_validator(mode="after")
    def _position_for_diagnoses(self) -> QualifyingCode:
        check_position(self.source, self.position)
        return self


class IndexEvent(Frozen):
    """Which encounters can start a care cycle. A *qualifying event* is an encounter that
    passes these filters and carries a code from one of the cohort's inclusion lists. A
    filter left out accepts any value; values compare ignoring case."""

    settings: tuple[Setting, ...] | None = Field(
        default=None, min_length=1, description="Encounter settings allowed."
    )
    admission_methods: tuple[AdmissionMethod, ...] | None = Field(
        default=None, min_length=1, description="Admission methods allowed."
    )
    specialties: tuple[Text, ...] | None = Field(
        default=None, min_length=1, description="Treatment specialties allowed (trust's own names)."
    )
    why: Text = Field(
        description="Why this event marks the start of the patient's care for the condition."
    )


class AgeLimits(Frozen):
    """Age in whole years on the date of the index event; bounds are inclusive."""

    min_years: NonNegativeInt | None = Field(default=None, description="Youngest age included.")
    max_years: NonNegativeInt | None = Field(default=None, description="Oldest age included.")
    why: Why = None

    @model_validator(mode="after")
    def _ordered(self) -> AgeLimits:
        if (
            self.min_years is not None
            and self.max_years is not None
            and self.min_years > self.max_years
        ):
            raise ValueError(f"min_years {self.min_years} is above max_years {self.max_years}")
        return self


class Exclusion(QualifyingCode):
    """A code that stops a qualifying event from starting a cycle when it is recorded on an
    encounter (diagnoses) or activity (activities) starting inside the window."""

    window: DayWindow = Field(description="Days from the index event in which the code excludes.")
    why: Text = Field(description="The clinical reason for the exclusion.")

    @model_validator(mode="after")
    def _window_from_index(self) -> Exclusion:
        if self.window.relative_to != "index_event":
            raise ValueError("an exclusion window must be relative to the index_event")
        return self


class Cohort(Frozen):
    """Who is in the cohort and which event starts each of their care cycles.

    First cycle: the patient's earliest qualifying event with no other qualifying event in
    the ``lookback_days`` before it, within the age limits and without an exclusion. (When
    the data do not reach ``lookback_days`` back, the episode is flagged
    ``lookback_incomplete``.) Qualifying events up to the end of that cycle belong to it (a
    recurrence or continuation, never a new cycle). The next cycle starts at the first
    qualifying event more than ``new_episode_after_days`` after the previous cycle ended;
    qualifying events in between start nothing. An excluded event starts no cycle, but
    still counts as a qualifying event in later look-backs."""

    inclusion: tuple[QualifyingCode, ...] = Field(
        min_length=1, description="Code lists that make an encounter qualify (any one suffices)."
    )
    index_event: IndexEvent
    age: AgeLimits
    exclusions: tuple[Exclusion, ...] = Field(
        default=(), description="Codes that keep an event out."
    )
    lookback_days: NonNegativeInt = Field(
        description="Days before a first cycle's index event that must hold no qualifying event."
    )
    new_episode_after_days: NonNegativeInt = Field(
        description="Days after a cycle ends before a qualifying event can start a new cycle "
        "(0: the first qualifying event after the end does)."
    )
    why: Why = None


class CycleStart(Frozen):
    offset_days: int = Field(
        le=0,
        description="Day (relative to the index event) on which the cycle starts; 0 or negative.",
    )


class FixedEnd(Frozen):
    offset_days: PositiveInt = Field(
        description="The cycle ends on this day after the index event, inclusive."
    )


class EndEvent(Frozen):
    """The first activity from ``codelist`` starting after the index event; with
    ``after_most_recent``, the first one whose most recent earlier activity from that list
    is at least ``days_after`` days before it (e.g. the first HCV RNA test 112 days after
    the last antiviral issue: the SVR12 test, not an on-treatment one)."""

    codelist: Identifier = Field(
        description="Activity code list of the end event, e.g. the HCV RNA test."
    )
    after_most_recent: Identifier | None = Field(
        default=None, description="Activity code list that must precede the end event."
    )
    days_after: NonNegativeInt | None = Field(
        default=None,
        description="Minimum days from the most recent activity of that list to the end event.",
    )

    @model_validator(mode="after")
    def _paired(self) -> EndEvent:
        if (self.after_most_recent is None) != (self.days_after is None):
            raise ValueError("after_most_recent and days_after go together")
        return self


class EventEnd(Frozen):
    event: EndEvent
    plus_days: NonNegativeInt = Field(
        description="The cycle ends this many days after the end event."
    )
    max_days: PositiveInt = Field(
        description="Cap: the cycle ends on this day after the index event if the end event "
        "has not happened by then (or would end it later)."
    )


def _end_shape(value: object) -> str | None:
    """Which form of cycle end this is, told apart by its keys."""
    if isinstance(value, dict):
        return (
            "ends_on_event"
            if "event" in value
            else "fixed_length"
            if "offset_days" in value
            else None
        )
    if isinstance(value, EventEnd):
        return "ends_on_event"
    return "fixed_length" if isinstance(value, FixedEnd) else None


CycleEnd = Annotated[
    Annotated[FixedEnd, Tag("fixed_length")] | Annotated[EventEnd, Tag("ends_on_event")],
    Discriminator(
        _end_shape,
        custom_error_type="cycle_end_shape",
        custom_error_message="give either offset_days, or event with plus_days and max_days",
    ),
]


class CareCycle(Frozen):
    """The span of care whose cost and outcomes are attributed to the condition."""

    start: CycleStart
    end: CycleEnd = Field(
        description="Either {offset_days: N} (fixed length), or {event: ..., plus_days, "
        "max_days} (ends plus_days after an event, capped at max_days)."
    )
    why: Text = Field(description="Why the cycle starts and ends where it does.")

    @property
    def last_day(self) -> int:
        """The latest day (from the index event) the cycle can reach."""
        return self.end.offset_days if isinstance(self.end, FixedEnd) else self.end.max_days


class StageRule(Frozen):
    """One way an activity can belong to a stage. Every condition given must hold; a
    condition left out accepts anything. Settings and specialties are those of the
    activity's encounter (an activity without an encounter has neither, so fails a rule
    that names them). Days count from the index event by the date the activity starts."""

    activity_types: tuple[ActivityType, ...] | None = Field(
        default=None, min_length=1, description="Activity types (as in the activities feed)."
    )
    departments: tuple[Text, ...] | None = Field(
        default=None, min_length=1, description="Departments (ignoring case)."
    )
    specialties: tuple[Text, ...] | None = Field(
        default=None, min_length=1, description="Encounter treatment specialties (ignoring case)."
    )
    settings: tuple[Setting, ...] | None = Field(
        default=None, min_length=1, description="Encounter settings."
    )
    codelist: Identifier | None = Field(
        default=None, description="Activity code list the activity's code must match."
    )
    from_day: int | None = Field(
        default=None, description="First day, inclusive (absent: the cycle's first day)."
    )
    to_day: int | None = Field(
        default=None, description="Last day, inclusive (absent: the cycle's last day)."
    )

    @model_validator(mode="after")
    def _well_formed(self) -> StageRule:
        first, last = self.from_day, self.to_day
        if first is not None and last is not None and first > last:
            raise ValueError(f"the day window is inverted: from_day {first} is after to_day {last}")
        if not self.model_fields_set:
            raise ValueError(
                "a match rule needs at least one condition; an empty rule would match everything"
            )
        return self


class Stage(Frozen):
    """A stage of the pathway. An activity in the cycle belongs to the stage when it
    satisfies any one of the stage's rules. Stages may not overlap, so every activity gets
    exactly one stage, or 'other' when none matches."""

    id: Identifier = Field(description="Unique id of the stage; 'other' is reserved.")
    name: Text
    description: Text = Field(description="What happens to the patient in this stage.")
    match: tuple[StageRule, ...] = Field(
        min_length=1, description="Rules; an activity matching any of them is in the stage."
    )
    process_map: str | None = Field(
        default=None,
        pattern=r"^[A-Za-z0-9_./-]+\.(yaml|yml|json)#[a-z][a-z0-9_]*$",
        description="A TDABC process that costs one patient's pass through this stage bottom up, "
        "as FILE#PROCESS_ID with FILE relative to the pack folder (e.g. "
        "'process_maps/hyperacute.yaml#hyperacute_assessment'); 'carevalue costing compare' "
        "sets it beside the stage's PLICS cost.",
    )
    why: Why = None


class FlowActivity(Frozen):
    """A label the process maps use for the activities that match it. An activity gets the
    first label whose rules it meets; one that meets none is labelled with its stage's
    name and its activity type ("Acute stroke unit care: pathology")."""

    label: Text = Field(description="The activity as the team names it on a map.")
    match: tuple[StageRule, ...] | None = Field(
        default=None,
        min_length=1,
        description="Rules (as for stages); an activity meeting any of them may take the label.",
    )
    codes: tuple[Text, ...] | None = Field(
        default=None,
        min_length=1,
        description="Activity codes as written in the activities feed (exact match); with "
        "'match', both must hold.",
    )
    why: Why = None

    @model_validator(mode="after")
    def _says_what_matches(self) -> FlowActivity:
        if self.match is None and self.codes is None:
            raise ValueError(
                f"activity label '{self.label}' needs 'match' rules, 'codes', or both; "
                "without either it would take every activity"
            )
        return self


class KeyInterval(Frozen):
    """A time to a key intervention: from the first 'from_activity' of an episode to the
    first 'to_activity' at or after it (door-to-needle, time to antibiotics)."""

    id: Identifier
    name: Text
    from_activity: Text = Field(description="A label from 'activities' where the clock starts.")
    to_activity: Text = Field(description="A label from 'activities' where the clock stops.")
    target_minutes: PositiveInt | None = Field(
        default=None, description="The standard the team works to, in minutes, if there is one."
    )
    why: Why = None


class PatientFlow(Frozen):
    """How the pack's activities appear on activity and value stream maps."""

    activities: tuple[FlowActivity, ...] = Field(
        default=(), description="Labels for the maps, tried in order; the first match wins."
    )
    include_other_stage: bool = Field(
        default=False,
        description="Put activities outside every stage ('other') on the maps too.",
    )
    value_adding: tuple[Text, ...] = Field(
        default=(),
        description="Labels of activities that change the patient's condition or a decision "
        "about their care: their time is value-added time.",
    )
    stays: tuple[Text, ...] = Field(
        default=(),
        description="Labels of places a patient stays (ward stays, critical care): on the maps, "
        "but their time is not processing time.",
    )
    routine: tuple[Text, ...] = Field(
        default=(),
        description="Labels of activities repeated by design (therapy sessions, medicine "
        "rounds): their repeats are not rework.",
    )
    key_intervals: tuple[KeyInterval, ...] = Field(
        default=(), description="Times to key interventions, measured per episode."
    )
    why: Why = None

    @model_validator(mode="after")
    def _labels_declared(self) -> PatientFlow:
        labels = {a.label for a in self.activities}
        named = [
            *(("value_adding", x) for x in self.value_adding),
            *(("stays", x) for x in self.stays),
            *(("routine", x) for x in self.routine),
            *(
                (f"key interval '{k.id}'", x)
                for k in self.key_intervals
                for x in (k.from_activity, k.to_activity)
            ),
        ]
        for where, label in named:
            if label not in labels:
                raise ValueError(
                    f"{where} names '{label}', which is not one of the labels under "
                    f"'activities' ({', '.join(sorted(labels)) or 'none declared'})"
                )
        return self


class Reporting(Frozen):
    """Disclosure and small-number rules for everything reported from the pack."""

    min_cell: PositiveInt = Field(
        default=10,
        description="Fewest episodes a cell (a team, site, period or group) needs before a "
        "rate, mean or ratio is shown; smaller cells say 'too few to report'.",
    )
    why: Why = None


class ConditionPack(Frozen):
    """Everything CareValue needs to measure value for one condition."""

    governance: Governance
    codelists: tuple[CodeListDeclaration, ...] = Field(
        min_length=1, description="The code lists the pack uses."
    )
    cohort: Cohort
    care_cycle: CareCycle
    stages: tuple[Stage, ...] = Field(min_length=1, description="Pathway stages, in pathway order.")
    outcomes: tuple[Outcome, ...] = Field(min_length=1, description="The outcome set.")
    case_mix: tuple[CaseMixVariable, ...] = Field(
        default=(), description="Case-mix variables for risk adjustment."
    )
    value_equations: tuple[ValueEquation, ...] = Field(
        min_length=1, description="How value is computed."
    )
    reporting: Reporting = Field(
        default_factory=Reporting, description="Small-number rules for reports (optional)."
    )
    flow: PatientFlow = Field(
        default_factory=PatientFlow,
        description="Labels and value stream declarations for the patient flow maps (optional).",
    )

    # Code list contents, attached by the loader (read-only: the pack stays immutable).
    _loaded_codelists: Mapping[str, CodeList] = PrivateAttr(default_factory=dict)

    @model_validator(mode="after")
    def _consistent(self) -> ConditionPack:
        # Imported here because cross_checks itself builds on the models in this module.
        from carevalue.packs.cross_checks import PackParts, check_consistency

        findings = check_consistency(PackParts.of(self), self._loaded_codelists)
        if findings:
            raise ValueError("; ".join(f.message for f in findings))
        return self

    @property
    def id(self) -> str:
        return self.governance.id

    def codelist(self, codelist_id: str) -> CodeList:
        """The loaded codes of one of the pack's code lists (packs from ``load_pack``)."""
        try:
            return self._loaded_codelists[codelist_id]
        except KeyError:
            raise KeyError(
                f"code list '{codelist_id}' is not loaded: use carevalue.packs.load_pack"
            ) from None

    def with_codelists(self, codelists: Mapping[str, CodeList]) -> ConditionPack:
        """This pack with its code lists' contents attached (done once, by the loader)."""
        pack = self.model_copy()
        pack._loaded_codelists = MappingProxyType(dict(codelists))
        return pack
