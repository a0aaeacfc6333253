"""Acute stroke: arrival by ambulance, A&E, CT head, thrombolysis or thrombectomy for some,
hyperacute then stroke unit care, therapies, discharge (home with early supported discharge,
inpatient rehabilitation, care home) or death, a 6-month review and 90-day PROMs.

One patient at a time (about 3% of patients), drawing from :data:`truths.STROKE`.
"""

from __future__ import annotations

import math

import numpy as np

from carevalue.synthetic import proms
from carevalue.synthetic.acute_care import (
    bed_days,
    daytime,
    emergency_arrival,
    emergency_department,
    medical_readmission,
    to_minute,
)
from carevalue.synthetic.catalogue import ITEM
from carevalue.synthetic.chunk import PathwayRecorder
from carevalue.synthetic.codes import (
    ADMISSION_METHOD,
    DIAGNOSIS,
    DISCHARGE,
    OBSERVATION,
    OBSERVATION_TEXT,
    PROM_INSTRUMENT,
    SETTING,
    SITES,
    SPECIALTY,
)
from carevalue.synthetic.mortality import seconds_to_death
from carevalue.synthetic.population import Population
from carevalue.synthetic.timeline import DAY, HOUR, MINUTE, NAT, YEAR, month_index
from carevalue.synthetic.truths import STROKE as T

ISCHAEMIC_CODES = ("I63.9", "I63.4", "I63.5", "I63.3", "I63.0")
ISCHAEMIC_WEIGHTS = np.array([0.45, 0.2, 0.15, 0.12, 0.08])
HAEMORRHAGIC_CODES = ("I61.9", "I61.0", "I61.1")
PRE_MRS_SHARES = np.array([0.52, 0.2, 0.12, 0.09, 0.05, 0.02])
YES, NO = OBSERVATION_TEXT["yes"], OBSERVATION_TEXT["no"]


def _logistic(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


def generate_stroke(
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
    site = int(pop.home_site[i])
    arrival = emergency_arrival(rng, int(pop.index_date[i]))
    age = (arrival - int(pop.birth[i])) / YEAR

    # Case mix
    haemorrhagic = rng.random() < T.haemorrhagic_share
    if haemorrhagic:
        nihss = int(np.clip(round(rng.lognormal(math.log(11.0), 0.6)), 0, 42))
        code = HAEMORRHAGIC_CODES[int(rng.choice(3, p=[0.6, 0.25, 0.15]))]
    else:
        nihss = int(np.clip(round(rng.lognormal(math.log(5.5), 0.85)) - 1, 0, 42))
        code = ISCHAEMIC_CODES[int(rng.choice(5, p=ISCHAEMIC_WEIGHTS))]
    shift = 1 if age > 85 and rng.random() < 0.4 else 0
    pre_mrs = min(5, int(rng.choice(6, p=PRE_MRS_SHARES)) + shift)
    af_chance = 0.1 if haemorrhagic else float(np.clip(0.05 + 0.006 * (age - 50), 0.05, 0.4))
    af = rng.random() < af_chance
    diabetes = rng.random() < 0.24

    # Hyperacute treatment
    eligible = (not haemorrhagic) and 2 <= nihss <= 25 and pre_mrs <= 3
    thrombolysis_chance = T.thrombolysis_if_eligible if eligible else 0.01
    thrombolysed = rng.random() < thrombolysis_chance and not haemorrhagic
    thrombectomy = (
        (not haemorrhagic)
        and nihss >= 6
        and pre_mrs <= 2
        and (rng.random() < T.thrombectomy_if_nihss_6_plus)
    )
    dtn = T.door_to_needle_median_minutes[SITES[site]]
    needle = arrival + to_minute(
        float(np.clip(rng.lognormal(math.log(dtn), T.door_to_needle_sigma), 15, 240)) * MINUTE
    )
    ct = arrival + to_minute(float(np.clip(rng.lognormal(math.log(24.0), 0.6), 5, 360)) * MINUTE)
    if thrombolysed:
        ct = min(ct, needle - 10 * MINUTE)
    leave_ed = arrival + to_minute(
        float(np.clip(rng.lognormal(math.log(2.3 * HOUR), 0.4), 0.75 * HOUR, 8 * HOUR))
    )
    if thrombolysed:
        leave_ed = max(leave_ed, needle + 30 * MINUTE)
    groin = leave_ed + int(rng.integers(10, 50)) * MINUTE

    # Outcome: death within 90 days, then ordinary (raised) mortality.
    covid = 12 <= int(month_index(np.array([arrival]))[0]) <= 14
    logit = (
        T.mortality_90d_intercept
        + T.mortality_90d_per_year_of_age * (age - 75)
        + T.mortality_90d_per_nihss_point * (nihss - 5)
        + T.mortality_90d_haemorrhagic * haemorrhagic
        + T.mortality_90d_per_pre_mrs_point * pre_mrs
        + T.mortality_90d_thrombolysis * thrombolysed
        + T.mortality_90d_covid_first_wave * covid
    )
    if rng.random() < _logistic(logit):
        death = leave_ed + 2 * HOUR + int(90 * DAY * rng.beta(0.5, 1.9))
    else:
        death = (
            arrival
            + 90 * DAY
            + int(seconds_to_death(age + 0.25, rng.random(), T.after_90_days_mortality_multiplier))
        )
    pop.death[i] = death

    # Disability at 90 days if alive (0-5): drives destination, therapy and PROMs.
    latent = (
        0.55 * pre_mrs
        + 0.17 * nihss
        + 0.015 * (age - 75)
        - 0.5 * thrombolysed
        - 0.8 * thrombectomy
        + rng.normal(0.0, 0.9)
    )
    mrs90 = int(np.clip(round(latent + 0.7), 0, 5))

    # --- A&E ---------------------------------------------------------------------------------
    ed = emergency_department(
        rec, rng, i, site, arrival, leave_ed, rng.random() < 0.85, "230690007"
    )
    rec.activity(i, ed, ITEM["CT_HEAD"], ct, ct + 10 * MINUTE, minutes=15.0)
    if thrombectomy:
        rec.activity(i, ed, ITEM["CTA_HEAD_NECK"], ct + 6 * MINUTE, ct + 16 * MINUTE, minutes=15.0)
    rec.activity(i, ed, ITEM["LAB_ACUTE_PANEL"], arrival + 12 * MINUTE)
    rec.activity(i, ed, ITEM["LAB_COAGULATION"], arrival + 12 * MINUTE)
    if thrombolysed:
        rec.activity(i, ed, ITEM["THROMBOLYSIS"], needle, needle + 60 * MINUTE, minutes=60.0)
    rec.observation(
        i,
        ed,
        arrival + int(rng.integers(5, 30)) * MINUTE,
        OBSERVATION["NIHSS"],
        value_num=float(nihss),
    )

    # --- Acute admission ---------------------------------------------------------------------
    los_median = (
        T.acute_los_median_days
        * math.exp(0.03 * (nihss - 5) + 0.01 * (age - 75))
        * (1.25 if haemorrhagic else 1.0)
    )
    los = float(np.clip(rng.lognormal(math.log(los_median), T.acute_los_sigma), 0.5, 150))
    discharge = leave_ed + to_minute(los * DAY)
    died_in_hospital = death <= discharge
    if died_in_hospital:
        discharge = death
        destination = "died"
    else:
        destination = _destination(rng, mrs90)
    adm = rec.encounter(
        i,
        SETTING["inpatient"],
        leave_ed,
        discharge,
        site,
        SPECIALTY["Stroke Medicine"],
        admission_method=ADMISSION_METHOD["emergency"],
        discharge=DISCHARGE[destination],
    )
    clerked = leave_ed + 2 * HOUR
    rec.diagnosis(adm, i, DIAGNOSIS[code], 1, leave_ed + 4 * HOUR, site)
    position = 2
    for comorbid, present in (
        ("I48.9", af),
        ("E11.9", diabetes),
        ("I10", rng.random() < 0.6),
        ("I25.9", rng.random() < 0.12),
        ("N18.3", rng.random() < 0.12),
        ("F03", age > 75 and rng.random() < 0.12),
    ):
        if present:
            rec.diagnosis(adm, i, DIAGNOSIS[comorbid], position, leave_ed + 4 * HOUR, site)
            position += 1
    rec.observation(i, adm, clerked, OBSERVATION["MRS_PRE"], value_num=float(pre_mrs))
    rec.observation(i, adm, clerked, OBSERVATION["AF"], value_text=YES if af else NO)
    rec.observation(i, adm, clerked, OBSERVATION["DIABETES"], value_text=YES if diabetes else NO)

    if thrombectomy and groin < discharge:
        rec.activity(
            i,
            adm,
            ITEM["THROMBECTOMY"],
            groin,
            groin + int(rng.integers(50, 120)) * MINUTE,
            minutes=90.0,
        )
    hasu_end = min(discharge, leave_ed + to_minute(rng.uniform(1.0, 3.0) * DAY))
    rec.activity(
        i, adm, ITEM["WARD_HASU"], leave_ed, hasu_end, quantity=bed_days(leave_ed, hasu_end)
    )
    if discharge > hasu_end:
        rec.activity(
            i,
            adm,
            ITEM["WARD_STROKE_UNIT"],
            hasu_end,
            discharge,
            quantity=bed_days(hasu_end, discharge),
        )
    if rng.random() < 0.45 and discharge - leave_ed > DAY:
        mri = leave_ed + to_minute(rng.uniform(0.3, 1.0) * DAY)
        rec.activity(i, adm, ITEM["MRI_BRAIN"], mri, mri + 40 * MINUTE, minutes=40.0)
    for day in range(3, int((discharge - leave_ed) / DAY), 3):
        rec.activity(i, adm, ITEM["LAB_ACUTE_PANEL"], daytime(rng, leave_ed + day * DAY, 7, 10))
    days_in = max(1, int((discharge - leave_ed) / DAY))
    if not haemorrhagic:
        rec.activity(
            i, adm, ITEM["DRUG_ASPIRIN"], leave_ed + HOUR, quantity=float(min(14, days_in))
        )
        rec.activity(i, adm, ITEM["DRUG_ATORVASTATIN"], leave_ed + HOUR, quantity=float(days_in))
    rec.activity(i, adm, ITEM["DRUG_INPATIENT"], leave_ed + HOUR, quantity=float(2 * days_in))
    _therapies(rng, rec, i, adm, leave_ed + DAY, discharge, nihss, intensive=True)
    if not died_in_hospital and not haemorrhagic:
        drug = "DRUG_APIXABAN" if af else "DRUG_CLOPIDOGREL"
        rec.activity(i, adm, ITEM[drug], discharge - HOUR, quantity=56.0 if af else 28.0)

    span_end = discharge
    home_from = discharge if destination == "home" else NAT

    # --- Inpatient stroke rehabilitation -----------------------------------------------------
    if destination == "rehabilitation":
        start = discharge + int(rng.integers(0, 120)) * MINUTE
        end = start + to_minute(float(np.clip(rng.lognormal(math.log(24.0), 0.6), 3, 120)) * DAY)
        if death <= end:
            end, rehab_destination = death, "died"
        else:
            rehab_destination = "home" if mrs90 <= 3 or rng.random() < 0.3 else "care_home"
        rehab = rec.encounter(
            i,
            SETTING["inpatient"],
            start,
            end,
            site,
            SPECIALTY["Stroke Rehabilitation"],
            admission_method=ADMISSION_METHOD["transfer"],
            discharge=DISCHARGE[rehab_destination],
        )
        rec.diagnosis(rehab, i, DIAGNOSIS[code], 1, start + 3 * HOUR, site)
        rec.activity(i, rehab, ITEM["WARD_STROKE_REHAB"], start, end, quantity=bed_days(start, end))
        rec.activity(
            i,
            rehab,
            ITEM["DRUG_INPATIENT"],
            start + HOUR,
            quantity=float(max(1, round(1.5 * (end - start) / DAY))),
        )
        _therapies(rng, rec, i, rehab, start + DAY, end, nihss, intensive=False)
        span_end = end
        home_from = end if rehab_destination == "home" else NAT

    # --- Early supported discharge -----------------------------------------------------------
    if home_from != NAT and mrs90 <= 3 and rng.random() < T.early_supported_discharge_share:
        first = daytime(rng, home_from + int(rng.integers(1, 4)) * DAY)
        visits = int(rng.integers(6, 15))
        weeks = float(rng.uniform(2.0, 6.0))
        times = sorted(
            {daytime(rng, first + int(rng.uniform(0, weeks * 7)) * DAY) for _ in range(visits - 1)}
            | {first}
        )
        times = [t for t in times if t + 2 * HOUR < death]
        if times:
            minutes = [float(rng.integers(45, 76)) for _ in times]
            last_end = times[-1] + int(minutes[-1]) * MINUTE
            esd = rec.encounter(
                i,
                SETTING["community"],
                times[0],
                last_end,
                site,
                SPECIALTY["Stroke Medicine"],
                discharge=DISCHARGE["home"],
            )
            for t, m in zip(times, minutes):
                rec.activity(i, esd, ITEM["ESD_VISIT"], t, t + int(m) * MINUTE, minutes=m)
            span_end = max(span_end, last_end)

    # --- Unplanned readmission within 30 days ------------------------------------------------
    if home_from != NAT and rng.random() < T.readmission_30d_share:
        back = emergency_arrival(rng, home_from + int(rng.integers(2, 29)) * DAY)
        if back + 10 * DAY < death:
            back_home, _ = medical_readmission(rec, rng, i, site, back)
            busy.append((i, back - DAY, back_home + DAY))

    busy.append((i, arrival - DAY, span_end + DAY))

    # --- 90-day PROMs and the 6-month review -------------------------------------------------
    collected = daytime(rng, arrival + int(rng.integers(83, 101)) * DAY, 10, 17)
    if (
        collected < death
        and collected > span_end
        and proms.responds(rng, T.prom_base_response, mrs90 / 5.0, int(pop.imd[i]))
    ):
        rec.prom(
            i, PROM_INSTRUMENT["mRS"], collected, proms.mrs_items(mrs90), proms.clinician_mode(rng)
        )
        if rng.random() < 0.93:
            rec.prom(
                i,
                PROM_INSTRUMENT["EQ-5D-5L"],
                collected + 5 * MINUTE,
                proms.eq5d5l_items(rng, proms.clamp01(mrs90 / 5.0 * 0.9 + 0.05)),
                proms.questionnaire_mode(rng),
            )
    review = daytime(rng, arrival + int(rng.integers(166, 195)) * DAY)
    if review < death and review > span_end and rng.random() < T.review_attendance_share:
        op = rec.encounter(
            i,
            SETTING["outpatient"],
            review,
            review + 30 * MINUTE,
            site,
            SPECIALTY["Stroke Medicine"],
        )
        rec.activity(i, op, ITEM["OP_FOLLOW_UP"], review, review + 30 * MINUTE, minutes=25.0)
        busy.append((i, review - DAY, review + DAY))


def _destination(rng: np.random.Generator, mrs: int) -> str:
    u = rng.random()
    if mrs <= 2:
        return "home" if u < 0.9 else "rehabilitation"
    if mrs == 3:
        return "home" if u < 0.5 else "rehabilitation" if u < 0.9 else "care_home"
    if mrs == 4:
        return "rehabilitation" if u < 0.45 else "care_home" if u < 0.8 else "home"
    return (
        "care_home"
        if u < 0.6
        else "rehabilitation"
        if u < 0.85
        else ("other_hospital" if u < 0.93 else "hospice")
    )


def _therapies(
    rng: np.random.Generator,
    rec: PathwayRecorder,
    patient: int,
    encounter: int,
    first_day: int,
    until: int,
    nihss: int,
    intensive: bool,
) -> None:
    """Physiotherapy, occupational therapy and (for more severe strokes) speech therapy."""
    physio, ot = (0.7, 0.65) if intensive else (0.45, 0.45)
    salt = (0.4 if nihss >= 5 else 0.12) * (1.0 if intensive else 0.5)
    day = first_day - first_day % DAY
    while day + 10 * HOUR < until:
        for item, p, lo, hi in (
            ("PHYSIOTHERAPY", physio, 30, 50),
            ("OCCUPATIONAL_THERAPY", ot, 30, 50),
            ("SPEECH_THERAPY", salt, 20, 40),
        ):
            if rng.random() < p:
                start = daytime(rng, day, 9, 16)
                if start + HOUR < until:
                    minutes = float(rng.integers(lo, hi + 1))
                    rec.activity(
                        patient,
                        encounter,
                        ITEM[item],
                        start,
                        start + int(minutes) * MINUTE,
                        minutes=minutes,
                    )
        day += DAY
