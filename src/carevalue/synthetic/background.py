"""Background care: the ordinary A&E attendances, emergency and elective admissions, day cases
and outpatient appointments of every patient, vectorised with numpy.

Background care shares wards, theatres, departments and cost centres with the pathway
patients, so that costing must separate them. Pathway patients get background care too,
outside the days their pathway keeps them busy. Background patients who die in the period
die in hospital (a final emergency admission) a little under half the time.
"""

from __future__ import annotations

import numpy as np

from carevalue.synthetic import mortality
from carevalue.synthetic.acute_care import ARRIVAL_HOUR_CDF
from carevalue.synthetic.catalogue import ITEM
from carevalue.synthetic.chunk import BACKGROUND, ChunkRows
from carevalue.synthetic.codes import (
    ADMISSION_METHOD,
    DIAGNOSIS,
    DISCHARGE,
    NORTH,
    OBSERVATION,
    SETTING,
    SPECIALTY,
)
from carevalue.synthetic.population import Population
from carevalue.synthetic.timeline import (
    CUTOFF,
    DAY,
    HOUR,
    MINUTE,
    NAT,
    PERIOD_START,
    YEAR,
    covid_volume_factor,
)

IN_HOSPITAL_DEATH_SHARE = 0.45
FRAILTY_SHAPE = 0.8  # gamma frailty: most patients use little care, a few use a lot

# Yearly rate per person at the reference age, and multipliers by age band
# (0-15, 16-44, 45-64, 65-79, 80+).
AGE_EDGES = np.array([16, 45, 65, 80])
RATES = {
    "ed_only": (0.22, (1.1, 1.0, 0.9, 1.3, 2.2)),
    "emergency_admission": (0.05, (0.4, 0.6, 1.0, 2.2, 4.5)),
    "elective_admission": (0.015, (0.2, 0.6, 1.2, 1.8, 0.9)),
    "day_case": (0.04, (0.2, 0.5, 1.2, 1.7, 1.0)),
    "outpatient": (0.45, (0.6, 0.7, 1.0, 1.6, 1.4)),
    "valve_replacement": (0.0012, (0.0, 0.0, 0.3, 1.0, 0.6)),
}
COVID_KIND = {
    "ed_only": "emergency",
    "emergency_admission": "emergency",
    "elective_admission": "elective",
    "day_case": "elective",
    "outpatient": "outpatient",
    "valve_replacement": "elective",
}

# Emergency admissions: specialty -> (share, ward item, LOS median days,
#   [(primary code, weight, theatre item or None, chance of theatre, theatre minutes)])
EMERGENCY_SPECIALTIES = {
    "General Medicine": (
        0.58,
        "WARD_GENERAL_MEDICINE",
        4.5,
        [
            ("J18.9", 0.2, None, 0, 0),
            ("N39.0", 0.14, None, 0, 0),
            ("I50.9", 0.12, None, 0, 0),
            ("J44.1", 0.12, None, 0, 0),
            ("A41.9", 0.08, None, 0, 0),
            ("N17.9", 0.08, None, 0, 0),
            ("R55", 0.1, None, 0, 0),
            ("G45.9", 0.06, None, 0, 0),
            ("C80.9", 0.05, None, 0, 0),
            ("B18.1", 0.05, None, 0, 0),
        ],
    ),
    "General Surgery": (
        0.2,
        "WARD_GENERAL_SURGERY",
        3.0,
        [
            ("K35.8", 0.35, "THEATRE_APPENDICECTOMY", 0.9, 60),
            ("K80.2", 0.3, "THEATRE_CHOLECYSTECTOMY", 0.4, 80),
            ("K57.3", 0.2, None, 0, 0),
            ("C18.2", 0.15, "THEATRE_HEMICOLECTOMY", 0.7, 150),
        ],
    ),
    "Trauma and Orthopaedics": (
        0.12,
        "WARD_ORTHOPAEDICS",
        9.0,
        [("S72.0", 1.0, "THEATRE_HEMIARTHROPLASTY", 0.85, 90)],
    ),
    "Cardiology": (
        0.1,
        "WARD_CARDIOLOGY",
        3.5,
        [("I21.4", 0.5, None, 0, 0), ("R07.4", 0.3, None, 0, 0), ("I48.9", 0.2, None, 0, 0)],
    ),
}
TERMINAL_DIAGNOSES = [
    ("J18.9", 0.3),
    ("A41.9", 0.2),
    ("I50.9", 0.15),
    ("C80.9", 0.15),
    ("N17.9", 0.1),
    ("J44.1", 0.1),
]
# Elective admissions: (specialty, ward, theatre item, primary code, weight, LOS median, minutes)
ELECTIVE_OPERATIONS = [
    ("General Surgery", "WARD_GENERAL_SURGERY", "THEATRE_CHOLECYSTECTOMY", "K80.2", 0.18, 1.0, 75),
    ("General Surgery", "WARD_GENERAL_SURGERY", "THEATRE_HERNIA", "K40.9", 0.17, 0.6, 55),
    ("General Surgery", "WARD_GENERAL_SURGERY", "THEATRE_HEMICOLECTOMY", "C18.2", 0.1, 5.0, 160),
    (
        "Trauma and Orthopaedics",
        "WARD_ORTHOPAEDICS",
        "THEATRE_HIP_REPLACEMENT",
        "M16.1",
        0.3,
        3.0,
        100,
    ),
    (
        "Trauma and Orthopaedics",
        "WARD_ORTHOPAEDICS",
        "THEATRE_KNEE_REPLACEMENT",
        "M17.1",
        0.25,
        3.0,
        105,
    ),
]
# Day cases: (specialty, procedure item, primary code, weight)
DAY_CASES = [
    ("Gastroenterology", "COLONOSCOPY", "K57.3", 0.4),
    ("Gastroenterology", "GASTROSCOPY", "K21.9", 0.3),
    ("Ophthalmology", "CATARACT", "H25.9", 0.3),
]
OUTPATIENT_SPECIALTIES = [
    ("General Medicine", 0.15),
    ("General Surgery", 0.12),
    ("Trauma and Orthopaedics", 0.18),
    ("Cardiology", 0.15),
    ("Gastroenterology", 0.12),
    ("Ophthalmology", 0.13),
    ("Dermatology", 0.12),
    ("Hepatology", 0.03),
]
ED_PRESENTATIONS = [
    ("29857009", 0.25),
    ("267036007", 0.2),
    ("21522001", 0.25),
    ("125605004", 0.15),
    ("1912002", 0.15),
]
# Comorbidities recorded in secondary positions: code -> (chance at 40, extra per year of age)
COMORBIDITIES = {
    "I10": (0.1, 0.007),
    "E11.9": (0.06, 0.003),
    "I48.9": (0.01, 0.003),
    "J44.9": (0.03, 0.002),
    "N18.3": (0.01, 0.003),
    "I25.9": (0.02, 0.003),
    "F03": (0.0, 0.003),
    "C34.9": (0.005, 0.0005),
}
DISCHARGES = [
    ("home", 0.87),
    ("care_home", 0.04),
    ("rehabilitation", 0.03),
    ("other_hospital", 0.02),
    ("hospice", 0.01),
    ("other", 0.03),
]


def _choose(rng: np.random.Generator, n: int, options: list) -> np.ndarray:
    weights = np.array([o[-1] if isinstance(o, tuple) else o for o in options], dtype=float)
    return rng.choice(len(options), size=n, p=weights / weights.sum())


def _lognormal(
    rng: np.random.Generator, median: np.ndarray | float, sigma: float, n: int, lo: float, hi: float
) -> np.ndarray:
    return np.clip(rng.lognormal(np.log(median), sigma, n), lo, hi)


def _minutes(x: np.ndarray) -> np.ndarray:
    x = x.astype(np.int64)
    return x - x % MINUTE


def _day(t: np.ndarray) -> np.ndarray:
    return t - t % DAY


def _arrival_times(rng: np.random.Generator, t: np.ndarray) -> np.ndarray:
    hours = np.searchsorted(ARRIVAL_HOUR_CDF, rng.random(len(t)))
    return _day(t) + hours * HOUR + rng.integers(0, 60, len(t)) * MINUTE


def _working_times(rng: np.random.Generator, t: np.ndarray, first: int, last: int) -> np.ndarray:
    slots = rng.integers(0, (last - first) * 12, len(t))
    return _day(t) + first * HOUR + slots * 5 * MINUTE


def _bed_days(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.round((b - a) / DAY, 2)


class _Writer:
    """Adds numpy blocks of background rows to the chunk."""

    def __init__(self, rows: ChunkRows, rng: np.random.Generator, pop: Population) -> None:
        self.rows, self.rng, self.pop = rows, rng, pop

    def encounters(
        self, patient, setting, start, end, site, specialty, admission_method=None, discharge=None
    ) -> np.ndarray:
        n = len(patient)
        keys = self.rows.allocate_encounter_keys(n)
        block = {
            "key": keys,
            "patient": patient,
            "setting": np.full(n, SETTING[setting]),
            "start": start,
            "end": end,
            "site": site,
            "specialty": np.broadcast_to(specialty, (n,)),
            "source": np.full(n, BACKGROUND),
        }
        if admission_method is not None:
            block["admission_method"] = np.full(n, ADMISSION_METHOD[admission_method])
        if discharge is not None:
            block["discharge"] = np.broadcast_to(discharge, (n,))
        self.rows.add_block("encounters", block)
        return keys

    def activities(
        self,
        mask,
        patient,
        encounter,
        item,
        start,
        end=None,
        minutes=None,
        quantity=None,
        staff_present=None,
    ) -> None:
        def sel(x):
            return None if x is None else np.broadcast_to(x, mask.shape)[mask]

        n = int(mask.sum())
        if n == 0:
            return
        block = {
            "patient": patient[mask],
            "encounter": encounter[mask],
            "item": np.broadcast_to(item, mask.shape)[mask],
            "start": start[mask],
            "quantity": np.ones(n) if quantity is None else sel(quantity),
        }
        if end is not None:
            block["end"] = sel(end)
        if minutes is not None:
            block["minutes"] = sel(minutes).astype(float)
        if staff_present is not None:
            block["staff_present"] = sel(staff_present)
        self.rows.add_block("activities", block)

    def diagnoses(self, mask, encounter, patient, code, position, recorded_at, site) -> None:
        if not mask.any():
            return
        self.rows.add_block(
            "diagnoses",
            {
                "encounter": encounter[mask],
                "patient": patient[mask],
                "code": np.broadcast_to(code, mask.shape)[mask],
                "position": np.broadcast_to(position, mask.shape)[mask],
                "recorded_at": recorded_at[mask],
                "site": site[mask],
            },
        )

    def observations(self, mask, patient, encounter, observed_at, code, value_num) -> None:
        if not mask.any():
            return
        self.rows.add_block(
            "observations",
            {
                "patient": patient[mask],
                "encounter": encounter[mask],
                "observed_at": observed_at[mask],
                "code": np.full(int(mask.sum()), OBSERVATION[code]),
                "value_num": value_num[mask],
            },
        )

    def comorbidities(self, encounter, patient, recorded_at, site, primary_code) -> None:
        """Secondary diagnoses, more with age; never the same code as the primary."""
        age = (recorded_at - self.pop.birth[patient]) / YEAR
        position = np.full(len(patient), 1)
        for code, (p40, slope) in COMORBIDITIES.items():
            p = np.clip(p40 + slope * (age - 40), 0, 0.7)
            present = (self.rng.random(len(patient)) < p) & (primary_code != DIAGNOSIS[code])
            position = position + present
            self.diagnoses(
                present, encounter, patient, DIAGNOSIS[code], position, recorded_at, site
            )

    def repeated(self, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Row indexes repeated counts times, and the 1-based repeat number of each."""
        idx = np.repeat(np.arange(len(counts)), counts)
        starts = np.cumsum(counts) - counts
        return idx, np.arange(len(idx)) - np.repeat(starts, counts) + 1


def generate_background(
    pop: Population, rng: np.random.Generator, rows: ChunkRows, busy: list[tuple[int, int, int]]
) -> None:
    n = len(pop)
    w = _Writer(rows, rng, pop)
    background = pop.pathway == BACKGROUND

    # Deaths of background patients (pathway modules have set their own patients' deaths).
    age_at_start = (PERIOD_START - pop.birth) / YEAR
    to_death = mortality.years_to_death(age_at_start, rng.random(n))
    drawn = PERIOD_START + (np.minimum(to_death, 200.0) * YEAR).astype(np.int64)
    pop.death[background] = np.where(drawn < CUTOFF, drawn, NAT)[background]
    window_end = np.where(pop.death == NAT, CUTOFF, np.minimum(pop.death, CUTOFF))
    window_start = np.full(n, PERIOD_START, dtype=np.int64)

    # A final emergency admission for those dying in hospital.
    dies_in_hospital = (
        background
        & (pop.death != NAT)
        & (pop.death > PERIOD_START + 3 * DAY)
        & (rng.random(n) < IN_HOSPITAL_DEATH_SHARE)
    )
    dying = np.flatnonzero(dies_in_hospital)
    terminal_los = _lognormal(rng, 6.0, 0.8, len(dying), 0.3, 60)
    terminal_admit = np.maximum(pop.death[dying] - _minutes(terminal_los * DAY), PERIOD_START + DAY)
    window_end[dying] = terminal_admit - DAY
    terminal_arrival = terminal_admit - _minutes(rng.uniform(2, 6, len(dying)) * HOUR)
    _emergency_admissions(
        w, dying, terminal_arrival, terminal_admit, pop.death[dying], terminal=True
    )

    years = np.clip((window_end - window_start) / YEAR, 0, None)
    mid_age = (window_start + (window_end - window_start) / 2 - pop.birth) / YEAR
    band = np.searchsorted(AGE_EDGES, mid_age, side="right")
    frailty = rng.gamma(FRAILTY_SHAPE, 1 / FRAILTY_SHAPE, n)
    busy_by_patient: dict[int, list[tuple[int, int]]] = {}
    for p, a, b in busy:
        busy_by_patient.setdefault(p, []).append((a, b))

    total = np.zeros(n, dtype=np.int64)
    plans: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for kind, (rate, by_band) in RATES.items():
        lam = rate * np.array(by_band)[band] * years * frailty
        counts = rng.poisson(lam)
        patient = np.repeat(np.arange(n), counts)
        span = window_end[patient] - window_start[patient]
        t = window_start[patient] + (rng.random(len(patient)) * span).astype(np.int64)
        keep = rng.random(len(t)) < covid_volume_factor(t, COVID_KIND[kind])
        keep &= t < window_end[patient] - 2 * DAY
        patient, t = patient[keep], t[keep]
        if busy_by_patient:
            keep = (
                np.array(
                    [
                        not _overlaps(busy_by_patient.get(int(p)), int(x))
                        for p, x in zip(patient, t)
                    ],
                    dtype=bool,
                )
                if len(t)
                else keep[:0]
            )
            patient, t = patient[keep], t[keep]
        plans[kind] = (patient, t)
        np.add.at(total, patient, 1)

    # Every background patient is known to the trust through at least one contact.
    unseen = np.flatnonzero(background & (total == 0) & ~dies_in_hospital)
    span = np.maximum(window_end[unseen] - window_start[unseen] - 2 * DAY, DAY)
    extra_t = window_start[unseen] + (rng.random(len(unseen)) * span).astype(np.int64)
    op_patient, op_t = plans["outpatient"]
    plans["outpatient"] = (np.concatenate([op_patient, unseen]), np.concatenate([op_t, extra_t]))

    _ed_only(w, *plans["ed_only"])
    patient, t = plans["emergency_admission"]
    arrival = _arrival_times(rng, t)
    _emergency_admissions(w, patient, arrival, None, window_end[patient], terminal=False)
    _elective_admissions(w, *plans["elective_admission"], window_end)
    _day_cases(w, *plans["day_case"])
    _outpatients(w, *plans["outpatient"])
    _valve_replacements(w, *plans["valve_replacement"], window_end)


def _overlaps(intervals: list[tuple[int, int]] | None, t: int) -> bool:
    """Whether a background episode starting at t would collide with pathway care."""
    if not intervals:
        return False
    return any(a - 10 * DAY <= t <= b for a, b in intervals)


def _site(w: _Writer, patient: np.ndarray) -> np.ndarray:
    away = w.rng.random(len(patient)) < 0.15
    return np.where(away, 1 - w.pop.home_site[patient], w.pop.home_site[patient]).astype(np.int8)


def _emergency_department(w: _Writer, patient, arrival, leave, site, admitted: bool):
    """A&E encounters (with ambulance, tests and presenting complaint); returns their keys."""
    rng, n = w.rng, len(patient)
    age = (arrival - w.pop.birth[patient]) / YEAR
    if admitted:
        discharge = np.full(n, -1)
    else:
        discharge = np.where(rng.random(n) < 0.93, DISCHARGE["home"], DISCHARGE["other"])
    ed = w.encounters(
        patient,
        "emergency",
        arrival,
        leave,
        site,
        SPECIALTY["Emergency Medicine"],
        discharge=discharge,
    )
    ambulance = rng.random(n) < (0.45 if admitted else 0.12) + 0.25 * (age >= 75)
    w.activities(
        ambulance,
        patient,
        ed,
        ITEM["AMBULANCE"],
        arrival - rng.integers(35, 95, n) * MINUTE,
        end=arrival,
    )
    w.activities(
        np.ones(n, bool),
        patient,
        ed,
        ITEM["ED_ATTENDANCE"],
        arrival,
        end=leave,
        minutes=rng.integers(20, 121, n),
    )
    bloods = rng.random(n) < (0.95 if admitted else 0.4)
    w.activities(bloods, patient, ed, ITEM["LAB_ACUTE_PANEL"], arrival + 20 * MINUTE)
    xray = rng.random(n) < (0.5 if admitted else 0.35)
    chest = rng.random(n) < 0.6
    w.activities(xray & chest, patient, ed, ITEM["XRAY_CHEST"], arrival + 70 * MINUTE)
    w.activities(xray & ~chest, patient, ed, ITEM["XRAY_PELVIS"], arrival + 70 * MINUTE)
    complaints = np.array([DIAGNOSIS[c] for c, _ in ED_PRESENTATIONS])
    complaint = complaints[_choose(rng, n, ED_PRESENTATIONS)]
    w.diagnoses(rng.random(n) < 0.65, ed, patient, complaint, 1, arrival + 30 * MINUTE, site)
    news = rng.random(n) < (0.9 if admitted else 0.5)
    w.observations(
        news,
        patient,
        ed,
        arrival + 15 * MINUTE,
        "NEWS2",
        np.clip(rng.poisson(2.5 if admitted else 1.0, n), 0, 20).astype(float),
    )
    creatinine = rng.random(n) < (0.85 if admitted else 0.35)
    w.observations(
        creatinine,
        patient,
        ed,
        arrival + 35 * MINUTE,
        "CREATININE",
        np.round(
            np.clip(rng.lognormal(np.log(85 + 0.6 * np.clip(age - 40, 0, None)), 0.3, n), 30, 1200)
        ),
    )
    return ed


def _ed_only(w: _Writer, patient: np.ndarray, t: np.ndarray) -> None:
    rng = w.rng
    arrival = _arrival_times(rng, t)
    leave = arrival + _minutes(_lognormal(rng, 3.2 * HOUR, 0.5, len(t), 0.5 * HOUR, 12 * HOUR))
    _emergency_department(w, patient, arrival, leave, _site(w, patient), admitted=False)


def _emergency_admissions(w: _Writer, patient, arrival, admit_at, window_end, terminal: bool):
    """Emergency admissions through A&E. Terminal admissions end in death at window_end."""
    rng, n = w.rng, len(patient)
    if n == 0:
        return
    site = _site(w, patient)
    if terminal:
        leave_ed = admit_at
        arrival = np.minimum(arrival, leave_ed - HOUR)
        discharge = window_end
        specialty = np.full(n, SPECIALTY["General Medicine"])
        ward = np.full(n, ITEM["WARD_GENERAL_MEDICINE"])
        causes = np.array([DIAGNOSIS[c] for c, _ in TERMINAL_DIAGNOSES])
        primary = causes[_choose(rng, n, TERMINAL_DIAGNOSES)]
        theatre = np.full(n, -1)
        theatre_minutes = np.zeros(n)
        destination = np.full(n, DISCHARGE["died"])
    else:
        leave_ed = arrival + _minutes(_lognormal(rng, 4.5 * HOUR, 0.4, n, 1.5 * HOUR, 14 * HOUR))
        names = list(EMERGENCY_SPECIALTIES)
        choice = _choose(rng, n, [EMERGENCY_SPECIALTIES[s][0] for s in names])
        age = (arrival - w.pop.birth[patient]) / YEAR
        choice = np.where(
            (choice == names.index("Trauma and Orthopaedics")) & (age < 60),
            names.index("General Surgery"),
            choice,
        )
        specialty = np.array([SPECIALTY[s] for s in names])[choice]
        ward = np.array([ITEM[EMERGENCY_SPECIALTIES[s][1]] for s in names])[choice]
        median = np.array([EMERGENCY_SPECIALTIES[s][2] for s in names])[choice]
        los = _lognormal(rng, median, 0.85, n, 0.2, 120)
        discharge = leave_ed + _minutes(los * DAY)
        primary = np.empty(n, dtype=np.int64)
        theatre = np.full(n, -1)
        theatre_minutes = np.zeros(n)
        for k, s in enumerate(names):
            rows = np.flatnonzero(choice == k)
            options = EMERGENCY_SPECIALTIES[s][3]
            pick = _choose(rng, len(rows), [o[1] for o in options])
            primary[rows] = np.array([DIAGNOSIS[o[0]] for o in options])[pick]
            item = np.array([ITEM[o[2]] if o[2] else -1 for o in options])[pick]
            chance = np.array([o[3] for o in options])[pick]
            operated = (item >= 0) & (rng.random(len(rows)) < chance)
            theatre[rows] = np.where(operated, item, -1)
            theatre_minutes[rows] = np.array([o[4] for o in options], dtype=float)[pick]
        destination = np.array([DISCHARGE[d] for d, _ in DISCHARGES])[_choose(rng, n, DISCHARGES)]
        # Episodes that would run past the end of the patient's window are not admitted.
        fits = discharge < window_end
        keep = np.flatnonzero(fits)
        patient, arrival, leave_ed, discharge, site = (
            x[keep] for x in (patient, arrival, leave_ed, discharge, site)
        )
        specialty, ward, primary, theatre, theatre_minutes, destination = (
            x[keep] for x in (specialty, ward, primary, theatre, theatre_minutes, destination)
        )
        n = len(keep)
        if n == 0:
            return
    _emergency_department(w, patient, arrival, leave_ed, site, admitted=True)
    adm = w.encounters(
        patient,
        "inpatient",
        leave_ed,
        discharge,
        site,
        specialty,
        admission_method="emergency",
        discharge=destination,
    )
    coded = leave_ed + 4 * HOUR
    w.diagnoses(np.ones(n, bool), adm, patient, primary, 1, np.minimum(coded, discharge), site)
    w.comorbidities(adm, patient, np.minimum(coded, discharge), site, primary)

    # Ward stays, with a critical care spell for a few.
    critical = rng.random(n) < (0.08 if terminal else 0.03)
    critical &= discharge - leave_ed > DAY
    cc_start = leave_ed + _minutes(
        np.minimum(rng.uniform(0.1, 0.5, n) * (discharge - leave_ed), 2 * DAY)
    )
    cc_end = np.minimum(discharge, cc_start + _minutes(rng.uniform(1.0, 4.0, n) * DAY))
    level = np.where(rng.random(n) < 0.5, ITEM["CRITICAL_CARE_L3"], ITEM["CRITICAL_CARE_L2"])
    first_end = np.where(critical, cc_start, discharge)
    w.activities(
        np.ones(n, bool),
        patient,
        adm,
        ward,
        leave_ed,
        end=first_end,
        quantity=_bed_days(leave_ed, first_end),
    )
    w.activities(
        critical, patient, adm, level, cc_start, end=cc_end, quantity=_bed_days(cc_start, cc_end)
    )
    after = critical & (discharge > cc_end)
    w.activities(
        after, patient, adm, ward, cc_end, end=discharge, quantity=_bed_days(cc_end, discharge)
    )

    # Theatre, medicines, repeat bloods and therapy.
    cut = leave_ed + _minutes(
        np.minimum(rng.uniform(0.2, 1.5, n) * DAY, (discharge - leave_ed) * 0.5)
    )
    mins = np.round(theatre_minutes * rng.uniform(0.75, 1.4, n))
    operated = theatre >= 0
    w.activities(
        operated,
        patient,
        adm,
        np.maximum(theatre, 0),
        cut,
        end=cut + mins.astype(np.int64) * MINUTE,
        minutes=mins,
        staff_present=rng.integers(5, 8, n),
    )
    los_days = (discharge - leave_ed) / DAY
    w.activities(
        np.ones(n, bool),
        patient,
        adm,
        ITEM["DRUG_INPATIENT"],
        leave_ed + HOUR,
        quantity=np.maximum(1, np.round(3 * los_days)),
    )
    idx, k = w.repeated(np.minimum(5, (los_days // 3).astype(np.int64)))
    when = _working_times(rng, leave_ed[idx] + k * 3 * DAY, 7, 10)
    w.activities(when < discharge[idx], patient[idx], adm[idx], ITEM["LAB_ACUTE_PANEL"], when)
    age = (leave_ed - w.pop.birth[patient]) / YEAR
    wants_physio = (specialty == SPECIALTY["Trauma and Orthopaedics"]) | (
        (age >= 65) & (rng.random(n) < 0.4)
    )
    sessions = np.where(wants_physio, np.minimum(12, rng.poisson(0.6 * los_days)), 0)
    idx, k = w.repeated(sessions.astype(np.int64))
    when = _working_times(rng, leave_ed[idx] + k * DAY, 9, 16)
    fits = when + HOUR < discharge[idx]
    minutes = rng.integers(25, 46, len(idx))
    w.activities(
        fits,
        patient[idx],
        adm[idx],
        ITEM["PHYSIOTHERAPY"],
        when,
        end=when + minutes * MINUTE,
        minutes=minutes,
    )


def _elective_admissions(w: _Writer, patient, t, window_end) -> None:
    rng, n = w.rng, len(patient)
    choice = _choose(rng, n, [o[4] for o in ELECTIVE_OPERATIONS])
    col = list(zip(*ELECTIVE_OPERATIONS))
    admit = _working_times(rng, t, 7, 9)
    los = _lognormal(rng, np.array(col[5], dtype=float)[choice], 0.45, n, 0.3, 30)
    discharge = admit + _minutes(los * DAY)
    keep = discharge < window_end[patient]
    patient, choice, admit, discharge = patient[keep], choice[keep], admit[keep], discharge[keep]
    n = len(patient)
    if n == 0:
        return
    site = _site(w, patient)
    specialty = np.array([SPECIALTY[s] for s in col[0]])[choice]
    adm = w.encounters(
        patient,
        "inpatient",
        admit,
        discharge,
        site,
        specialty,
        admission_method="elective",
        discharge=np.where(rng.random(n) < 0.97, DISCHARGE["home"], DISCHARGE["rehabilitation"]),
    )
    primary = np.array([DIAGNOSIS[c] for c in col[3]])[choice]
    w.diagnoses(np.ones(n, bool), adm, patient, primary, 1, admit + HOUR, site)
    w.comorbidities(adm, patient, admit + HOUR, site, primary)
    w.activities(np.ones(n, bool), patient, adm, ITEM["LAB_PREOP_PANEL"], admit + 30 * MINUTE)
    cut = admit + _minutes(rng.uniform(1.5, 4.0, n) * HOUR)
    mins = np.round(np.array(col[6], dtype=float)[choice] * rng.uniform(0.75, 1.35, n))
    cut = np.minimum(cut, discharge - (mins.astype(np.int64) + 60) * MINUTE)
    cut = np.maximum(cut, admit + 10 * MINUTE)
    w.activities(
        np.ones(n, bool),
        patient,
        adm,
        np.array([ITEM[i] for i in col[2]])[choice],
        cut,
        end=cut + mins.astype(np.int64) * MINUTE,
        minutes=mins,
        staff_present=rng.integers(5, 8, n),
    )
    ward = np.array([ITEM[i] for i in col[1]])[choice]
    w.activities(
        np.ones(n, bool),
        patient,
        adm,
        ward,
        admit,
        end=discharge,
        quantity=_bed_days(admit, discharge),
    )
    w.activities(
        np.ones(n, bool),
        patient,
        adm,
        ITEM["DRUG_INPATIENT"],
        admit + HOUR,
        quantity=np.maximum(2, np.round(3 * los[keep])),
    )
    orthopaedic = specialty == SPECIALTY["Trauma and Orthopaedics"]
    after = cut + DAY
    w.activities(orthopaedic & (after < discharge), patient, adm, ITEM["XRAY_PELVIS"], after)
    w.activities(
        orthopaedic & (after < discharge),
        patient,
        adm,
        ITEM["PHYSIOTHERAPY"],
        after + HOUR,
        end=after + 2 * HOUR,
        minutes=np.full(n, 40),
    )


def _day_cases(w: _Writer, patient, t) -> None:
    rng, n = w.rng, len(patient)
    if n == 0:
        return
    choice = _choose(rng, n, [o[3] for o in DAY_CASES])
    col = list(zip(*DAY_CASES))
    start = _working_times(rng, t, 8, 13)
    end = start + _minutes(rng.uniform(2.5, 6.0, n) * HOUR)
    site = _site(w, patient)
    enc = w.encounters(
        patient,
        "day_case",
        start,
        end,
        site,
        np.array([SPECIALTY[s] for s in col[0]])[choice],
        admission_method="elective",
        discharge=np.full(n, DISCHARGE["home"]),
    )
    w.diagnoses(
        np.ones(n, bool),
        enc,
        patient,
        np.array([DIAGNOSIS[c] for c in col[2]])[choice],
        1,
        start + 2 * HOUR,
        site,
    )
    done = start + HOUR
    mins = rng.integers(15, 46, n)
    w.activities(
        np.ones(n, bool),
        patient,
        enc,
        np.array([ITEM[i] for i in col[1]])[choice],
        done,
        end=done + mins * MINUTE,
        minutes=mins,
    )
    w.activities(rng.random(n) < 0.15, patient, enc, ITEM["LAB_ACUTE_PANEL"], start + 20 * MINUTE)


def _outpatients(w: _Writer, patient, t) -> None:
    rng, n = w.rng, len(patient)
    if n == 0:
        return
    choice = _choose(rng, n, OUTPATIENT_SPECIALTIES)
    names = [s for s, _ in OUTPATIENT_SPECIALTIES]
    specialty = np.array([SPECIALTY[s] for s in names])[choice]
    hepatology = choice == names.index("Hepatology")
    start = _working_times(rng, t, 9, 17)
    mins = rng.integers(10, 31, n)
    end = start + mins * MINUTE
    site = _site(w, patient)
    enc = w.encounters(patient, "outpatient", start, end, site, specialty)
    first = rng.random(n) < 0.4
    item = np.where(
        hepatology,
        np.where(first, ITEM["HEPATOLOGY_FIRST"], ITEM["HEPATOLOGY_FOLLOW_UP"]),
        np.where(first, ITEM["OP_FIRST"], ITEM["OP_FOLLOW_UP"]),
    )
    w.activities(np.ones(n, bool), patient, enc, item, start, end=end, minutes=mins)
    # Hepatitis B clinic patients are coded: a near miss for the hepatitis C cohort.
    w.diagnoses(hepatology, enc, patient, DIAGNOSIS["B18.1"], 1, start, site)
    bloods = rng.random(n) < 0.25
    w.activities(bloods & ~hepatology, patient, enc, ITEM["LAB_ACUTE_PANEL"], end + 10 * MINUTE)
    w.activities(
        bloods & hepatology | hepatology & (rng.random(n) < 0.6),
        patient,
        enc,
        ITEM["LAB_LIVER_PANEL"],
        end + 10 * MINUTE,
    )
    cardiology = specialty == SPECIALTY["Cardiology"]
    w.activities(
        cardiology & (rng.random(n) < 0.25),
        patient,
        enc,
        ITEM["ECHO_TTE"],
        start - 40 * MINUTE,
        end=start - 10 * MINUTE,
        minutes=np.full(n, 30),
    )
    imaging = ~cardiology & (rng.random(n) < 0.1)
    abdomen = np.isin(
        specialty,
        [SPECIALTY["Gastroenterology"], SPECIALTY["General Surgery"], SPECIALTY["Hepatology"]],
    )
    w.activities(imaging & abdomen, patient, enc, ITEM["US_ABDOMEN"], end + 20 * MINUTE)
    w.activities(imaging & ~abdomen, patient, enc, ITEM["XRAY_CHEST"], end + 20 * MINUTE)


def _valve_replacements(w: _Writer, patient, t, window_end) -> None:
    """Elective aortic valve replacement for aortic stenosis: shares the cardiac theatres and
    critical care with endocarditis surgery, and is a near miss for its cohort."""
    rng, n = w.rng, len(patient)
    admit = _working_times(rng, t, 7, 8)
    los = rng.uniform(6.0, 10.0, n)
    discharge = admit + _minutes(los * DAY)
    keep = discharge < window_end[patient]
    patient, admit, discharge = patient[keep], admit[keep], discharge[keep]
    n = len(patient)
    if n == 0:
        return
    site = np.full(n, NORTH, dtype=np.int8)
    adm = w.encounters(
        patient,
        "inpatient",
        admit,
        discharge,
        site,
        SPECIALTY["Cardiac Surgery"],
        admission_method="elective",
        discharge=np.full(n, DISCHARGE["home"]),
    )
    primary = np.full(n, DIAGNOSIS["I35.0"])
    w.diagnoses(np.ones(n, bool), adm, patient, primary, 1, admit + HOUR, site)
    w.comorbidities(adm, patient, admit + HOUR, site, primary)
    every = np.ones(n, bool)
    w.activities(every, patient, adm, ITEM["LAB_PREOP_PANEL"], admit + 30 * MINUTE)
    cut = admit + 3 * HOUR
    mins = rng.integers(180, 281, n)
    theatre_end = cut + mins * MINUTE
    level3_end = theatre_end + _minutes(rng.uniform(0.8, 1.5, n) * DAY)
    level2_end = level3_end + _minutes(rng.uniform(0.5, 1.5, n) * DAY)
    w.activities(
        every,
        patient,
        adm,
        ITEM["WARD_CARDIAC_SURGERY"],
        admit,
        end=cut,
        quantity=_bed_days(admit, cut),
    )
    w.activities(
        every,
        patient,
        adm,
        ITEM["THEATRE_AORTIC_VALVE"],
        cut,
        end=theatre_end,
        minutes=mins,
        staff_present=rng.integers(7, 10, n),
    )
    w.activities(
        every,
        patient,
        adm,
        ITEM["CRITICAL_CARE_L3"],
        theatre_end,
        end=level3_end,
        quantity=_bed_days(theatre_end, level3_end),
    )
    w.activities(
        every,
        patient,
        adm,
        ITEM["CRITICAL_CARE_L2"],
        level3_end,
        end=level2_end,
        quantity=_bed_days(level3_end, level2_end),
    )
    w.activities(
        every,
        patient,
        adm,
        ITEM["WARD_CARDIAC_SURGERY"],
        level2_end,
        end=discharge,
        quantity=_bed_days(level2_end, discharge),
    )
    w.activities(
        every,
        patient,
        adm,
        ITEM["ECHO_TTE"],
        level2_end + DAY,
        end=level2_end + DAY + 40 * MINUTE,
        minutes=np.full(n, 40),
    )
    w.activities(
        every, patient, adm, ITEM["DRUG_INPATIENT"], admit + HOUR, quantity=np.round(3 * los[keep])
    )
