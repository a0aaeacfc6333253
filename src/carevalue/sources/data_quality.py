"""Data-quality findings over the loaded warehouse: declared checks, Ibis expressions.

Findings are reported, never acted on: an orphan activity stays loaded (it still cost
money) and is flagged so the trust can fix its extract. Each check counts the rows it
finds; ``evaluate_checks`` runs them all and returns one row per check.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import ibis
from ibis import _

Tables = dict[str, ibis.Table]


@dataclass(frozen=True)
class Check:
    id: str
    feed: str
    severity: str  # "error" (breaks linkage), "warning" (weakens a measure), "info"
    description: str
    needs: tuple[str, ...]
    rows: Callable[[Tables], ibis.Table]  # the offending rows
    key: str  # column of the offending rows to show as examples


def orphans(
    child: str, column: str, parent: str, parent_column: str
) -> Callable[[Tables], ibis.Table]:
    def rows(t: Tables) -> ibis.Table:
        linked = t[child].filter(t[child][column].notnull())
        return linked.anti_join(
            t[parent].select(parent_column), linked[column] == t[parent][parent_column]
        )

    return rows


def _activity_patient_differs(t: Tables) -> ibis.Table:
    activities, encounters = t["activities"], t["encounters"]
    joined = activities.join(
        encounters.select(encounter_id=_.encounter_id, encounter_patient=_.patient_id),
        "encounter_id",
    )
    return joined.filter(joined.patient_id != joined.encounter_patient)


CHECKS: tuple[Check, ...] = (
    Check(
        "encounter_without_patient",
        "encounters",
        "error",
        "encounters whose patient_id is not in the patients feed",
        ("encounters", "patients"),
        orphans("encounters", "patient_id", "patients", "patient_id"),
        "encounter_id",
    ),
    Check(
        "activity_without_encounter",
        "activities",
        "error",
        "activities whose encounter_id is not in the encounters feed",
        ("activities", "encounters"),
        orphans("activities", "encounter_id", "encounters", "encounter_id"),
        "activity_id",
    ),
    Check(
        "activity_without_patient",
        "activities",
        "error",
        "activities whose patient_id is not in the patients feed",
        ("activities", "patients"),
        orphans("activities", "patient_id", "patients", "patient_id"),
        "activity_id",
    ),
    Check(
        "activity_patient_differs_from_encounter",
        "activities",
        "error",
        "activities whose patient_id differs from their encounter's patient_id",
        ("activities", "encounters"),
        _activity_patient_differs,
        "activity_id",
    ),
    Check(
        "diagnosis_without_encounter",
        "diagnoses",
        "error",
        "diagnoses whose encounter_id is not in the encounters feed",
        ("diagnoses", "encounters"),
        orphans("diagnoses", "encounter_id", "encounters", "encounter_id"),
        "encounter_id",
    ),
    Check(
        "observation_without_patient",
        "observations",
        "error",
        "observations whose patient_id is not in the patients feed",
        ("observations", "patients"),
        orphans("observations", "patient_id", "patients", "patient_id"),
        "code",
    ),
    Check(
        "prom_without_patient",
        "prom_responses",
        "error",
        "PROM responses whose patient_id is not in the patients feed",
        ("prom_responses", "patients"),
        orphans("prom_responses", "patient_id", "patients", "patient_id"),
        "response_id",
    ),
    Check(
        "inpatient_without_discharge",
        "encounters",
        "warning",
        "inpatient or critical-care encounters with no end_at (discharge not recorded, "
        "or still in hospital at the extract date)",
        ("encounters",),
        lambda t: t["encounters"].filter(
            t["encounters"].setting.isin(["inpatient", "critical_care"])
            & t["encounters"].end_at.isnull()
        ),
        "encounter_id",
    ),
    Check(
        "diagnosis_code_with_dot",
        "diagnoses",
        "info",
        "ICD-10 diagnosis codes written with a dot (matched either way by condition packs)",
        ("diagnoses",),
        lambda t: t["diagnoses"].filter(
            (t["diagnoses"].code_system == "ICD10") & t["diagnoses"].code.contains(".")
        ),
        "code",
    ),
    Check(
        "patient_without_nhs_number",
        "patients",
        "info",
        "patients with no NHS number (they cannot be linked to other organisations' data)",
        ("patients",),
        lambda t: t["patients"].filter(t["patients"].nhs_number_hash.isnull()),
        "patient_id",
    ),
    Check(
        "nhs_number_check_digit_fails",
        "patients",
        "warning",
        "patients whose NHS number fails its Modulus 11 check digit (likely mistyped)",
        ("patients",),
        lambda t: t["patients"].filter(t["patients"].nhs_number_valid == False),  # noqa: E712 (an ibis expression, not a bool)
        "patient_id",
    ),
)

EXAMPLES = 5


def evaluate_checks(tables: Tables, *, extra: list[dict] | None = None) -> list[dict]:
    """Run every check whose feeds are loaded; one dict per check, zero counts included."""
    findings = []
    for check in CHECKS:
        if not all(name in tables for name in check.needs):
            continue
        offending = check.rows(tables)
        count = int(offending.count().execute())
        examples = []
        if count:
            examples = [
                str(v) for v in offending.select(check.key).limit(EXAMPLES).execute()[check.key]
            ]
        findings.append(
            {
                "check_id": check.id,
                "feed": check.feed,
                "severity": check.severity,
                "rows": count,
                "description": check.description,
                "examples": ", ".join(examples),
            }
        )
    findings.extend(extra or [])
    return findings
