"""Building blocks the pathway modules share: arrival times, A&E attendances, ward stays.

An emergency admission is written as two encounters, as hospital systems hold them: the A&E
attendance (setting 'emergency', from arrival to leaving A&E, with the ambulance conveyance
that ended at arrival) and the inpatient admission that starts when A&E ends. "Arrival" in
the docs and truths means the start of that A&E encounter.
"""

from __future__ import annotations

import numpy as np

from carevalue.synthetic.catalogue import ITEM
from carevalue.synthetic.chunk import PathwayRecorder
from carevalue.synthetic.codes import ADMISSION_METHOD, DIAGNOSIS, DISCHARGE, SETTING, SPECIALTY
from carevalue.synthetic.timeline import DAY, HOUR, MINUTE

# Emergency arrivals by hour of day: quiet overnight, busiest late morning to evening.
ARRIVAL_HOUR_WEIGHTS = np.array(
    [
        2,
        1.5,
        1.2,
        1,
        1,
        1.2,
        2,
        3,
        4.5,
        5.5,
        6,
        6,
        6,
        5.8,
        5.6,
        5.5,
        5.5,
        5.4,
        5.2,
        5,
        4.5,
        4,
        3.2,
        2.5,
    ]
)
ARRIVAL_HOUR_CDF = np.cumsum(ARRIVAL_HOUR_WEIGHTS) / ARRIVAL_HOUR_WEIGHTS.sum()


def emergency_arrival(rng: np.random.Generator, instant: int) -> int:
    """An arrival on the day of ``instant`` at a realistic hour, to the minute."""
    day = instant - instant % DAY
    hour = int(np.searchsorted(ARRIVAL_HOUR_CDF, rng.random()))
    return day + hour * HOUR + int(rng.integers(0, 60)) * MINUTE


def daytime(
    rng: np.random.Generator, day_instant: int, first_hour: int = 9, last_hour: int = 16
) -> int:
    """A time in working hours on the day of ``day_instant``, to five minutes."""
    day = day_instant - day_instant % DAY
    slots = (last_hour - first_hour) * 12
    return day + first_hour * HOUR + int(rng.integers(0, slots)) * 5 * MINUTE


def bed_days(start: int, end: int) -> float:
    return round((end - start) / DAY, 2)


def to_minute(t: float) -> int:
    return int(t) - int(t) % MINUTE


def emergency_department(
    rec: PathwayRecorder,
    rng: np.random.Generator,
    patient: int,
    site: int,
    arrival: int,
    leave: int,
    ambulance: bool,
    presenting_code: str,
) -> int:
    """Record an A&E attendance (and the ambulance that brought the patient); return its key."""
    ed = rec.encounter(
        patient, SETTING["emergency"], arrival, leave, site, SPECIALTY["Emergency Medicine"]
    )
    if ambulance:
        rec.activity(
            patient,
            ed,
            ITEM["AMBULANCE"],
            arrival - int(rng.integers(35, 95)) * MINUTE,
            arrival,
            quantity=1.0,
        )
    rec.activity(
        patient,
        ed,
        ITEM["ED_ATTENDANCE"],
        arrival,
        leave,
        minutes=float(rng.integers(40, 121)),
        quantity=1.0,
    )
    rec.diagnosis(
        ed,
        patient,
        DIAGNOSIS[presenting_code],
        1,
        arrival + int(rng.integers(10, 60)) * MINUTE,
        site,
    )
    return ed


def medical_readmission(
    rec: PathwayRecorder, rng: np.random.Generator, patient: int, site: int, arrival: int
) -> tuple[int, int]:
    """An unplanned medical readmission through A&E; returns (discharge, admission key)."""
    leave_ed = arrival + to_minute(rng.uniform(2.5, 6.0) * HOUR)
    ed = emergency_department(
        rec,
        rng,
        patient,
        site,
        arrival,
        leave_ed,
        rng.random() < 0.6,
        "267036007" if rng.random() < 0.5 else "386661006",
    )
    los = float(np.clip(rng.lognormal(np.log(4.0), 0.7), 0.5, 40))
    discharge = leave_ed + to_minute(los * DAY)
    adm = rec.encounter(
        patient,
        SETTING["inpatient"],
        leave_ed,
        discharge,
        site,
        SPECIALTY["General Medicine"],
        admission_method=ADMISSION_METHOD["emergency"],
        discharge=DISCHARGE["care_home" if rng.random() < 0.1 else "home"],
    )
    rec.diagnosis(
        adm,
        patient,
        DIAGNOSIS["J18.9" if rng.random() < 0.55 else "N39.0"],
        1,
        leave_ed + 3 * HOUR,
        site,
    )
    rec.activity(patient, ed, ITEM["LAB_ACUTE_PANEL"], arrival + 20 * MINUTE, quantity=1.0)
    rec.activity(patient, ed, ITEM["XRAY_CHEST"], arrival + 70 * MINUTE, quantity=1.0)
    rec.activity(
        patient,
        adm,
        ITEM["WARD_GENERAL_MEDICINE"],
        leave_ed,
        discharge,
        quantity=bed_days(leave_ed, discharge),
    )
    rec.activity(
        patient,
        adm,
        ITEM["DRUG_INPATIENT"],
        leave_ed + HOUR,
        quantity=float(max(1, round(3 * los))),
    )
    return discharge, adm
