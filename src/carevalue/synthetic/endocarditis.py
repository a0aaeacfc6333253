"""Infective endocarditis: admission (through A&E or by transfer from another hospital) to the
cardiac centre, blood cultures, echocardiography, weeks of IV antibiotics, valve surgery with
critical care for about half, outpatient follow-up, recurrence for some, and PROMs at 6 and 12
months.

The multidisciplinary endocarditis team that starts on ``truths.ENDOCARDITIS.service_change_date``
shortens time to antibiotics and to surgery and lowers 12-month mortality; see
:data:`truths.ENDOCARDITIS`. All inpatient care is at the North site (the cardiac centre);
patients may first attend A&E at either site.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from carevalue.synthetic import proms
from carevalue.synthetic.acute_care import (
    bed_days,
    daytime,
    emergency_arrival,
    emergency_department,
    to_minute,
)
from carevalue.synthetic.catalogue import ITEM
from carevalue.synthetic.chunk import PathwayRecorder
from carevalue.synthetic.codes import (
    ADMISSION_METHOD,
    DIAGNOSIS,
    DISCHARGE,
    NORTH,
    OBSERVATION,
    OBSERVATION_TEXT,
    ORGANISMS,
    PROM_INSTRUMENT,
    SETTING,
    SPECIALTY,
)
from carevalue.synthetic.mortality import seconds_to_death
from carevalue.synthetic.population import Population
from carevalue.synthetic.timeline import DAY, HOUR, MINUTE, NAT, YEAR, to_seconds
from carevalue.synthetic.truths import ENDOCARDITIS as T

TEAM_START = to_seconds(T.service_change_date)
ORGANISM_SHARES = np.array([0.28, 0.28, 0.14, 0.10, 0.08, 0.12])
ORGANISM_SHARES_INJECTING = np.array([0.65, 0.10, 0.05, 0.05, 0.05, 0.10])
# Targeted antibiotic by organism (culture negative: amoxicillin with gentamicin).
TARGETED_DRUG = {
    "Staphylococcus aureus": "DRUG_FLUCLOXACILLIN",
    "viridans streptococci": "DRUG_BENZYLPENICILLIN",
    "Enterococcus faecalis": "DRUG_AMOXICILLIN",
    "coagulase-negative staphylococci": "DRUG_VANCOMYCIN",
    "Streptococcus gallolyticus": "DRUG_CEFTRIAXONE",
    "culture negative": "DRUG_AMOXICILLIN",
}
DOSES_PER_DAY = {
    "DRUG_FLUCLOXACILLIN": 6,
    "DRUG_BENZYLPENICILLIN": 6,
    "DRUG_AMOXICILLIN": 6,
    "DRUG_VANCOMYCIN": 2,
    "DRUG_CEFTRIAXONE": 1,
    "DRUG_DAPTOMYCIN": 1,
}
VALVE_OPERATION = {
    "aortic": "THEATRE_AORTIC_VALVE",
    "mitral": "THEATRE_MITRAL_VALVE",
    "tricuspid": "THEATRE_TRICUSPID_VALVE",
}
YES, NO = OBSERVATION_TEXT["yes"], OBSERVATION_TEXT["no"]
FAR_FUTURE = 2**62


def _logistic(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


@dataclass
class Case:
    """What is true of one patient's endocarditis."""

    patient: int
    home_site: int
    age: float
    female: bool
    injecting: bool
    organism: str
    prosthetic: bool
    valve: str
    code: str
    creatinine: float
    death: int


def generate_endocarditis(
    pop: Population,
    members: np.ndarray,
    rng: np.random.Generator,
    rec: PathwayRecorder,
    busy: list[tuple[int, int, int]],
) -> None:
    for i in members:
        _one_patient(int(i), pop, rng, rec, busy)


def _one_patient(
    i: int,
    pop: Population,
    rng: np.random.Generator,
    rec: PathwayRecorder,
    busy: list[tuple[int, int, int]],
) -> None:
    injecting = bool(pop.injecting[i])
    transfer = rng.random() < T.transfer_share
    if transfer:
        arrival = daytime(rng, int(pop.index_date[i]), 10, 19)
    else:
        arrival = emergency_arrival(rng, int(pop.index_date[i]))
    age = (arrival - int(pop.birth[i])) / YEAR
    organism = ORGANISMS[
        int(rng.choice(6, p=ORGANISM_SHARES_INJECTING if injecting else ORGANISM_SHARES))
    ]
    prosthetic = rng.random() < (
        0.05 if injecting else float(np.clip(0.1 + 0.004 * (age - 50), 0.05, 0.35))
    )
    valve = str(
        rng.choice(
            ["aortic", "mitral", "tricuspid"],
            p=[0.35, 0.25, 0.4] if injecting else [0.55, 0.4, 0.05],
        )
    )
    code = str(rng.choice(["I33.0", "I38", "I39.8"], p=[0.8, 0.1, 0.1]))
    creatinine = float(
        np.clip(
            rng.lognormal(math.log(95.0), 0.45)
            * (1.2 if organism == "Staphylococcus aureus" else 1.0),
            40,
            900,
        )
    )
    case = Case(
        i,
        int(pop.home_site[i]),
        age,
        int(pop.sex[i]) == 0,
        injecting,
        organism,
        prosthetic,
        valve,
        code,
        creatinine,
        NAT,
    )

    team = arrival >= TEAM_START
    planned_surgery = rng.random() < float(
        np.clip(T.planned_surgery_share + 0.1 * prosthetic - 0.3 * (age > 80), 0.05, 0.9)
    )
    logit = (
        T.mortality_12m_intercept
        + T.mortality_12m_per_year_of_age * (age - 60)
        + T.mortality_12m_staphylococcus_aureus * (organism == "Staphylococcus aureus")
        + T.mortality_12m_prosthetic_valve * prosthetic
        + T.mortality_12m_creatinine_over_150 * (creatinine > 150)
        + T.mortality_12m_planned_surgery * planned_surgery
        + math.log(T.mortality_12m_team_odds_ratio) * team
    )
    dies_within_year = rng.random() < _logistic(logit)
    dies_in_hospital = dies_within_year and rng.random() < T.in_hospital_share_of_12m_deaths

    discharge, operated = _admission(
        rng,
        rec,
        case,
        arrival,
        transfer,
        team,
        planned_surgery,
        redo=False,
        dies_in_hospital=dies_in_hospital,
    )
    if dies_in_hospital:
        death = discharge
    elif dies_within_year:
        death = discharge + int(rng.uniform(0.05, 1.0) * max(DAY, arrival + 365 * DAY - discharge))
    else:
        death = arrival + 365 * DAY + int(seconds_to_death(age + 1, rng.random(), 1.8))
    pop.death[i] = death
    case.death = death
    busy.append((i, arrival - DAY, discharge + DAY))
    if dies_in_hospital:
        return

    # Follow-up clinics at about 6 weeks, 6 months and 12 months after discharge.
    for weeks in (6, 26, 52):
        when = daytime(rng, discharge + (weeks * 7 + int(rng.integers(-7, 8))) * DAY)
        if when < death and rng.random() < 0.87:
            specialty = "Cardiac Surgery" if operated and weeks == 6 else "Cardiology"
            op = rec.encounter(
                i, SETTING["outpatient"], when, when + 30 * MINUTE, NORTH, SPECIALTY[specialty]
            )
            rec.activity(i, op, ITEM["OP_FOLLOW_UP"], when, when + 30 * MINUTE, minutes=25.0)
            if weeks == 26:
                rec.activity(
                    i, op, ITEM["ECHO_TTE"], when - 40 * MINUTE, when - 10 * MINUTE, minutes=30.0
                )
            busy.append((i, when - DAY, when + DAY))

    # PROMs at 6 and 12 months after arrival.
    severity = (
        0.22
        + 0.18 * injecting
        + 0.1 * (age > 75)
        + 0.1 * (organism == "Staphylococcus aureus")
        + float(rng.normal(0, 0.08))
    )
    worry = 1.6 + 0.8 * injecting + 0.4 * operated
    for months, better in ((6, 0.0), (12, 0.06)):
        when = daytime(rng, arrival + int(months * 30.4 + rng.integers(-10, 11)) * DAY, 10, 18)
        sev = proms.clamp01(severity - better)
        if (
            when < death
            and when > discharge
            and proms.responds(rng, T.prom_base_response, sev, int(pop.imd[i]))
        ):
            mode = proms.questionnaire_mode(rng)
            rec.prom(i, PROM_INSTRUMENT["EQ-5D-5L"], when, proms.eq5d5l_items(rng, sev), mode)
            rec.prom(
                i,
                PROM_INSTRUMENT["IE-WORRY"],
                when + 3 * MINUTE,
                proms.worry_items(rng, worry - better * 5),
                mode,
            )

    # Recurrence: a new episode of endocarditis within the year.
    if rng.random() < T.recurrence_12m_share:
        back = emergency_arrival(rng, discharge + int(rng.uniform(30, 330)) * DAY)
        if back + 7 * DAY < death and back < arrival + 365 * DAY:
            if rng.random() > 0.6:
                case.organism = ORGANISMS[int(rng.choice(6, p=ORGANISM_SHARES))]
            case.prosthetic = case.prosthetic or operated
            redo = operated and rng.random() < T.redo_surgery_share_of_recurrences
            again, _ = _admission(
                rng,
                rec,
                case,
                back,
                False,
                back >= TEAM_START,
                redo,
                redo=redo,
                dies_in_hospital=False,
            )
            busy.append((i, back - DAY, again + DAY))


def _admission(
    rng: np.random.Generator,
    rec: PathwayRecorder,
    case: Case,
    arrival: int,
    transfer: bool,
    team: bool,
    planned_surgery: bool,
    redo: bool,
    dies_in_hospital: bool,
) -> tuple[int, bool]:
    """One endocarditis admission; returns (discharge instant, whether operated)."""
    i = case.patient
    # The patient's death if already drawn (a recurrence); otherwise not before this admission.
    death_limit = case.death if case.death != NAT else FAR_FUTURE
    # Time from arrival to the first dose of IV antibiotic.
    median = (
        T.time_to_antibiotic_median_hours_after
        if team
        else T.time_to_antibiotic_median_hours_before
    )
    if transfer:
        median *= T.transfer_time_to_antibiotic_factor
    first_dose = arrival + to_minute(
        float(np.clip(rng.lognormal(math.log(median), T.time_to_antibiotic_sigma), 0.25, 96)) * HOUR
    )

    if transfer:
        admitted = arrival
        adm_method = "transfer"
        ed = -1
    else:
        admitted = arrival + to_minute(rng.uniform(3.0, 7.0) * HOUR)
        adm_method = "emergency"
        ed = emergency_department(
            rec, rng, i, case.home_site, arrival, admitted, rng.random() < 0.5, "386661006"
        )
        rec.activity(i, ed, ITEM["LAB_ACUTE_PANEL"], arrival + 25 * MINUTE)

    # Plan: surgery, antibiotic course, discharge.
    surgery = NAT
    if planned_surgery:
        median_days = (
            T.time_to_surgery_median_days_after if team else T.time_to_surgery_median_days_before
        )
        days = float(np.clip(rng.lognormal(math.log(median_days), T.time_to_surgery_sigma), 1, 45))
        surgery = daytime(rng, arrival + int(days * DAY), 8, 10)
        surgery = max(surgery, admitted + 12 * HOUR)
    long_course = case.organism in ("Staphylococcus aureus", "Enterococcus faecalis") or (
        case.prosthetic
    )
    course_end = first_dose + (42 if long_course else 28) * DAY
    if surgery != NAT:
        course_end = max(course_end, surgery + 14 * DAY)
    opat = (
        surgery == NAT
        and not case.injecting
        and "strep" in case.organism.lower()
        and rng.random() < 0.45
    )
    if opat:
        discharge = daytime(rng, first_dose + int(rng.integers(14, 22)) * DAY, 11, 17)
    else:
        discharge = daytime(rng, course_end + int(rng.integers(0, 3)) * DAY, 11, 17)
        if surgery != NAT:
            discharge = max(discharge, surgery + int(rng.integers(8, 14)) * DAY)
    theatre_minutes = float(rng.integers(200, 331)) + (60.0 if redo else 0.0)
    died = dies_in_hospital
    if died:
        death = admitted + to_minute(rng.uniform(0.02, 1.0) * (discharge - admitted))
        discharge = max(death, admitted + 6 * HOUR)
    elif death_limit < discharge:
        discharge, died = death_limit, True
    # A patient who dies before the operation (or during it) does not have it recorded.
    if died and surgery != NAT and surgery + int(theatre_minutes + 120) * MINUTE >= discharge:
        surgery = NAT

    adm = rec.encounter(
        i,
        SETTING["inpatient"],
        admitted,
        discharge,
        NORTH,
        SPECIALTY["Cardiology"],
        admission_method=ADMISSION_METHOD[adm_method],
        discharge=DISCHARGE["died" if died else "home"],
    )
    # Diagnoses and observations
    position = 1
    codes = [case.code]
    codes += ["B95.6"] if case.organism == "Staphylococcus aureus" else []
    codes += ["Z95.2"] if case.prosthetic else []
    codes += ["F11.2"] if case.injecting else []
    codes += ["N18.3"] if case.creatinine > 150 else []
    codes += ["I10"] if rng.random() < 0.35 else []
    codes += ["E11.9"] if rng.random() < 0.18 else []
    for c in codes:
        rec.diagnosis(adm, i, DIAGNOSIS[c], position, admitted + 5 * HOUR, NORTH)
        position += 1
    first_seen = admitted + HOUR
    rec.observation(i, adm, first_seen, OBSERVATION["CREATININE"], value_num=round(case.creatinine))
    rec.observation(
        i,
        adm,
        first_seen,
        OBSERVATION["PROSTHETIC_VALVE"],
        value_text=YES if case.prosthetic else NO,
    )
    grown = admitted + to_minute(rng.uniform(1.5, 3.0) * DAY)
    if grown < discharge:
        rec.observation(
            i, adm, grown, OBSERVATION["ORGANISM"], value_text=OBSERVATION_TEXT[case.organism]
        )
    assessed = admitted + to_minute(rng.uniform(1.0, 3.0) * DAY)
    if assessed < discharge and (surgery != NAT or rng.random() < 0.8):
        rec.observation(
            i, adm, assessed, OBSERVATION["EUROSCORE_II"], value_num=_euroscore_ii(rng, case, redo)
        )

    # Investigations
    owner = ed if ed != -1 and first_dose < admitted else adm
    cultures = min(first_dose - 10 * MINUTE, arrival + 40 * MINUTE)
    rec.activity(
        i,
        ed if ed != -1 and cultures < admitted else adm,
        ITEM["LAB_BLOOD_CULTURE"],
        max(cultures, arrival + 5 * MINUTE),
        quantity=3.0,
    )
    tte = max(admitted + HOUR, arrival + to_minute(rng.uniform(0.2, 1.5) * DAY))
    if tte < discharge:
        rec.activity(i, adm, ITEM["ECHO_TTE"], tte, tte + 40 * MINUTE, minutes=40.0)
    toe = tte + to_minute(rng.uniform(0.5, 4.0) * DAY)
    if toe < discharge and rng.random() < 0.85:
        rec.activity(i, adm, ITEM["ECHO_TOE"], toe, toe + 60 * MINUTE, minutes=60.0)
    for day in range(2, int((discharge - admitted) / DAY), 4):
        rec.activity(i, adm, ITEM["LAB_ACUTE_PANEL"], daytime(rng, admitted + day * DAY, 7, 10))
    repeat = admitted + 3 * DAY
    if repeat < discharge:
        rec.activity(i, adm, ITEM["LAB_BLOOD_CULTURE"], daytime(rng, repeat, 7, 10), quantity=2.0)

    # Antibiotics: empirical first doses, then the targeted drug issued weekly.
    rec.activity(i, owner, ITEM["DRUG_VANCOMYCIN"], first_dose, quantity=1.0)
    rec.activity(i, owner, ITEM["DRUG_GENTAMICIN"], first_dose + 5 * MINUTE, quantity=1.0)
    drug = TARGETED_DRUG[case.organism]
    if drug == "DRUG_VANCOMYCIN" and rng.random() < 0.3:
        drug = "DRUG_DAPTOMYCIN"
    issue = max(grown, first_dose + HOUR)
    in_hospital_end = min(course_end, discharge)
    while issue < in_hospital_end:
        days = min(7.0, (in_hospital_end - issue) / DAY)
        doses = max(1, round(days * DOSES_PER_DAY[drug]))
        rec.activity(i, adm, ITEM[drug], issue, quantity=float(doses))
        issue += 7 * DAY

    # Surgery, critical care and the ward stays around them.
    operated = surgery != NAT
    if operated:
        rec.activity(i, adm, ITEM["LAB_PREOP_PANEL"], surgery - 18 * HOUR)
        minutes = theatre_minutes
        theatre_end = surgery + int(minutes) * MINUTE
        rec.activity(
            i,
            adm,
            ITEM[VALVE_OPERATION[case.valve]],
            surgery,
            theatre_end,
            minutes=minutes,
            staff_present=int(rng.integers(7, 10)),
        )
        level3_end = min(discharge, theatre_end + to_minute(rng.uniform(0.8, 2.5) * DAY))
        level2_end = min(discharge, level3_end + to_minute(rng.uniform(0.5, 2.0) * DAY))
        rec.activity(
            i, adm, ITEM["WARD_CARDIOLOGY"], admitted, surgery, quantity=bed_days(admitted, surgery)
        )
        rec.activity(
            i,
            adm,
            ITEM["CRITICAL_CARE_L3"],
            theatre_end,
            level3_end,
            quantity=bed_days(theatre_end, level3_end),
        )
        if level2_end > level3_end:
            rec.activity(
                i,
                adm,
                ITEM["CRITICAL_CARE_L2"],
                level3_end,
                level2_end,
                quantity=bed_days(level3_end, level2_end),
            )
        if discharge > level2_end:
            rec.activity(
                i,
                adm,
                ITEM["WARD_CARDIAC_SURGERY"],
                level2_end,
                discharge,
                quantity=bed_days(level2_end, discharge),
            )
    else:
        rec.activity(
            i,
            adm,
            ITEM["WARD_CARDIOLOGY"],
            admitted,
            discharge,
            quantity=bed_days(admitted, discharge),
        )
    rec.activity(
        i,
        adm,
        ITEM["DRUG_INPATIENT"],
        admitted + 2 * HOUR,
        quantity=float(max(1, round((discharge - admitted) / DAY))),
    )

    # Outpatient parenteral antibiotic therapy to finish the course at home.
    if opat and not died and course_end > discharge + DAY:
        first = daytime(rng, discharge + DAY, 9, 12)
        visits = []
        t = first
        while t < course_end and t + DAY < death_limit:
            visits.append(t)
            t = daytime(rng, t + int(rng.integers(1, 3)) * DAY, 9, 12)
        if visits:
            last_end = visits[-1] + 40 * MINUTE
            home = rec.encounter(
                i,
                SETTING["community"],
                visits[0],
                last_end,
                case.home_site,
                SPECIALTY["Infectious Diseases"],
                discharge=DISCHARGE["home"],
            )
            for k, v in enumerate(visits):
                rec.activity(i, home, ITEM["OPAT_VISIT"], v, v + 40 * MINUTE, minutes=40.0)
                if k % 3 == 0:
                    rec.activity(
                        i,
                        home,
                        ITEM["DRUG_CEFTRIAXONE"],
                        v,
                        quantity=float(min(7, round((course_end - v) / DAY))) or 1.0,
                    )
            discharge = last_end
    return discharge, operated


def _euroscore_ii(rng: np.random.Generator, case: Case, redo: bool) -> float:
    """EuroSCORE II (Nashef et al. 2012) from the case and a few drawn risk factors, in %."""
    weight_kg = float(np.clip(rng.normal(62 if case.female else 78, 13), 40, 150))
    clearance = (
        (140 - case.age)
        * weight_kg
        * (0.85 if case.female else 1.0)
        / (72 * case.creatinine / 88.4)
    )
    y = -5.324537 + 0.0285181 * max(1.0, case.age - 59)
    y += 0.2196434 * case.female
    y += 0.8592256 if clearance <= 50 else 0.303553 if clearance <= 85 else 0.0
    y += 1.118599 * (case.prosthetic or redo)
    y += 0.6194522  # active endocarditis
    y += 1.086517 * (rng.random() < 0.15)  # critical preoperative state
    y += 0.1886564 * (rng.random() < 0.1)  # chronic lung disease
    y += 0.3542749 * (rng.random() < 0.05)  # diabetes on insulin
    y += float(rng.choice([0.0, 0.1070545, 0.2958358, 0.5597929], p=[0.2, 0.35, 0.3, 0.15]))
    y += float(rng.choice([0.0, 0.3150652, 0.8084096], p=[0.75, 0.2, 0.05]))
    y += float(rng.choice([0.3174673, 0.7039121, 1.362947], p=[0.7, 0.27, 0.03]))
    y += 0.0062118  # single non-CABG procedure
    return round(100 * math.exp(y) / (1 + math.exp(y)), 2)
