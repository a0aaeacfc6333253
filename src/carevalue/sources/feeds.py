"""The canonical feeds: the input contract of DESIGN.md section 3, declared as data.

Each feed is a frozen declaration of its columns (type, whether the column must be
present, whether a value may be blank, allowed values, numeric range) and its key.
Ingest, the synthetic trust and the docs all read these declarations; nothing else
restates them. Pure: no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

ColumnType = Literal["text", "integer", "number", "date", "timestamp", "json"]


@dataclass(frozen=True)
class Column:
    name: str
    type: ColumnType
    description: str
    required: bool = True  # the column must be present in the file
    nullable: bool = True  # a blank value is allowed
    allowed: tuple[str, ...] | None = None
    minimum: float | None = None
    maximum: float | None = None
    # A regular expression the whole value must match, and how to say it to a person.
    pattern: str | None = None
    pattern_hint: str | None = None


@dataclass(frozen=True)
class RowRule:
    """A rule between two columns of one row: ``later`` must not be before ``earlier``."""

    earlier: str
    later: str
    reason: str


@dataclass(frozen=True)
class Feed:
    name: str
    description: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]
    row_rules: tuple[RowRule, ...] = field(default=())
    # Columns replaced by a keyed hash at ingest: source column -> stored column.
    pseudonymised: tuple[tuple[str, str], ...] = field(default=())

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    @property
    def required_columns(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns if c.required)

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(name)


SEXES = ("female", "male", "other", "unknown")
# NHS Data Dictionary "Ethnic Category" codes; Z = not stated, 99 = not known.
ETHNIC_CATEGORIES = tuple("ABCDEFGHJKLMNPRSZ") + ("99",)
SETTINGS = ("inpatient", "day_case", "outpatient", "emergency", "critical_care", "community")
ADMISSION_METHODS = ("elective", "emergency", "transfer")
DISCHARGE_DESTINATIONS = (
    "home",
    "care_home",
    "rehabilitation",
    "other_hospital",
    "hospice",
    "died",
    "other",
)
DIAGNOSIS_CODE_SYSTEMS = ("ICD10", "SNOMED")
ACTIVITY_TYPES = (
    "ward_stay",
    "theatre",
    "procedure",
    "imaging",
    "pathology",
    "pharmacy",
    "critical_care",
    "outpatient_attendance",
    "therapy",
    "community_visit",
    "ambulance",
)
ACTIVITY_CODE_SYSTEMS = ("OPCS4", "SNOMED", "ICD10", "DMD", "LOINC", "NICIP", "LOCAL")
PROM_MODES = ("paper", "online", "telephone", "clinician", "app")
EXPENSE_TYPES = ("pay", "non_pay", "overhead", "income", "excluded")


PATIENTS = Feed(
    name="patients",
    description="One row per patient known to the trust.",
    key=("patient_id",),
    columns=(
        Column("patient_id", "text", "The trust's local patient identifier.", nullable=False),
        Column(
            "nhs_number",
            "text",
            "10-digit NHS number; replaced by a keyed hash at ingest and never stored.",
            required=False,
        ),
        Column("birth_date", "date", "Date of birth.", nullable=False),
        Column("sex", "text", "Recorded sex.", nullable=False, allowed=SEXES),
        Column("ethnicity", "text", "NHS ethnic category code.", allowed=ETHNIC_CATEGORIES),
        Column(
            "imd_decile",
            "integer",
            "Index of Multiple Deprivation decile of residence (1 = most deprived).",
            minimum=1,
            maximum=10,
        ),
        Column("death_date", "date", "Date of death, blank if not known to have died."),
    ),
    row_rules=(RowRule("birth_date", "death_date", "death_date is before birth_date"),),
    pseudonymised=(("nhs_number", "nhs_number_hash"),),
)

ENCOUNTERS = Feed(
    name="encounters",
    description="Admissions, attendances and contacts: one row per encounter.",
    key=("encounter_id",),
    columns=(
        Column("encounter_id", "text", "Encounter identifier.", nullable=False),
        Column("patient_id", "text", "Patient the encounter belongs to.", nullable=False),
        Column("setting", "text", "Care setting.", nullable=False, allowed=SETTINGS),
        Column("admission_method", "text", "How the patient came in.", allowed=ADMISSION_METHODS),
        Column("start_at", "timestamp", "Admission or attendance start.", nullable=False),
        Column("end_at", "timestamp", "Discharge or attendance end; blank if not recorded."),
        Column("site", "text", "Hospital site."),
        Column("specialty", "text", "Treatment specialty."),
        Column(
            "discharge_destination",
            "text",
            "Where the patient went at the end of the encounter.",
            allowed=DISCHARGE_DESTINATIONS,
        ),
    ),
    row_rules=(RowRule("start_at", "end_at", "end_at is before start_at"),),
)

DIAGNOSES = Feed(
    name="diagnoses",
    description="Coded diagnoses recorded in an encounter.",
    key=("encounter_id", "code_system", "code"),
    columns=(
        Column("encounter_id", "text", "Encounter the diagnosis was recorded in.", nullable=False),
        Column("patient_id", "text", "Patient.", nullable=False),
        Column(
            "code_system", "text", "Coding system.", nullable=False, allowed=DIAGNOSIS_CODE_SYSTEMS
        ),
        Column("code", "text", "Diagnosis code (ICD-10 with or without its dot).", nullable=False),
        Column(
            "position", "integer", "1 = primary diagnosis.", nullable=False, minimum=1, maximum=99
        ),
        Column("recorded_at", "timestamp", "When it was recorded."),
    ),
)

ACTIVITIES = Feed(
    name="activities",
    description="Everything done for a patient that consumes resources: one row per activity.",
    key=("activity_id",),
    columns=(
        Column("activity_id", "text", "Activity identifier.", nullable=False),
        Column("patient_id", "text", "Patient.", nullable=False),
        Column("encounter_id", "text", "Encounter, blank for activity outside an encounter."),
        Column(
            "activity_type", "text", "Kind of activity.", nullable=False, allowed=ACTIVITY_TYPES
        ),
        Column("code_system", "text", "Coding system of code.", allowed=ACTIVITY_CODE_SYSTEMS),
        Column("code", "text", "Procedure, test, drug or local activity code."),
        Column("start_at", "timestamp", "Start.", nullable=False),
        Column("end_at", "timestamp", "End; blank for point events."),
        Column("minutes", "number", "Staff or resource minutes.", minimum=0),
        Column("quantity", "number", "Units (bed days, tests, doses...).", minimum=0),
        Column("department", "text", "Department that delivered it."),
        Column("cost_centre", "text", "Ledger cost centre that bears its cost."),
        Column("resource_group", "text", "Staff group or resource consumed."),
    ),
    row_rules=(RowRule("start_at", "end_at", "end_at is before start_at"),),
)

OBSERVATIONS = Feed(
    name="observations",
    description="Clinical observations, scores and test results.",
    key=("patient_id", "encounter_id", "observed_at", "code"),
    columns=(
        Column("patient_id", "text", "Patient.", nullable=False),
        Column("encounter_id", "text", "Encounter, if any."),
        Column("observed_at", "timestamp", "When observed.", nullable=False),
        Column("code", "text", "Observation code.", nullable=False),
        Column("value_num", "number", "Numeric value."),
        Column("value_text", "text", "Text value."),
        Column("unit", "text", "Unit of value_num."),
    ),
)

PROM_RESPONSES = Feed(
    name="prom_responses",
    description="Patient-reported outcome measure responses.",
    key=("response_id",),
    columns=(
        Column("response_id", "text", "Response identifier.", nullable=False),
        Column("patient_id", "text", "Patient.", nullable=False),
        Column("instrument", "text", "Instrument, e.g. EQ-5D-5L, mRS.", nullable=False),
        Column("collected_at", "timestamp", "When completed.", nullable=False),
        Column("items", "json", "Item answers as a JSON object.", nullable=False),
        Column("mode", "text", "How it was collected.", allowed=PROM_MODES),
    ),
)

LEDGER = Feed(
    name="ledger",
    description="The trust's general ledger: cost by period, cost centre and expense code.",
    key=("period", "cost_centre", "expense_code"),
    columns=(
        Column(
            "period",
            "text",
            "Accounting month, YYYY-MM.",
            nullable=False,
            pattern=r"\d{4}-(0[1-9]|1[0-2])",
            pattern_hint="a month written YYYY-MM",
        ),
        Column("cost_centre", "text", "Cost centre.", nullable=False),
        Column("expense_code", "text", "Expense code.", nullable=False),
        Column("expense_type", "text", "Kind of expense.", nullable=False, allowed=EXPENSE_TYPES),
        Column("amount", "number", "Amount in pounds (income negative).", nullable=False),
    ),
)

FEEDS: dict[str, Feed] = {
    f.name: f
    for f in (PATIENTS, ENCOUNTERS, DIAGNOSES, ACTIVITIES, OBSERVATIONS, PROM_RESPONSES, LEDGER)
}

# Load order: parents before children so integrity checks see both.
FEED_ORDER: tuple[str, ...] = tuple(FEEDS)
