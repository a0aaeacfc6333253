"""Clinical scores for outcomes and case mix: EQ-5D, stroke scales, Charlson, EuroSCORE II
and the liver scores. See docs/scores.md for the user's view of every score.

A pure library: plain values in, a number (or a small tuple) out. The only I/O is reading
the package's own published reference tables (``reference/*.csv``, cited in
``reference/README.md``), each once and lazily.

Conventions shared by every function:

- Inputs are checked before any arithmetic. A missing value (None or NaN), a value of the
  wrong kind, or a value outside the allowed range raises ``ValueError`` whose message names
  the input and the allowed values, so a bad row fails loudly instead of carrying a NaN into
  a cohort's mean.
- Units are in the argument names (``creatinine_mg_dl``, ``bilirubin_umol_l``) because the
  liver scores mix US and SI units and a unit slip changes the score silently.
- Where a published method rounds, it rounds half up (OPTN's rule), not Python's
  round-half-to-even; see ``_round_half_up``.
"""

from __future__ import annotations

import csv
import io
import math
import numbers
import re
from collections.abc import Iterable, Mapping
from decimal import ROUND_HALF_UP, Decimal
from functools import cache
from importlib import resources
from types import MappingProxyType
from typing import Literal

__all__ = [
    "CHARLSON_HIERARCHY",
    "NIHSS_ITEMS",
    "NIHSS_UNTESTABLE_ITEMS",
    "SMRSQ_QUESTIONS",
    "apri",
    "charlson",
    "charlson_groups",
    "child_pugh",
    "cockcroft_gault",
    "eq5d3l_index",
    "eq5d5l_index",
    "eq5d5l_to_3l",
    "euroscore2",
    "fib4",
    "meld",
    "meld_na",
    "mrs_from_smrsq",
    "nihss_band",
    "nihss_total",
    "ukeld",
    "uw_mrs",
]


# ---------------------------------------------------------------------------------------
# Input checking
# ---------------------------------------------------------------------------------------


def _is_missing(value: object) -> bool:
    """None, a float NaN (NumPy's too), or pandas' NA/NaT, recognised without importing pandas."""
    if value is None or type(value).__name__ in ("NAType", "NaTType"):
        return True
    return isinstance(value, float) and math.isnan(value)


def _range_text(lo: float | None, hi: float | None, lo_open: bool, hi_open: bool, unit: str) -> str:
    parts = []
    if lo is not None:
        parts.append(f"{'>' if lo_open else '>='} {lo:g}")
    if hi is not None:
        parts.append(f"{'<' if hi_open else '<='} {hi:g}")
    text = " and ".join(parts) if parts else "a finite number"
    return f"{text} {unit}".rstrip()


def _number(
    name: str,
    value: object,
    *,
    lo: float | None = None,
    hi: float | None = None,
    lo_open: bool = False,
    hi_open: bool = False,
    unit: str = "",
) -> float:
    """``value`` as a finite float within the range, or a ValueError naming ``name``."""
    allowed = _range_text(lo, hi, lo_open, hi_open, unit)
    if _is_missing(value):
        raise ValueError(f"{name} is missing ({value!r}); it must be {allowed}")
    # bool is an int subclass; True as a creatinine is a caller's bug, not 1.0 mg/dL.
    if isinstance(value, bool) or not isinstance(value, (numbers.Real, Decimal)):
        raise ValueError(f"{name} must be a number ({allowed}); got {value!r}")
    number = float(value)
    if math.isnan(number):
        raise ValueError(f"{name} is missing (NaN); it must be {allowed}")
    if not math.isfinite(number):
        raise ValueError(f"{name} must be {allowed}; got {value!r}")
    too_low = lo is not None and (number <= lo if lo_open else number < lo)
    too_high = hi is not None and (number >= hi if hi_open else number > hi)
    if too_low or too_high:
        raise ValueError(f"{name} must be {allowed}; got {value!r}")
    return number


def _integer(name: str, value: object, lo: int, hi: int) -> int:
    """``value`` as an int in lo..hi; a float such as 3.0 (pandas) is accepted, 2.5 is not."""
    allowed = f"an integer from {lo} to {hi}"
    if _is_missing(value) or isinstance(value, bool):
        raise ValueError(f"{name} must be {allowed}; got {value!r}")
    if isinstance(value, numbers.Integral):
        number = int(value)
    elif isinstance(value, numbers.Real) and float(value).is_integer():  # NaN and inf fail
        number = int(float(value))
    else:
        raise ValueError(f"{name} must be {allowed}; got {value!r}")
    if not lo <= number <= hi:
        raise ValueError(f"{name} must be {allowed}; got {value!r}")
    return number


def _flag(name: str, value: object) -> bool:
    """A yes/no input: a bool (Python or NumPy) or the integers 0 and 1."""
    if type(value).__name__ in ("bool", "bool_"):
        return bool(value)
    if isinstance(value, numbers.Integral) and int(value) in (0, 1):
        return bool(int(value))
    raise ValueError(f"{name} must be True or False; got {value!r}")


def _choice(name: str, value: object, allowed: tuple[str, ...]) -> str:
    """One of the ``allowed`` labels, compared case-insensitively after trimming spaces."""
    if isinstance(value, str) and value.strip().lower() in allowed:
        return value.strip().lower()
    raise ValueError(f"{name} must be one of {', '.join(allowed)}; got {value!r}")


def _round_half_up(value: float | Decimal) -> int:
    """Round to the nearest integer, halves away from zero (all values here are positive).

    OPTN specifies rounding half up for MELD and MELD-Na. Python's ``round`` rounds half to
    even (``round(14.5) == 14``), and so does R's base ``round`` (IEC 60559), so neither may
    be used to reproduce OPTN scores. Floats go through their shortest decimal form (``repr``)
    so that a value printed as 14.5 is treated as 14.5.
    """
    exact = value if isinstance(value, Decimal) else Decimal(repr(value))
    return int(exact.quantize(Decimal(1), rounding=ROUND_HALF_UP))


# ---------------------------------------------------------------------------------------
# Reference tables (read once, lazily)
# ---------------------------------------------------------------------------------------


def _read_reference(name: str) -> list[dict[str, str]]:
    table = resources.files("carevalue.outcomes").joinpath("reference").joinpath(name)
    text = table.read_text(encoding="utf-8-sig")
    return [
        {key.strip(): cell.strip() for key, cell in row.items()}
        for row in csv.DictReader(io.StringIO(text, newline=""))
    ]


@cache
def _decrements(name: str) -> dict[str, Decimal]:
    # Decimal keeps the published three-decimal coefficients exact, so 55555 is -0.285 and
    # not -0.28500000000000003.
    return {row["term"]: Decimal(row["decrement"]) for row in _read_reference(name)}


@cache
def _eq5d_mapping() -> dict[tuple[str, str, str], float]:
    return {
        (row["state_5l"], row["age_group"], row["sex"]): float(row["eq5d3l_uk_mapped"])
        for row in _read_reference("eq5d5l_to_3l_uk_dsu.csv")
    }


_GROUPS_FILE = {
    "charlson1987": "charlson_icd10_quan2005.csv",
    "quan2011": "charlson_icd10_quan2005.csv",
    "shmi": "charlson_icd10_shmi_v1_35.csv",
}


@cache
def _charlson_prefixes(groups_file: str) -> dict[str, tuple[str, ...]]:
    """ICD-10 prefix (dotless, upper case) -> the Charlson group(s) it opens."""
    prefixes: dict[str, tuple[str, ...]] = {}
    for row in _read_reference(groups_file):
        prefix = row["icd10_prefix"].upper()
        prefixes[prefix] = prefixes.get(prefix, ()) + (row["group"],)
    return prefixes


@cache
def _charlson_weights(weights: str) -> dict[str, int]:
    if weights == "shmi":
        rows = _read_reference("charlson_weights_shmi_v1_35.csv")
        return {row["group"]: int(row["weight"]) for row in rows}
    return {row["group"]: int(row[weights]) for row in _read_reference("charlson_weights.csv")}


# ---------------------------------------------------------------------------------------
# EQ-5D
# ---------------------------------------------------------------------------------------

_DIMENSIONS = ("MO", "SC", "UA", "PD", "AD")


def _eq5d_state(state: object, top_level: int) -> str:
    """A health state as its five-digit string, each digit 1..top_level."""
    allowed = f"five digits, one per dimension (MO SC UA PD AD), each 1-{top_level}"
    if _is_missing(state):
        raise ValueError(f"state is missing ({state!r}); it must be {allowed}")
    if isinstance(state, numbers.Integral) and not isinstance(state, bool):
        text = str(int(state))
    elif isinstance(state, float) and state.is_integer():
        text = str(int(state))  # a pandas integer column with a gap is stored as float
    elif isinstance(state, str):
        text = state.strip()
    else:
        raise ValueError(f"state must be {allowed}; got {state!r}")
    if not re.fullmatch(f"[1-{top_level}]{{5}}", text):
        raise ValueError(f"state must be {allowed}; got {state!r}")
    return text


def eq5d5l_index(state: str | int, value_set: Literal["england"] = "england") -> float:
    """EQ-5D-5L index value of a health state, e.g. ``"12345"`` or ``12345``.

    England value set: 1 minus the decrement of each dimension's level (level 1 costs 0);
    11111 scores 1.0 and 55555 scores -0.285. Devlin NJ, Shah KK, Feng Y, Mulhern B,
    van Hout B. Valuing health-related quality of life: an EQ-5D-5L value set for England.
    Health Econ 2018;27:7-22.
    """
    _choice("value_set", value_set, ("england",))
    levels = _eq5d_state(state, 5)
    table = _decrements("eq5d5l_england_devlin2018.csv")
    index = table["StartValue"] + sum(
        table[f"{dimension}{level}"] for dimension, level in zip(_DIMENSIONS, levels)
    )
    return float(index)


def eq5d3l_index(state: str | int, value_set: Literal["uk"] = "uk") -> float:
    """EQ-5D-3L index value of a health state, e.g. ``"11223"``.

    UK time trade-off value set: 1.0 plus each dimension's decrement, plus a constant when any
    dimension is above level 1 and an "N3" term when any dimension is at level 3; 11111 is
    1.0 and 33333 is -0.594. Dolan P. Modeling valuations for EuroQol health states.
    Med Care 1997;35:1095-1108.
    """
    _choice("value_set", value_set, ("uk",))
    levels = _eq5d_state(state, 3)
    table = _decrements("eq5d3l_uk_dolan1997.csv")
    index = table["FullHealth"]
    for dimension, level in zip(_DIMENSIONS, levels):
        if level != "1":
            index += table[f"{dimension}{level}"]
    if any(level != "1" for level in levels):
        index += table["AtLeastOne2Or3"]
    if "3" in levels:
        index += table["AtLeastOne3"]
    return float(index)


_MAPPING_AGE_GROUPS = ((18, "18-34"), (35, "35-44"), (45, "45-54"), (55, "55-64"), (65, "65+"))


def _mapping_age_group(age: float) -> str:
    # Age in years, possibly fractional: 34.9 has not yet turned 35, so it is in 18-34.
    group = _MAPPING_AGE_GROUPS[0][1]
    for lower, label in _MAPPING_AGE_GROUPS:
        if age >= lower:
            group = label
    return group


def eq5d5l_to_3l(state: str | int, age: float, sex: str) -> float:
    """EQ-5D-3L UK utility for an EQ-5D-5L state, by the NICE DSU mapping.

    Looks the state up by age group (18-34, 35-44, 45-54, 55-64, 65+; age in years, 18 to
    120) and sex ("male" or "female"); the mapping was estimated on adults, so age under 18
    is refused. This is the method NICE's 2022 manual recommends for 5L data.
    Hernandez Alava M, Pudney S, Wailoo A. Estimating the relationship between EQ-5D-5L and
    EQ-5D-3L: results from a UK population study. PharmacoEconomics 2023;41:199-207.
    """
    levels = _eq5d_state(state, 5)
    years = _number("age", age, lo=18, hi=120, unit="years")
    sex_label = _choice("sex", sex, ("male", "female"))
    return _eq5d_mapping()[(levels, _mapping_age_group(years), sex_label)]


# ---------------------------------------------------------------------------------------
# Charlson comorbidity index
# ---------------------------------------------------------------------------------------

# When both forms of a condition are coded, only the severe form scores (Quan 2011; the
# usual reading of Charlson 1987, which lists each condition once at its worst grade).
CHARLSON_HIERARCHY: tuple[tuple[str, str], ...] = (
    ("msld", "mld"),
    ("diabwc", "diab"),
    ("metacanc", "canc"),
)

_CHARLSON_WEIGHTS = ("charlson1987", "quan2011", "shmi")
_ICD10_SHAPE = re.compile(r"[A-Z][0-9]{2}[0-9A-Z]*")


def _normalise_icd10(code: str) -> str:
    # Extracts write I21.4, i214, "I21.4 ", I214X or G01* for the same code; the groups are
    # dotless upper-case prefixes, so keep letters and digits only.
    return re.sub(r"[^0-9A-Za-z]", "", code).upper()


def _icd10_list(icd10_codes: Iterable[object]) -> list[str]:
    if icd10_codes is None or isinstance(icd10_codes, (str, bytes)):
        # A bare string would be iterated letter by letter and score nothing.
        raise ValueError(
            f"icd10_codes must be a list (or other iterable) of ICD-10 code strings; "
            f"got {icd10_codes!r}"
        )
    codes = []
    for code in icd10_codes:
        if _is_missing(code) or (isinstance(code, str) and not code.strip()):
            continue  # an empty diagnosis slot (DIAG_02..DIAG_20 in HES) is not a diagnosis
        if not isinstance(code, str):
            raise ValueError(f"icd10_codes must hold ICD-10 code strings; got {code!r}")
        normalised = _normalise_icd10(code)
        if not _ICD10_SHAPE.fullmatch(normalised):
            raise ValueError(
                f"icd10_codes holds {code!r}, which is not an ICD-10 code "
                f"(a letter, two digits, then optional characters, e.g. I21.4)"
            )
        codes.append(normalised)
    return codes


def charlson_groups(
    icd10_codes: Iterable[str],
    weights: Literal["charlson1987", "quan2011", "shmi"] = "quan2011",
) -> frozenset[str]:
    """The Charlson groups that any of the codes falls in, before any hierarchy.

    Codes may carry dots, spaces and any case; empty slots (None, NaN, "") are skipped.
    ``charlson1987`` and ``quan2011`` use the Quan 2005 ICD-10 groups (Quan H et al. Med Care
    2005;43:1130-9); ``shmi`` uses the SHMI groups (NHS Digital SHMI specification v1.35),
    whose names differ in places (``ami``, ``copd``).
    """
    scheme = _choice("weights", weights, _CHARLSON_WEIGHTS)
    prefixes = _charlson_prefixes(_GROUPS_FILE[scheme])
    lengths = sorted({len(prefix) for prefix in prefixes})
    found: set[str] = set()
    for code in _icd10_list(icd10_codes):
        for length in lengths:
            found.update(prefixes.get(code[:length], ()))
    return frozenset(found)


def charlson(
    icd10_codes: Iterable[str],
    weights: Literal["charlson1987", "quan2011", "shmi"] = "quan2011",
    hierarchy: bool = True,
) -> int:
    """Weighted Charlson comorbidity index from a patient's ICD-10 codes.

    Each group counts once however many codes fall in it. With ``hierarchy`` a mild form
    scores 0 when its severe form is also present (msld over mld, diabwc over diab, metacanc
    over canc), for every weighting, SHMI included: the SHMI groups use the same three pairs.
    SHMI weights diabetes with complications -1, so an SHMI index can be negative.

    Weights: ``charlson1987`` (Charlson ME et al. J Chronic Dis 1987;40:373-83), ``quan2011``
    (Quan H et al. Am J Epidemiol 2011;173:676-82), ``shmi`` (NHS Digital SHMI
    specification v1.35). Groups: Quan H et al. Med Care 2005;43:1130-9, or SHMI's for shmi.
    """
    scheme = _choice("weights", weights, _CHARLSON_WEIGHTS)
    use_hierarchy = _flag("hierarchy", hierarchy)
    groups = set(charlson_groups(icd10_codes, weights=scheme))
    if use_hierarchy:
        for severe, mild in CHARLSON_HIERARCHY:
            if severe in groups:
                groups.discard(mild)
    table = _charlson_weights(scheme)
    return sum(table[group] for group in groups)


# ---------------------------------------------------------------------------------------
# Stroke: mRS, utility-weighted mRS, NIHSS, simplified mRS questionnaire
# ---------------------------------------------------------------------------------------

_UW_MRS = (1.0, 0.91, 0.76, 0.65, 0.33, 0.0, 0.0)


def uw_mrs(mrs: int) -> float:
    """Utility-weighted modified Rankin Scale: 1.0, 0.91, 0.76, 0.65, 0.33, 0, 0 for mRS 0-6.

    Chaisinanunkul N, Adeoye O, Lewis RJ, et al. Adopting a patient-centered approach to
    primary outcome analysis of acute stroke trials using a utility-weighted modified Rankin
    Scale. Stroke 2015;46:2238-43.
    """
    return _UW_MRS[_integer("mrs", mrs, 0, 6)]


# Item -> highest score (Brott T et al. Stroke 1989;20:864-70; NIH Stroke Scale form).
NIHSS_ITEMS: Mapping[str, int] = MappingProxyType({
    "1a": 3, "1b": 2, "1c": 2, "2": 2, "3": 3, "4": 3,
    "5a": 4, "5b": 4, "6a": 4, "6b": 4, "7": 2, "8": 2, "9": 3, "10": 2, "11": 2,
})  # fmt: skip
# The NIHSS form allows "UN" (untestable: amputation or joint fusion for the limb items and
# ataxia, intubation or another physical barrier for dysarthria) on these items only.
NIHSS_UNTESTABLE_ITEMS = frozenset({"5a", "5b", "6a", "6b", "7", "10"})


def nihss_total(items: Mapping[str, int | str]) -> int:
    """NIH Stroke Scale total (0-42) from its 15 item scores.

    ``items`` maps each item ("1a", "1b", "1c", "2", "3", "4", "5a", "5b", "6a", "6b", "7",
    "8", "9", "10", "11") to its score. "UN" (untestable) is accepted on 5a, 5b, 6a, 6b, 7
    and 10, as the form allows, and counts 0 towards the total — the form's instruction is to
    record UN and explain it, not to score it. Brott T, Adams HP Jr, Olinger CP, et al.
    Measurements of acute cerebral infarction: a clinical examination scale.
    Stroke 1989;20:864-70.
    """
    if not isinstance(items, Mapping):
        raise ValueError(f"items must be a dict of NIHSS item -> score; got {items!r}")
    given = {str(key).strip().lower(): value for key, value in items.items()}
    unknown = sorted(set(given) - set(NIHSS_ITEMS))
    if unknown:
        raise ValueError(
            f"items has unknown NIHSS item(s) {', '.join(unknown)}; "
            f"the items are {', '.join(NIHSS_ITEMS)}"
        )
    total = 0
    for item, top in NIHSS_ITEMS.items():
        if item not in given:
            raise ValueError(f"NIHSS item {item} is missing (score 0-{top} required)")
        value = given[item]
        if isinstance(value, str) and value.strip().upper() == "UN":
            if item not in NIHSS_UNTESTABLE_ITEMS:
                raise ValueError(
                    f"NIHSS item {item} cannot be UN (untestable); score it 0-{top}. "
                    f"UN is allowed on items {', '.join(sorted(NIHSS_UNTESTABLE_ITEMS))}"
                )
            continue
        total += _integer(f"NIHSS item {item}", value, 0, top)
    return total


def nihss_band(total: int) -> str:
    """Severity band of an NIHSS total: "none" (0), "minor" (1-4), "moderate" (5-15),
    "moderate_to_severe" (16-20), "severe" (21-42)."""
    score = _integer("total", total, 0, 42)
    if score == 0:
        return "none"
    if score <= 4:
        return "minor"
    if score <= 15:
        return "moderate"
    if score <= 20:
        return "moderate_to_severe"
    return "severe"


# The simplified modified Rankin Scale questionnaire as yes/no decisions, in the order they
# are asked (Bruno A et al. Stroke 2010;41:1048-50; revised Stroke 2011;42:2276-9). The
# key is the question; each answer either ends the questionnaire with a score or leads to the
# next question. Question texts are paraphrased.
SMRSQ_QUESTIONS: Mapping[str, str] = MappingProxyType(
    {
        "dead": "Has the patient died? (optional; leave out for a living patient)",
        "lives_alone_without_help": (
            "Could the patient live alone without any help from another person "
            "(bathing, toilet, meals, shopping, finances)?"
        ),
        "walks_without_help": (
            "Can the patient walk without help from another person (walking aids allowed)?"
        ),
        "bedridden_constant_care": "Is the patient bedridden, needing constant care day and night?",
        "does_all_usual_activities": (
            "Can the patient do everything they did before the stroke (work, hobbies, social "
            "life), even if slower?"
        ),
        "any_symptoms": "Does the patient have any symptoms or problems left from the stroke?",
    }
)


def _answer(answers: Mapping[str, object], question: str) -> bool:
    if question not in answers or _is_missing(answers[question]):
        raise ValueError(
            f"answers is missing {question!r} ({SMRSQ_QUESTIONS[question]}), "
            f"which the answers so far make necessary; answer True or False"
        )
    value = answers[question]
    if isinstance(value, str) and value.strip().lower() in ("yes", "no"):
        return value.strip().lower() == "yes"
    return _flag(f"answers[{question!r}]", value)


def mrs_from_smrsq(answers: Mapping[str, bool | str]) -> int:
    """Modified Rankin Scale score (0-6) from the simplified mRS questionnaire (smRSq).

    ``answers`` maps question keys (``SMRSQ_QUESTIONS``) to True/False (or "yes"/"no").
    Only the questions on the path taken are needed; the others may be left out::

        dead? yes -> 6 (leave out "dead" for a living patient)
        lives_alone_without_help?
          no  -> walks_without_help?  yes -> 3
                                      no  -> bedridden_constant_care?  yes -> 5, no -> 4
          yes -> does_all_usual_activities?  no -> 2
                                             yes -> any_symptoms?  yes -> 1, no -> 0

    Bruno A, Shah N, Lin C, et al. Improving modified Rankin Scale assessment with a
    simplified questionnaire. Stroke 2010;41:1048-50. Bruno A, Akinwuntan AE, Lin C, et al.
    Simplified modified Rankin Scale questionnaire: reproducibility over the telephone and
    validation with quality of life. Stroke 2011;42:2276-9.
    """
    if not isinstance(answers, Mapping):
        raise ValueError(f"answers must be a dict of smRSq question -> True/False; got {answers!r}")
    unknown = sorted(set(answers) - set(SMRSQ_QUESTIONS))
    if unknown:
        raise ValueError(
            f"answers has unknown smRSq question(s) {', '.join(map(repr, unknown))}; "
            f"the questions are {', '.join(SMRSQ_QUESTIONS)}"
        )
    if "dead" in answers and _answer(answers, "dead"):
        return 6
    if not _answer(answers, "lives_alone_without_help"):
        if _answer(answers, "walks_without_help"):
            return 3
        return 5 if _answer(answers, "bedridden_constant_care") else 4
    if not _answer(answers, "does_all_usual_activities"):
        return 2
    return 1 if _answer(answers, "any_symptoms") else 0


# ---------------------------------------------------------------------------------------
# EuroSCORE II
# ---------------------------------------------------------------------------------------

# Nashef SAM, Roques F, Sharples LD, et al. EuroSCORE II. Eur J Cardiothorac Surg
# 2012;41:734-45 (the published logistic coefficients).
_ES2_CONSTANT = -5.324537
_ES2_AGE = 0.0285181
_ES2_FLAGS = {
    "female": 0.2196434,
    "extracardiac_arteriopathy": 0.5360268,
    "poor_mobility": 0.2407181,
    "redo": 1.118599,
    "chronic_lung_disease": 0.1886564,
    "active_endocarditis": 0.6194522,
    "critical_preop": 1.086517,
    "insulin_diabetes": 0.3542749,
    "ccs4_angina": 0.2226147,
    "recent_mi": 0.1528943,
    "thoracic_aorta": 0.6527205,
}
_ES2_RENAL = {"normal": 0.0, "moderate": 0.303553, "severe": 0.8592256, "dialysis": 0.6421508}
_ES2_NYHA = {1: 0.0, 2: 0.1070545, 3: 0.2958358, 4: 0.5597929}
_ES2_LV = {"good": 0.0, "moderate": 0.3150652, "poor": 0.8084096, "very_poor": 0.9346919}
_ES2_PA = {"normal": 0.0, "moderate": 0.1788899, "severe": 0.3491475}
_ES2_URGENCY = {"elective": 0.0, "urgent": 0.3174673, "emergency": 0.7039121, "salvage": 1.362947}
_ES2_WEIGHT = {
    "isolated_cabg": 0.0,
    "single_non_cabg": 0.0062118,
    "two": 0.5521478,
    "three_plus": 0.9724533,
}


def _es2_renal_class(creatinine_clearance: float | None, dialysis: bool) -> str:
    # Dialysis is its own class whatever the clearance (its coefficient is smaller than the
    # severe class's; that is the published model, not a slip).
    if dialysis:
        return "dialysis"
    if creatinine_clearance is None:
        return "normal"
    clearance = _number(
        "creatinine_clearance", creatinine_clearance, lo=0, hi=400, lo_open=True, unit="ml/min"
    )
    if clearance > 85:
        return "normal"
    return "moderate" if clearance > 50 else "severe"


def euroscore2(
    age: float,
    female: bool = False,
    creatinine_clearance: float | None = None,
    dialysis: bool = False,
    extracardiac_arteriopathy: bool = False,
    poor_mobility: bool = False,
    redo: bool = False,
    chronic_lung_disease: bool = False,
    active_endocarditis: bool = False,
    critical_preop: bool = False,
    insulin_diabetes: bool = False,
    nyha: int = 1,
    ccs4_angina: bool = False,
    lv: str = "good",
    recent_mi: bool = False,
    pa_pressure: str = "normal",
    urgency: str = "elective",
    procedure_weight: str = "isolated_cabg",
    thoracic_aorta: bool = False,
) -> float:
    """EuroSCORE II predicted in-hospital mortality, as a fraction (0.05 is 5 %).

    p = exp(y) / (1 + exp(y)), y = -5.324537 + 0.0285181 * max(1, age - 59) + the factors'
    coefficients. ``age`` in years (18-120); ``creatinine_clearance`` in ml/min
    (Cockcroft-Gault, see ``cockcroft_gault``), None meaning normal (> 85), 51-85 moderate,
    <= 50 severe; ``dialysis`` overrides the clearance. ``lv``: good (> 50 %), moderate
    (31-50 %), poor (21-30 %), very_poor (<= 20 %). ``pa_pressure``: normal, moderate
    (31-55 mmHg), severe (> 55 mmHg). ``urgency``: elective, urgent, emergency, salvage.
    ``procedure_weight``: isolated_cabg, single_non_cabg, two, three_plus. ``nyha``: 1-4.
    Nashef SAM, Roques F, Sharples LD, et al. EuroSCORE II. Eur J Cardiothorac Surg
    2012;41:734-45.
    """
    years = _number("age", age, lo=18, hi=120, unit="years")
    flags = {
        "female": female,
        "extracardiac_arteriopathy": extracardiac_arteriopathy,
        "poor_mobility": poor_mobility,
        "redo": redo,
        "chronic_lung_disease": chronic_lung_disease,
        "active_endocarditis": active_endocarditis,
        "critical_preop": critical_preop,
        "insulin_diabetes": insulin_diabetes,
        "ccs4_angina": ccs4_angina,
        "recent_mi": recent_mi,
        "thoracic_aorta": thoracic_aorta,
    }
    y = _ES2_CONSTANT + _ES2_AGE * max(1.0, years - 59)
    y += sum(_ES2_FLAGS[name] for name, value in flags.items() if _flag(name, value))
    y += _ES2_RENAL[_es2_renal_class(creatinine_clearance, _flag("dialysis", dialysis))]
    y += _ES2_NYHA[_integer("nyha", nyha, 1, 4)]
    y += _ES2_LV[_choice("lv", lv, tuple(_ES2_LV))]
    y += _ES2_PA[_choice("pa_pressure", pa_pressure, tuple(_ES2_PA))]
    y += _ES2_URGENCY[_choice("urgency", urgency, tuple(_ES2_URGENCY))]
    y += _ES2_WEIGHT[_choice("procedure_weight", procedure_weight, tuple(_ES2_WEIGHT))]
    return 1.0 / (1.0 + math.exp(-y))


def cockcroft_gault(age: float, weight_kg: float, creatinine_mg_dl: float, female: bool) -> float:
    """Creatinine clearance in ml/min by Cockcroft-Gault, as EuroSCORE II asks for it:
    (140 - age) x weight kg (x 0.85 if female) / (72 x serum creatinine mg/dL).

    Cockcroft DW, Gault MH. Prediction of creatinine clearance from serum creatinine.
    Nephron 1976;16:31-41.
    """
    years = _number("age", age, lo=18, hi=120, unit="years")
    weight = _number("weight_kg", weight_kg, lo=0, hi=500, lo_open=True, unit="kg")
    creatinine = _number("creatinine_mg_dl", creatinine_mg_dl, **_CREATININE_MG_DL)
    sex_factor = 0.85 if _flag("female", female) else 1.0
    return (140 - years) * weight * sex_factor / (72 * creatinine)


# ---------------------------------------------------------------------------------------
# Liver
# ---------------------------------------------------------------------------------------

# Plausibility limits: wide enough for any real patient, narrow enough to catch most unit
# slips (a sodium of 1.4 or an INR of 120 is a data error, not a patient).
_SODIUM = {"lo": 80.0, "hi": 200.0, "unit": "mmol/L"}
_INR = {"lo": 0.0, "hi": 30.0, "lo_open": True}
_BILIRUBIN_MG_DL = {"lo": 0.0, "hi": 100.0, "lo_open": True, "unit": "mg/dL"}
_CREATININE_MG_DL = {"lo": 0.0, "hi": 30.0, "lo_open": True, "unit": "mg/dL"}
_BILIRUBIN_UMOL_L = {"lo": 0.0, "hi": 1700.0, "lo_open": True, "unit": "umol/L"}
_CREATININE_UMOL_L = {"lo": 0.0, "hi": 2700.0, "lo_open": True, "unit": "umol/L"}


def _meld_unrounded(bilirubin: float, inr: float, creatinine: float, dialysis: bool) -> float:
    """10 x MELD(i) before rounding, with OPTN's floors and creatinine cap applied."""
    bilirubin = max(bilirubin, 1.0)  # values below 1.0 would give negative logs
    inr = max(inr, 1.0)
    creatinine = 4.0 if dialysis else min(max(creatinine, 1.0), 4.0)
    meld_i = 0.957 * math.log(creatinine) + 0.378 * math.log(bilirubin) + 1.120 * math.log(inr)
    return 10 * (meld_i + 0.643)


def meld(
    bilirubin_mg_dl: float, inr: float, creatinine_mg_dl: float, dialysis: bool = False
) -> int:
    """MELD score (6-40), OPTN version.

    MELD(i) = 0.957 ln(creatinine) + 0.378 ln(bilirubin) + 1.120 ln(INR) + 0.643, with
    bilirubin, INR and creatinine (mg/dL) floored at 1.0, creatinine capped at 4.0 and set to
    4.0 on dialysis (twice in the past week, or 24 h CVVHD). MELD = 10 x MELD(i), rounded
    half up to an integer, capped at 40. Kamath PS, Wiesner RH, Malinchoc M, et al.
    A model to predict survival in patients with end-stage liver disease.
    Hepatology 2001;33:464-70; OPTN policy 9.1.
    """
    bilirubin = _number("bilirubin_mg_dl", bilirubin_mg_dl, **_BILIRUBIN_MG_DL)
    inr_value = _number("inr", inr, **_INR)
    creatinine = _number("creatinine_mg_dl", creatinine_mg_dl, **_CREATININE_MG_DL)
    on_dialysis = _flag("dialysis", dialysis)
    return min(_round_half_up(_meld_unrounded(bilirubin, inr_value, creatinine, on_dialysis)), 40)


def meld_na(
    bilirubin_mg_dl: float,
    inr: float,
    creatinine_mg_dl: float,
    sodium: float,
    dialysis: bool = False,
) -> int:
    """MELD-Na score (6-40), OPTN 2016 version.

    Start from MELD (``meld``). If it is above 11: MELD + 1.32 (137 - Na) - 0.033 MELD
    (137 - Na), sodium (mmol/L) clamped to 125-137, rounded half up, capped at 40; at 11 or
    below MELD stands. Kim WR, Biggins SW, Kremers WK, et al. Hyponatremia and mortality
    among patients on the liver-transplant waiting list. N Engl J Med 2008;359:1018-26;
    OPTN policy 9.1 (January 2016 to July 2023, when OPTN moved to MELD 3.0).
    """
    score = meld(bilirubin_mg_dl, inr, creatinine_mg_dl, dialysis=dialysis)
    sodium_value = _number("sodium", sodium, **_SODIUM)
    if score <= 11:
        return score
    # Decimal arithmetic so that a result that is exactly x.5 on paper rounds up, as OPTN's
    # does, rather than falling either side by a binary rounding error.
    deficit = Decimal(137) - min(max(Decimal(repr(sodium_value)), Decimal(125)), Decimal(137))
    adjusted = score + Decimal("1.32") * deficit - Decimal("0.033") * score * deficit
    return min(_round_half_up(adjusted), 40)


def ukeld(inr: float, creatinine_umol_l: float, bilirubin_umol_l: float, sodium: float) -> float:
    """UKELD, unrounded: 5.395 ln(INR) + 1.485 ln(creatinine umol/L) + 3.13 ln(bilirubin
    umol/L) - 81.565 ln(Na mmol/L) + 435. UK elective listing needs UKELD >= 49.

    Barber K, Madden S, Allen J, et al. Elective liver transplant list mortality: development
    of a United Kingdom end-stage liver disease score. Transplantation 2011;92:469-76.
    """
    inr_value = _number("inr", inr, **_INR)
    creatinine = _number("creatinine_umol_l", creatinine_umol_l, **_CREATININE_UMOL_L)
    bilirubin = _number("bilirubin_umol_l", bilirubin_umol_l, **_BILIRUBIN_UMOL_L)
    sodium_value = _number("sodium", sodium, **_SODIUM)
    return (
        5.395 * math.log(inr_value)
        + 1.485 * math.log(creatinine)
        + 3.13 * math.log(bilirubin)
        - 81.565 * math.log(sodium_value)
        + 435
    )


def _three_bands(value: float, low_edge: float, high_edge: float) -> int:
    """1 below ``low_edge``, 3 above ``high_edge``, 2 between them, both edges included."""
    if value < low_edge:
        return 1
    return 2 if value <= high_edge else 3


_ASCITES_POINTS = {"none": 1, "mild": 2, "moderate_severe": 3}
_ENCEPHALOPATHY_POINTS = {"none": 1, "grade_1_2": 2, "grade_3_4": 3}


def child_pugh(
    bilirubin_umol_l: float,
    albumin_g_l: float,
    inr: float,
    ascites: str,
    encephalopathy: str,
) -> tuple[int, str]:
    """Child-Pugh points (5-15) and class ("A" 5-6, "B" 7-9, "C" 10-15).

    Points 1/2/3: bilirubin < 34 / 34-50 / > 50 umol/L; albumin > 35 / 28-35 / < 28 g/L;
    INR < 1.7 / 1.7-2.3 / > 2.3; ascites none / mild / moderate_severe; encephalopathy
    none / grade_1_2 / grade_3_4. The middle bands include both end points (bilirubin 34
    and 50 both score 2; albumin 28 and 35 both score 2; INR 1.7 and 2.3 both score 2).
    Pugh RNH, Murray-Lyon IM, Dawson JL, et al. Transection of the oesophagus for bleeding
    oesophageal varices. Br J Surg 1973;60:646-9.
    """
    bilirubin = _number("bilirubin_umol_l", bilirubin_umol_l, **_BILIRUBIN_UMOL_L)
    albumin = _number("albumin_g_l", albumin_g_l, lo=0, hi=80, lo_open=True, unit="g/L")
    inr_value = _number("inr", inr, **_INR)
    points = (
        _three_bands(bilirubin, 34, 50)
        # albumin is better when higher: score its negative against the negated edges
        + _three_bands(-albumin, -35, -28)
        + _three_bands(inr_value, 1.7, 2.3)
        + _ASCITES_POINTS[_choice("ascites", ascites, tuple(_ASCITES_POINTS))]
        + _ENCEPHALOPATHY_POINTS[
            _choice("encephalopathy", encephalopathy, tuple(_ENCEPHALOPATHY_POINTS))
        ]
    )
    grade = "A" if points <= 6 else "B" if points <= 9 else "C"
    return points, grade


def fib4(age: float, ast: float, alt: float, platelets: float) -> float:
    """FIB-4 = age x AST / (platelets x sqrt(ALT)); age in years, AST and ALT in U/L,
    platelets in 10^9/L. HCV cut-offs: < 1.45 low, > 3.25 high probability of advanced
    fibrosis. Sterling RK, Lissen E, Clumeck N, et al. Development of a simple noninvasive
    index to predict significant fibrosis in patients with HIV/HCV coinfection.
    Hepatology 2006;43:1317-25.
    """
    years = _number("age", age, lo=0, hi=120, lo_open=True, unit="years")
    ast_value = _number("ast", ast, lo=0, hi=20000, lo_open=True, unit="U/L")
    alt_value = _number("alt", alt, lo=0, hi=20000, lo_open=True, unit="U/L")
    platelet_count = _number("platelets", platelets, lo=0, hi=2000, lo_open=True, unit="x10^9/L")
    return years * ast_value / (platelet_count * math.sqrt(alt_value))


def apri(ast: float, ast_upper_limit: float, platelets: float) -> float:
    """APRI = (AST / AST upper limit of normal) x 100 / platelets (10^9/L). HCV: <= 0.5 low
    probability, > 1.5 significant fibrosis; cirrhosis <= 1.0 rule-out, > 2.0 rule-in.
    Wai CT, Greenson JK, Fontana RJ, et al. A simple noninvasive index can predict both
    significant fibrosis and cirrhosis in patients with chronic hepatitis C.
    Hepatology 2003;38:518-26.
    """
    ast_value = _number("ast", ast, lo=0, hi=20000, lo_open=True, unit="U/L")
    upper = _number("ast_upper_limit", ast_upper_limit, lo=0, hi=1000, lo_open=True, unit="U/L")
    platelet_count = _number("platelets", platelets, lo=0, hi=2000, lo_open=True, unit="x10^9/L")
    return (ast_value / upper) * 100 / platelet_count
