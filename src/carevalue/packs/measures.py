"""What a pack measures: outcomes, case-mix variables and value equations.

A pack only *declares* these; the outcomes and value stages compute them. Each outcome and
each case-mix variable has a ``kind`` from a closed list, and each kind has its own
parameters, checked here, so a pack cannot ask for something no stage knows how to compute.
"""

from __future__ import annotations

import math
from datetime import date
from typing import Annotated, Literal

from pydantic import Field, PositiveFloat, PositiveInt, model_validator

from carevalue.packs.base import (
    POSITION_MEANING,
    AdmissionMethod,
    CodeSource,
    DayWindow,
    DischargeDestination,
    Frozen,
    Identifier,
    Position,
    Text,
    Why,
    check_position,
)

TIMEPOINT_PATTERN = r"^(\d+d|discharge|cycle_end_event|cycle_end)$"
AdmissionScope = Literal["index_admission", "inpatient_spell"]
ADMISSION_SCOPE_MEANING = (
    "'index_admission' is the encounter that is the index event; 'inpatient_spell' is that "
    "admission plus every inpatient admission with admission_method 'transfer' starting "
    "within 24 hours of the previous one ending (e.g. acute stroke unit then rehabilitation)."
)
Reading = Literal["first", "last", "highest", "lowest"]
# Outcomes whose value is 0 or 1 (a logistic risk model fits them); the rest are numbers.
BINARY_KINDS = frozenset(
    {
        "death_within",
        "death_in_hospital",
        "readmission_within",
        "recurrence_within",
        "reoperation_within",
        "discharge_destination",
        "complication",
        "cure_svr12",
        "reinfection_after_cure",
        "cascade_step",
    }
)
BINARY_SCORINGS = frozenset({"mrs_good_outcome"})


class FitPeriod(Frozen):
    from_date: date = Field(description="First index date of the episodes the model is fitted on.")
    to_date: date = Field(description="Last index date of the episodes the model is fitted on.")

    @model_validator(mode="after")
    def _ordered(self) -> FitPeriod:
        if self.from_date > self.to_date:
            raise ValueError(f"fit_on is inverted: {self.from_date} is after {self.to_date}")
        return self


class RiskModel(Frozen):
    """How to work out each episode's expected value of an outcome from its case mix, so
    that observed / expected compares teams and periods fairly."""

    family: Literal["logistic", "linear", "gamma"] = Field(
        description="'logistic' for a 0/1 outcome; 'linear' or 'gamma' (log link, for "
        "positive skewed values such as length of stay) for a number."
    )
    variables: tuple[Identifier, ...] = Field(
        min_length=1,
        description="Ids of the pack's case-mix variables; text variables enter as one "
        "indicator per category (the most common is the reference).",
    )
    fit_on: FitPeriod | None = Field(
        default=None,
        description="Fit on the episodes whose index date is in this period (a reference "
        "period, e.g. the year before a service change); all measured episodes when absent.",
    )
    coefficients: dict[str, float] | None = Field(
        default=None,
        description="Published or previously fitted coefficients to use instead of fitting: "
        "'intercept' and one per term ('age', 'stroke_type[haemorrhagic]'), on the link scale.",
    )
    min_events_per_variable: PositiveInt = Field(
        default=10,
        description="Fewest events (for a 0/1 outcome, the rarer of 1s and 0s; otherwise "
        "episodes) per model term below which the model is not fitted.",
    )
    why: Why = None


# ---------------------------------------------------------------------------- outcomes


class OutcomeBase(Frozen):
    kind: str = Field(description="What is computed: one of the outcome kinds.")
    id: Identifier = Field(
        description="Unique id of the outcome within the pack, e.g. 'death_90d'."
    )
    name: Text = Field(description="Short name a clinician recognises.")
    definition: Text = Field(description="Plain-English definition: who is counted and how.")
    tier: Literal[1, 2, 3] = Field(
        description="Porter's outcome tier: 1 health status achieved or retained, 2 process "
        "of recovery, 3 sustainability of health."
    )
    direction: Literal["higher_is_better", "lower_is_better"] = Field(
        description="Whether a higher value is better for the patient."
    )
    timepoint: str = Field(
        pattern=TIMEPOINT_PATTERN,
        description="When the outcome is read: 'Nd' (N days after the index event, e.g. "
        "'90d'), 'discharge' (end of the index admission), 'cycle_end_event' (the event "
        "that ends the care cycle, e.g. the SVR12 test) or 'cycle_end'.",
    )
    source: Literal["derived", "prom", "clinician"] = Field(
        description="Who reports it: 'derived' from routine data, 'prom' (the patient) or "
        "'clinician'."
    )
    window: DayWindow | None = Field(
        default=None,
        description="Days in which the event counts or the measure must be collected. "
        "Outcome windows may reach past the end of the care cycle.",
    )
    risk_model: RiskModel | None = Field(
        default=None, description="Case-mix model for the expected value (observed / expected)."
    )
    why: Why = None

    @model_validator(mode="after")
    def _consistent(self) -> OutcomeBase:
        kind = self.kind
        if self.risk_model is not None:
            binary = kind in BINARY_KINDS or getattr(self, "scoring", None) in BINARY_SCORINGS
            if binary != (self.risk_model.family == "logistic"):
                raise ValueError(
                    f"risk_model family '{self.risk_model.family}' does not fit a "
                    + (
                        "0/1 outcome: use 'logistic'"
                        if binary
                        else "numeric outcome: use 'linear' or 'gamma'"
                    )
                )
        allowed = SOURCES_BY_KIND.get(kind, ("derived",))
        if self.source not in allowed:
            raise ValueError(
                f"source '{self.source}' does not fit kind '{kind}', which is "
                + " or ".join(f"'{s}'" for s in allowed)
            )
        window = self.window
        if (
            self.timepoint.endswith("d")
            and window is not None
            and window.relative_to == "index_event"
        ):
            day = int(self.timepoint[:-1])
            if not window.from_day <= day <= window.to_day:
                raise ValueError(
                    f"timepoint {self.timepoint} lies outside its window "
                    f"(days {window.from_day} to {window.to_day})"
                )
        return self


RequiredWindow = Annotated[
    DayWindow, Field(description="Days (from the index event) in which the event counts.")
]


class DeathWithin(OutcomeBase):
    """Death from any cause on a day inside the window."""

    kind: Literal["death_within"]
    window: RequiredWindow


class DeathInHospital(OutcomeBase):
    """Death before discharge (discharge destination 'died', or a death date inside the stay)."""

    kind: Literal["death_in_hospital"]
    admission: AdmissionScope = Field(description=ADMISSION_SCOPE_MEANING)


class ReadmissionWithin(OutcomeBase):
    """An unplanned inpatient admission starting within N days of discharge."""

    kind: Literal["readmission_within"]
    days_after_discharge: PositiveInt = Field(description="Days after discharge that count.")
    admission: AdmissionScope = Field(
        description="Discharge from which stay. " + ADMISSION_SCOPE_MEANING
    )
    admission_methods: tuple[AdmissionMethod, ...] = Field(
        default=("emergency",),
        min_length=1,
        description="Admission methods that count as a readmission.",
    )


class RecurrenceWithin(OutcomeBase):
    """A new qualifying event (an encounter that passes the cohort's index-event filters and
    carries an inclusion code) starting after the index inpatient spell has ended, on a day
    inside the window: a new stroke, a new episode of endocarditis."""

    kind: Literal["recurrence_within"]
    window: RequiredWindow


class ReoperationWithin(OutcomeBase):
    """Among patients operated in the cycle, another operation from the list on a later day."""

    kind: Literal["reoperation_within"]
    window: RequiredWindow
    codelist: Identifier = Field(description="Procedure code list of the operations.")


class LengthOfStay(OutcomeBase):
    """Days from admission to discharge (fractional, from the timestamps)."""

    kind: Literal["length_of_stay"]
    admission: AdmissionScope = Field(description=ADMISSION_SCOPE_MEANING)


class TimeToFirstActivity(OutcomeBase):
    """Time from arrival to the first activity from a code list inside the window."""

    kind: Literal["time_to_first_activity"]
    codelist: Identifier = Field(description="Activity code list, e.g. IV antibiotics.")
    starting_from: Literal["index_event", "emergency_arrival"] = Field(
        description="Clock start: the index event, or 'emergency_arrival': the start of the "
        "emergency-setting encounter that ended within 24 hours before the index admission "
        "began (the A&E attendance), or the index event when there was none."
    )
    unit: Literal["minutes", "hours", "days"] = Field(description="Unit of the result.")


class DischargeDestinationOutcome(OutcomeBase):
    """1 when discharged to one of the listed destinations, else 0."""

    kind: Literal["discharge_destination"]
    admission: AdmissionScope = Field(
        description="Discharge from which stay. " + ADMISSION_SCOPE_MEANING
    )
    destinations: tuple[DischargeDestination, ...] = Field(
        min_length=1, description="Destinations that count as the good result."
    )


class Complication(OutcomeBase):
    """A diagnosis from the code list recorded on an encounter starting inside the window,
    among patients with an activity from ``among_codelist`` (all patients when absent)."""

    kind: Literal["complication"]
    window: RequiredWindow
    codelist: Identifier = Field(description="Diagnosis code list of the complication.")
    position: Position = Field(description=POSITION_MEANING)
    among_codelist: Identifier | None = Field(
        default=None, description="Activity code list of the treatment that puts patients at risk."
    )


class CureSvr12(OutcomeBase):
    """Sustained virological response 12 weeks after treatment: the first RNA result whose
    most recent treatment issue is at least ``days_after_treatment`` days earlier reads
    ``cured_value_text``. Among treated patients; missing when there is no such result."""

    kind: Literal["cure_svr12"]
    treatment_codelist: Identifier = Field(
        description="Activity code list of the antiviral issues."
    )
    observation: Text = Field(description="Observation code of the RNA result.")
    cured_value_text: Text = Field(description="value_text that means no virus detected.")
    days_after_treatment: PositiveInt = Field(
        description="Days from the most recent treatment issue before the result for it to "
        "count as the SVR12 result (12 weeks after the end of the last 28-day issue: 112)."
    )


class ReinfectionAfterCure(OutcomeBase):
    """Among the cured, virus detected again within N days of the cure."""

    kind: Literal["reinfection_after_cure"]
    cure_outcome: Identifier = Field(description="Id of the pack's cure_svr12 outcome.")
    observation: Text = Field(description="Observation code of the RNA result.")
    value_text: Text = Field(description="value_text that means virus detected.")
    within_days_of_cure: PositiveInt = Field(description="Days after the cure test that count.")


class DaysAtHome(OutcomeBase):
    """Days inside the window alive and not in an inpatient bed."""

    kind: Literal["days_at_home"]
    window: RequiredWindow


class QalyWithin(OutcomeBase):
    """Quality-adjusted life years over the window: the utility from another outcome (an
    EQ-5D or utility-weighted mRS score) held over the days alive in the window, divided by
    365.25. A single measurement stands for the whole window, so this is an approximation
    (area under a flat utility curve) and the docs say so."""

    kind: Literal["qaly"]
    window: RequiredWindow
    utility_outcome: Identifier = Field(
        description="Id of a prom_score outcome scored as a utility (eq5d5l_to_3l_dsu, "
        "eq5d5l_index_devlin2018 or utility_weighted_mrs)."
    )


PromScoring = Literal[
    "eq5d5l_to_3l_dsu",
    "eq5d5l_index_devlin2018",
    "eq5d_vas",
    "mrs",
    "mrs_good_outcome",
    "utility_weighted_mrs",
    "item",
]
# Scorings tied to one instrument; 'item' (read one item's value) suits any instrument.
SCORINGS_BY_INSTRUMENT: dict[str, tuple[str, ...]] = {
    "EQ-5D-5L": ("eq5d5l_to_3l_dsu", "eq5d5l_index_devlin2018", "eq5d_vas", "item"),
    "mRS": ("mrs", "mrs_good_outcome", "utility_weighted_mrs", "item"),
}


class PromScore(OutcomeBase):
    """A scored response to an instrument, collected inside the window (the one nearest
    the timepoint when there are several)."""

    kind: Literal["prom_score"]
    window: Annotated[DayWindow, Field(description="Days in which the response must be collected.")]
    instrument: Text = Field(
        description="Instrument as recorded in prom_responses, e.g. 'EQ-5D-5L'."
    )
    scoring: PromScoring = Field(
        description="How to score it: 'eq5d5l_to_3l_dsu' (NICE DSU mapping to EQ-5D-3L UK "
        "utility, Hernandez Alava 2023), 'eq5d5l_index_devlin2018' (England 5L value set), "
        "'eq5d_vas', 'mrs' (0-6; a patient who died before the window scores 6), "
        "'mrs_good_outcome' (1 when mRS 0-2), 'utility_weighted_mrs' (Chaisinanunkul 2015), "
        "'item' (the raw value of one item)."
    )
    item: str | None = Field(default=None, description="Item to read when scoring is 'item'.")

    @model_validator(mode="after")
    def _scoring_fits_instrument(self) -> PromScore:
        known = SCORINGS_BY_INSTRUMENT.get(self.instrument)
        if self.scoring != "item" and (known is None or self.scoring not in known):
            raise ValueError(
                f"scoring '{self.scoring}' does not apply to instrument '{self.instrument}'"
                + (f"; it can be scored as: {', '.join(known)}" if known else "; use 'item'")
            )
        if (self.scoring == "item") != (self.item is not None):
            raise ValueError("give 'item' exactly when scoring is 'item'")
        return self


class ClinicianScore(OutcomeBase):
    """A clinician-recorded score read from the observations feed inside the window."""

    kind: Literal["clinician_score"]
    window: RequiredWindow
    observation: Text = Field(description="Observation code of the score.")
    reading: Reading = Field(description="Which value to take when there are several.")


class CascadeEvidence(Frozen):
    """What shows a cascade step was reached: exactly one of an activity or diagnosis code
    list, an observation with a given text value, or another outcome being 1."""

    codelist: Identifier | None = Field(
        default=None, description="A diagnosis or activity code from this list in the window."
    )
    observation: str | None = Field(
        default=None, description="An observation with this code (and the value_text below)."
    )
    value_text: str | None = Field(default=None, description="The observation's value_text.")
    outcome: Identifier | None = Field(
        default=None, description="Another outcome of the pack whose value is 1."
    )

    @model_validator(mode="after")
    def _exactly_one(self) -> CascadeEvidence:
        forms = [self.codelist is not None, self.observation is not None, self.outcome is not None]
        if sum(forms) != 1:
            raise ValueError(
                "give exactly one of codelist, observation (with value_text) or outcome"
            )
        if (self.observation is None) != (self.value_text is None):
            raise ValueError("observation and value_text go together")
        return self


class CascadeStep(OutcomeBase):
    """One step of a cascade of care (e.g. diagnosed -> treated -> cured): 1 when the
    patient reached this step and the previous one, else 0."""

    kind: Literal["cascade_step"]
    step: PositiveInt = Field(description="Position in the cascade, 1 first.")
    previous_step: Identifier | None = Field(
        default=None, description="Id of the cascade_step outcome that must be reached first."
    )
    evidence: CascadeEvidence


Outcome = Annotated[
    DeathWithin
    | DeathInHospital
    | ReadmissionWithin
    | RecurrenceWithin
    | ReoperationWithin
    | LengthOfStay
    | TimeToFirstActivity
    | DischargeDestinationOutcome
    | Complication
    | CureSvr12
    | ReinfectionAfterCure
    | DaysAtHome
    | PromScore
    | ClinicianScore
    | CascadeStep
    | QalyWithin,
    Field(discriminator="kind"),
]
SOURCES_BY_KIND: dict[str, tuple[str, ...]] = {
    "prom_score": ("prom", "clinician"),
    "clinician_score": ("clinician",),
}

# ---------------------------------------------------------------------------- case mix


class CaseMixBase(Frozen):
    kind: str = Field(description="What the variable is: one of the case-mix kinds.")
    id: Identifier = Field(description="Unique id of the variable within the pack, e.g. 'nihss'.")
    name: Text = Field(description="Short name.")
    definition: Text = Field(description="Plain-English definition.")
    why: Why = None


class AgeAtIndex(CaseMixBase):
    """Age in whole years on the date of the index event."""

    kind: Literal["age"]


class SexOfPatient(CaseMixBase):
    """Recorded sex from the patients feed."""

    kind: Literal["sex"]


class ObservationValue(CaseMixBase):
    """A value from the observations feed inside the window."""

    kind: Literal["observation"]
    observation: Text = Field(description="Observation code, e.g. 'NIHSS'.")
    value: Literal["number", "text"] = Field(
        description="Read value_num ('number') or value_text ('text')."
    )
    reading: Reading = Field(description="Which value to take when there are several.")
    window: DayWindow

    @model_validator(mode="after")
    def _reading_fits_value(self) -> ObservationValue:
        if self.value == "text" and self.reading in ("highest", "lowest"):
            raise ValueError(
                f"reading '{self.reading}' needs a number; use 'first' or 'last' for text"
            )
        return self


class CharlsonScore(CaseMixBase):
    """Charlson comorbidity index from diagnoses in the window
    (reference/comorbidity/charlson_*.csv)."""

    kind: Literal["score"]
    score: Literal["charlson"]
    variant: Literal["quan2011", "charlson1987", "shmi_v1_35"] = Field(
        description="'quan2011': Quan 2005 ICD-10 groups with Quan 2011 weights; "
        "'charlson1987': the same groups with the original weights; 'shmi_v1_35': the "
        "groups and weights of the NHS Summary Hospital-level Mortality Indicator."
    )
    window: DayWindow


class Fib4Score(CaseMixBase):
    """FIB-4 = age x AST / (platelets x sqrt(ALT)) (Sterling 2006), from the observations
    nearest the index event inside the window."""

    kind: Literal["score"]
    score: Literal["fib4"]
    ast: Text = Field(description="Observation code of AST (U/L).")
    alt: Text = Field(description="Observation code of ALT (U/L).")
    platelets: Text = Field(description="Observation code of platelets (10^9/L).")
    window: DayWindow


class ApriScore(CaseMixBase):
    """APRI = (AST / upper limit of normal) x 100 / platelets (Wai 2003)."""

    kind: Literal["score"]
    score: Literal["apri"]
    ast: Text = Field(description="Observation code of AST (U/L).")
    platelets: Text = Field(description="Observation code of platelets (10^9/L).")
    ast_upper_limit_of_normal: PositiveFloat = Field(
        description="AST upper limit of normal (U/L) of the trust's laboratory."
    )
    window: DayWindow


class CodelistPresent(CaseMixBase):
    """1 when a code from the list is recorded in the window, else 0."""

    kind: Literal["codelist_present"]
    codelist: Identifier
    source: CodeSource = Field(description="Look in 'diagnoses' or 'activities'.")
    position: Position | None = Field(
        default=None, description=POSITION_MEANING + " Diagnoses only."
    )
    window: DayWindow

    @model_validator(mode="after")
    def _position_for_diagnoses(self) -> CodelistPresent:
        check_position(self.source, self.position)
        return self


class Category(Frozen):
    value: Text = Field(description="The category's value, e.g. 'ischaemic'.")
    codelist: Identifier = Field(description="Diagnosis code list that puts a patient in it.")


class CodelistCategory(CaseMixBase):
    """The first category (in the order listed) whose code list matches a diagnosis in the
    given position on the index encounter; ``otherwise`` when none does."""

    kind: Literal["codelist_category"]
    categories: tuple[Category, ...] = Field(min_length=2)
    position: Position = Field(description=POSITION_MEANING)
    otherwise: Text = Field(default="unknown", description="Value when no category matches.")


Score = Annotated[CharlsonScore | Fib4Score | ApriScore, Field(discriminator="score")]
CaseMixVariable = Annotated[
    AgeAtIndex | SexOfPatient | ObservationValue | Score | CodelistPresent | CodelistCategory,
    Field(discriminator="kind"),
]

# ---------------------------------------------------------------------------- value


class WeightedOutcome(Frozen):
    outcome: Identifier = Field(description="Id of one of the pack's outcomes.")
    weight: PositiveFloat = Field(description="Its share of the numerator; the weights sum to 1.")


class CostScope(Frozen):
    scope: Literal["whole_cycle", "stages"] = Field(
        description="'whole_cycle': every activity in the care cycle, 'other' included; "
        "'stages': only activities in the listed stages."
    )
    stages: tuple[Identifier, ...] | None = Field(
        default=None, min_length=1, description="Stage ids (or 'other') when scope is 'stages'."
    )

    @model_validator(mode="after")
    def _stages_iff_scoped(self) -> CostScope:
        if (self.scope == "stages") != (self.stages is not None):
            raise ValueError("list 'stages' exactly when scope is 'stages'")
        return self


def check_weights_sum_to_one(numerator: tuple[WeightedOutcome, ...], which: str) -> None:
    total = sum(part.weight for part in numerator)
    if not math.isclose(total, 1.0, abs_tol=1e-9):
        raise ValueError(f"{which} sum to {total:g}; they must sum to 1")


class WeightSet(Frozen):
    name: Text = Field(description="What these weights represent, e.g. 'clinicians' ranking'.")
    numerator: tuple[WeightedOutcome, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _weights_sum_to_one(self) -> WeightSet:
        check_weights_sum_to_one(self.numerator, f"the weights of '{self.name}'")
        return self


class ValueEquation(Frozen):
    """Value = outcomes that matter to patients / cost of the care that achieved them. The
    value stage puts each outcome on a 0-1 scale where 1 is best (reversing
    lower_is_better ones) before weighting."""

    id: Identifier = Field(description="Unique id of the equation within the pack.")
    name: Text
    definition: Text = Field(description="Plain-English statement of the ratio.")
    numerator: tuple[WeightedOutcome, ...] = Field(min_length=1)
    cost: CostScope = Field(description="Which costs form the denominator.")
    sensitivity_weights: tuple[WeightSet, ...] = Field(
        default=(),
        description="Alternative weights for a composite numerator; the value stage reports "
        "whether rankings of teams, sites or periods change under them (equal weights are "
        "always tried).",
    )
    why: Why = None

    @model_validator(mode="after")
    def _weights_sum_to_one(self) -> ValueEquation:
        check_weights_sum_to_one(self.numerator, "the numerator weights")
        return self
