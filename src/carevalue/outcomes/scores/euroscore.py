"""EuroSCORE II predicted in-hospital mortality after cardiac surgery, and the Cockcroft-Gault
creatinine clearance it asks for (pure; the published logistic coefficients)."""

from __future__ import annotations

import math

from carevalue.outcomes.scores.checks import CREATININE_MG_DL, choice, flag, integer, number

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
    clearance = number(
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
    years = number("age", age, lo=18, hi=120, unit="years")
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
    y += sum(_ES2_FLAGS[name] for name, value in flags.items() if flag(name, value))
    y += _ES2_RENAL[_es2_renal_class(creatinine_clearance, flag("dialysis", dialysis))]
    y += _ES2_NYHA[integer("nyha", nyha, 1, 4)]
    y += _ES2_LV[choice("lv", lv, tuple(_ES2_LV))]
    y += _ES2_PA[choice("pa_pressure", pa_pressure, tuple(_ES2_PA))]
    y += _ES2_URGENCY[choice("urgency", urgency, tuple(_ES2_URGENCY))]
    y += _ES2_WEIGHT[choice("procedure_weight", procedure_weight, tuple(_ES2_WEIGHT))]
    return 1.0 / (1.0 + math.exp(-y))


def cockcroft_gault(age: float, weight_kg: float, creatinine_mg_dl: float, female: bool) -> float:
    """Creatinine clearance in ml/min by Cockcroft-Gault, as EuroSCORE II asks for it:
    (140 - age) x weight kg (x 0.85 if female) / (72 x serum creatinine mg/dL).

    Cockcroft DW, Gault MH. Prediction of creatinine clearance from serum creatinine.
    Nephron 1976;16:31-41.
    """
    years = number("age", age, lo=18, hi=120, unit="years")
    weight = number("weight_kg", weight_kg, lo=0, hi=500, lo_open=True, unit="kg")
    creatinine = number("creatinine_mg_dl", creatinine_mg_dl, **CREATININE_MG_DL)
    sex_factor = 0.85 if flag("female", female) else 1.0
    return (140 - years) * weight * sex_factor / (72 * creatinine)
