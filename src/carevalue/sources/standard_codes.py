"""Codes CareValue understands without a mapping file: the NHS Data Dictionary's national
codes and the common spellings trusts' systems export, each mapped to the contract's value.

Keys are matched after trimming and ignoring case. A trust's mapping file overrides any
of these (see docs/loading-an-extract.md). Pure data: no I/O.

Sources: NHS Data Model and Dictionary, PERSON STATED GENDER CODE (1 male, 2 female,
9 indeterminate, X not known; 0 not known in the older PERSON GENDER CODE), ADMISSION
METHOD and DISCHARGE DESTINATION (HES/SUS national codes).
"""

from __future__ import annotations

# None: the code means "not known" and is loaded as a blank.
Codes = dict[str, str | None]

SEX: Codes = {
    "1": "male",
    "2": "female",
    # "Indeterminate: unable to be classified as either male or female".
    "9": "other",
    "x": "unknown",
    "0": "unknown",
    "m": "male",
    "f": "female",
    "u": "unknown",
    "i": "other",
    "o": "other",
    "not known": "unknown",
}

PROM_MODE: Codes = {
    "web": "online",
    "internet": "online",
    "email": "online",
    "e-mail": "online",
    "portal": "online",
    "electronic": "online",
    "post": "paper",
    "postal": "paper",
    "mail": "paper",
    "phone": "telephone",
    "tel": "telephone",
    "mobile": "app",
    "mobile app": "app",
    "tablet": "app",
    "face to face": "clinician",
    "face-to-face": "clinician",
    "in person": "clinician",
    "interview": "clinician",
}

ADMISSION_METHOD: Codes = {
    **dict.fromkeys(("11", "12", "13"), "elective"),
    **dict.fromkeys(("21", "22", "23", "24", "28", "2a", "2b", "2c", "2d"), "emergency"),
    "81": "transfer",
}

DISCHARGE_DESTINATION: Codes = {
    "19": "home",
    "29": "home",
    **dict.fromkeys(("30", "48", "49", "50", "51", "52", "53", "84", "87"), "other_hospital"),
    "54": "care_home",
    "85": "care_home",
    "88": "hospice",
    "79": "died",
    "37": "other",
    "38": "other",
    "98": None,  # the spell had not finished
    "99": None,
}

SETTING: Codes = {
    "day case": "day_case",
    "daycase": "day_case",
    "day-case": "day_case",
    "critical care": "critical_care",
    "icu": "critical_care",
    "itu": "critical_care",
    "a&e": "emergency",
    "ed": "emergency",
}

_ICD10 = {"icd-10": "ICD10", "icd 10": "ICD10"}
_SNOMED = {"snomed ct": "SNOMED", "snomed-ct": "SNOMED", "snomedct": "SNOMED", "sct": "SNOMED"}
_OPCS = {"opcs": "OPCS4", "opcs-4": "OPCS4", "opcs 4": "OPCS4"}
_DMD = {"dm+d": "DMD"}

STANDARD_CODES: dict[str, dict[str, Codes]] = {
    "patients": {"sex": SEX},
    "encounters": {
        "admission_method": ADMISSION_METHOD,
        "discharge_destination": DISCHARGE_DESTINATION,
        "setting": SETTING,
    },
    "diagnoses": {"code_system": {**_ICD10, **_SNOMED}},
    "activities": {"code_system": {**_ICD10, **_SNOMED, **_OPCS, **_DMD}},
    "prom_responses": {"mode": PROM_MODE},
}


def standard_codes(feed: str, column: str) -> Codes:
    return STANDARD_CODES.get(feed, {}).get(column, {})
