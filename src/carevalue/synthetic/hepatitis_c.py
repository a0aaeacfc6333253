"""Hepatitis C: referral to the hepatology clinic, fibrosis assessment, direct-acting antiviral
treatment for most, the SVR12 test of cure, loss to follow-up along the way, and reinfection
(mostly among people who inject drugs), with EQ-5D-5L at referral and at the SVR12 visit.

The cascade of care (referred -> treated -> tested -> cured) follows :data:`truths.HEPATITIS_C`.
Outpatient pharmacy issues after the first are collected without a clinic visit, so they have
no encounter (encounter_id blank), as in real pharmacy extracts.
"""

from __future__ import annotations

import math

import numpy as np

from carevalue.synthetic import proms
from carevalue.synthetic.acute_care import daytime
from carevalue.synthetic.catalogue import ITEM
from carevalue.synthetic.chunk import PathwayRecorder
from carevalue.synthetic.codes import (
    DIAGNOSIS,
    OBSERVATION,
    OBSERVATION_TEXT,
    PROM_INSTRUMENT,
    SETTING,
    SPECIALTY,
)
from carevalue.synthetic.mortality import seconds_to_death
from carevalue.synthetic.population import Population
from carevalue.synthetic.timeline import DAY, MINUTE, YEAR
from carevalue.synthetic.truths import HEPATITIS_C as T

YES, NO = OBSERVATION_TEXT["yes"], OBSERVATION_TEXT["no"]
DETECTED, NOT_DETECTED = OBSERVATION_TEXT["detected"], OBSERVATION_TEXT["not_detected"]
# (drug item, tablets per 28-day issue, number of issues)
REGIMENS = {
    "sofosbuvir/velpatasvir 12 weeks": ("DRUG_SOFOSBUVIR_VELPATASVIR", 28, 3),
    "glecaprevir/pibrentasvir 8 weeks": ("DRUG_GLECAPREVIR_PIBRENTASVIR", 84, 2),
}


class _Clinic:
    """Writes one patient's hepatology clinic visits."""

    def __init__(
        self,
        rec: PathwayRecorder,
        rng: np.random.Generator,
        patient: int,
        site: int,
        busy: list[tuple[int, int, int]],
    ) -> None:
        self.rec, self.rng, self.patient, self.site, self.busy = rec, rng, patient, site, busy

    def visit(self, when: int, first: bool = False) -> int:
        end = when + (40 if first else 20) * MINUTE
        enc = self.rec.encounter(
            self.patient, SETTING["outpatient"], when, end, self.site, SPECIALTY["Hepatology"]
        )
        item = "HEPATOLOGY_FIRST" if first else "HEPATOLOGY_FOLLOW_UP"
        self.rec.activity(self.patient, enc, ITEM[item], when, end, minutes=40.0 if first else 20.0)
        self.busy.append((self.patient, when - DAY, when + DAY))
        return enc

    def liver_tests(self, enc: int, when: int, liver: dict[str, float], full: bool) -> None:
        rec, i = self.rec, self.patient
        rec.activity(i, enc, ITEM["LAB_LIVER_PANEL"], when)
        for code in ("AST", "ALT", "PLATELETS") + (("ALBUMIN", "BILIRUBIN", "INR") if full else ()):
            rec.observation(i, enc, when, OBSERVATION[code], value_num=liver[code])

    def rna(self, enc: int, when: int, detected: bool) -> None:
        rec, i = self.rec, self.patient
        rec.activity(i, enc, ITEM["LAB_HCV_RNA"], when)
        if detected:
            load = float(round(10 ** self.rng.normal(6.0, 0.7)))
            rec.observation(
                i, enc, when, OBSERVATION["HCV_RNA"], value_num=load, value_text=DETECTED
            )
        else:
            rec.observation(i, enc, when, OBSERVATION["HCV_RNA"], value_text=NOT_DETECTED)


def generate_hepatitis_c(
    pop: Population,
    members: np.ndarray,
    rng: np.random.Generator,
    rec: PathwayRecorder,
    busy: list[tuple[int, int, int]],
) -> None:
    for i in members:
        _one_patient(int(i), pop, rng, rec, busy)


def _liver(
    rng: np.random.Generator, cirrhosis: bool, treated_cure: bool = False
) -> dict[str, float]:
    """Liver blood tests; cure brings transaminases back towards normal."""
    scale = 0.45 if treated_cure else 1.0
    ast = rng.lognormal(math.log((95 if cirrhosis else 52) * scale), 0.45)
    alt = rng.lognormal(math.log((80 if cirrhosis else 68) * scale), 0.5)
    platelets = rng.normal(118 if cirrhosis else 235, 40 if cirrhosis else 55)
    bilirubin = rng.lognormal(math.log(19 if cirrhosis else 9), 0.4)
    return {
        "AST": float(round(np.clip(ast, 10, 900))),
        "ALT": float(round(np.clip(alt, 8, 1200))),
        "PLATELETS": float(round(np.clip(platelets, 25, 600))),
        "ALBUMIN": float(round(np.clip(rng.normal(34 if cirrhosis else 41, 4), 18, 55))),
        "BILIRUBIN": float(round(np.clip(bilirubin, 2, 300))),
        "INR": round(float(np.clip(rng.normal(1.22 if cirrhosis else 1.0, 0.08), 0.8, 3.5)), 2),
    }


def _one_patient(
    i: int,
    pop: Population,
    rng: np.random.Generator,
    rec: PathwayRecorder,
    busy: list[tuple[int, int, int]],
) -> None:
    site = int(pop.home_site[i])
    injecting = bool(pop.injecting[i])
    imd = int(pop.imd[i])
    referred = daytime(rng, int(pop.index_date[i]))
    age = (referred - int(pop.birth[i])) / YEAR
    cirrhosis = rng.random() < T.cirrhosis_share
    multiplier = 2.0 * (3.0 if cirrhosis else 1.0) * (1.5 if injecting else 1.0)
    death = referred + 7 * DAY + int(seconds_to_death(age, rng.random(), multiplier))
    pop.death[i] = death
    clinic = _Clinic(rec, rng, i, site, busy)

    # First clinic: diagnosis, fibrosis assessment, viral load, risk.
    first = clinic.visit(referred, first=True)
    rec.diagnosis(first, i, DIAGNOSIS["B18.2"], 1, referred, site)
    if cirrhosis:
        rec.diagnosis(first, i, DIAGNOSIS["K74.6"], 2, referred, site)
    if injecting:
        rec.diagnosis(first, i, DIAGNOSIS["F11.2"], 3 if cirrhosis else 2, referred, site)
    bloods = referred + 10 * MINUTE
    clinic.liver_tests(first, bloods, _liver(rng, cirrhosis), full=cirrhosis or rng.random() < 0.5)
    clinic.rna(first, bloods, detected=True)
    if rng.random() < 0.8:
        rec.activity(i, first, ITEM["LAB_HCV_GENOTYPE"], bloods)
    rec.observation(
        i,
        first,
        referred + 5 * MINUTE,
        OBSERVATION["INJECTING_DRUG_USE"],
        value_text=YES if injecting else NO,
    )
    if cirrhosis or rng.random() < 0.6:
        stiffness = rng.lognormal(math.log(21.0 if cirrhosis else 6.5), 0.35 if cirrhosis else 0.3)
        low, high = (13.0, 75.0) if cirrhosis else (2.5, 12.4)
        kpa = round(float(np.clip(stiffness, low, high)), 1)
        rec.activity(
            i,
            first,
            ITEM["FIBROSCAN"],
            referred + 20 * MINUTE,
            referred + 35 * MINUTE,
            minutes=15.0,
        )
        rec.observation(
            i, first, referred + 35 * MINUTE, OBSERVATION["LIVER_STIFFNESS"], value_num=kpa
        )
    severity = proms.clamp01(0.3 + 0.15 * injecting + 0.15 * cirrhosis + float(rng.normal(0, 0.08)))
    if proms.responds(rng, T.prom_base_response, severity, imd):
        rec.prom(
            i,
            PROM_INSTRUMENT["EQ-5D-5L"],
            referred + 15 * MINUTE,
            proms.eq5d5l_items(rng, severity),
            proms.questionnaire_mode(rng),
        )

    treat_share = T.treatment_share_injecting if injecting else T.treatment_share
    if rng.random() >= treat_share - 0.01 * (5.5 - imd):
        # Not treated: some come back once more, then are lost to follow-up.
        if rng.random() < 0.4:
            again = daytime(rng, referred + int(rng.integers(60, 180)) * DAY)
            if again < death:
                enc = clinic.visit(again)
                clinic.liver_tests(enc, again + 10 * MINUTE, _liver(rng, cirrhosis), full=False)
        return

    cured, svr_visit = _treatment_course(
        rng,
        rec,
        clinic,
        referred,
        death,
        cirrhosis,
        injecting,
        severity,
        imd,
        allow_8_weeks=not cirrhosis,
    )
    if not cured or svr_visit is None:
        return

    # Reinfection after cure, found at a later clinic, and retreatment for some.
    reinfection_share = (
        T.reinfection_share_injecting if injecting else T.reinfection_share_not_injecting
    )
    if rng.random() < reinfection_share:
        found = daytime(rng, svr_visit + int(rng.integers(180, 730)) * DAY)
        if found < death:
            enc = clinic.visit(found)
            clinic.liver_tests(enc, found + 10 * MINUTE, _liver(rng, cirrhosis), full=False)
            clinic.rna(enc, found + 10 * MINUTE, detected=True)
            if rng.random() < T.retreatment_share_of_reinfections:
                _treatment_course(
                    rng,
                    rec,
                    clinic,
                    found,
                    death,
                    cirrhosis,
                    injecting,
                    severity,
                    imd,
                    allow_8_weeks=True,
                )


def _treatment_course(
    rng: np.random.Generator,
    rec: PathwayRecorder,
    clinic: _Clinic,
    decided: int,
    death: int,
    cirrhosis: bool,
    injecting: bool,
    severity: float,
    imd: int,
    allow_8_weeks: bool,
) -> tuple[bool, int | None]:
    """One DAA course from a treatment-start visit to the SVR12 test.

    Returns (cured, time of the SVR12 visit or None if not tested).
    """
    i = clinic.patient
    start = daytime(rng, decided + int(rng.integers(28, 85)) * DAY)
    if start >= death:
        return False, None
    regimen = (
        "glecaprevir/pibrentasvir 8 weeks"
        if allow_8_weeks and rng.random() < 0.6
        else "sofosbuvir/velpatasvir 12 weeks"
    )
    drug, tablets, issues = REGIMENS[regimen]
    completed = rng.random() < T.completion_share
    issued = issues if completed else 1
    start_visit = clinic.visit(start)
    clinic.liver_tests(start_visit, start + 10 * MINUTE, _liver(rng, cirrhosis), full=False)
    for k in range(issued):
        when = start + 20 * MINUTE + k * 28 * DAY
        if when >= death:
            break
        # Later issues are collected from the outpatient pharmacy, outside any encounter.
        rec.activity(i, start_visit if k == 0 else -1, ITEM[drug], when, quantity=float(tablets))
    end = start + issued * 28 * DAY
    if rng.random() < 0.7:
        eot = daytime(rng, end + int(rng.integers(-3, 8)) * DAY)
        if eot < death:
            clinic.visit(eot)

    tested_share = T.svr12_test_share_injecting if injecting else T.svr12_test_share
    svr = daytime(rng, end + int(rng.integers(84, 141)) * DAY)
    if svr >= death or rng.random() >= tested_share:
        return False, None
    if completed:
        cure_p = T.cure_if_completed_cirrhosis if cirrhosis else T.cure_if_completed
    else:
        cure_p = T.cure_if_not_completed
    cured = rng.random() < cure_p
    visit = clinic.visit(svr)
    clinic.liver_tests(
        visit, svr + 10 * MINUTE, _liver(rng, cirrhosis, treated_cure=cured), full=False
    )
    clinic.rna(visit, svr + 10 * MINUTE, detected=not cured)
    after = proms.clamp01(severity - (0.1 if cured else 0.0) + float(rng.normal(0, 0.05)))
    if proms.responds(rng, T.prom_base_response, after, imd):
        rec.prom(
            i,
            PROM_INSTRUMENT["EQ-5D-5L"],
            svr + 15 * MINUTE,
            proms.eq5d5l_items(rng, after),
            proms.questionnaire_mode(rng),
        )
    return cured, svr
