"""Liver scores: MELD and MELD-Na (OPTN), UKELD, Child-Pugh, FIB-4 and APRI (pure)."""

from __future__ import annotations

import math
from decimal import Decimal

from carevalue.outcomes.scores.checks import (
    BILIRUBIN_MG_DL,
    BILIRUBIN_UMOL_L,
    CREATININE_MG_DL,
    CREATININE_UMOL_L,
    INR,
    SODIUM,
    choice,
    flag,
    number,
    round_half_up,
)


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
    bilirubin = number("bilirubin_mg_dl", bilirubin_mg_dl, **BILIRUBIN_MG_DL)
    inr_value = number("inr", inr, **INR)
    creatinine = number("creatinine_mg_dl", creatinine_mg_dl, **CREATININE_MG_DL)
    on_dialysis = flag("dialysis", dialysis)
    return min(round_half_up(_meld_unrounded(bilirubin, inr_value, creatinine, on_dialysis)), 40)


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
    sodium_value = number("sodium", sodium, **SODIUM)
    if score <= 11:
        return score
    # Decimal arithmetic so that a result that is exactly x.5 on paper rounds up, as OPTN's
    # does, rather than falling either side by a binary rounding error.
    deficit = Decimal(137) - min(max(Decimal(repr(sodium_value)), Decimal(125)), Decimal(137))
    adjusted = score + Decimal("1.32") * deficit - Decimal("0.033") * score * deficit
    return min(round_half_up(adjusted), 40)


def ukeld(inr: float, creatinine_umol_l: float, bilirubin_umol_l: float, sodium: float) -> float:
    """UKELD, unrounded: 5.395 ln(INR) + 1.485 ln(creatinine umol/L) + 3.13 ln(bilirubin
    umol/L) - 81.565 ln(Na mmol/L) + 435. UK elective listing needs UKELD >= 49.

    Barber K, Madden S, Allen J, et al. Elective liver transplant list mortality: development
    of a United Kingdom end-stage liver disease score. Transplantation 2011;92:469-76.
    """
    inr_value = number("inr", inr, **INR)
    creatinine = number("creatinine_umol_l", creatinine_umol_l, **CREATININE_UMOL_L)
    bilirubin = number("bilirubin_umol_l", bilirubin_umol_l, **BILIRUBIN_UMOL_L)
    sodium_value = number("sodium", sodium, **SODIUM)
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
    bilirubin = number("bilirubin_umol_l", bilirubin_umol_l, **BILIRUBIN_UMOL_L)
    albumin = number("albumin_g_l", albumin_g_l, lo=0, hi=80, lo_open=True, unit="g/L")
    inr_value = number("inr", inr, **INR)
    points = (
        _three_bands(bilirubin, 34, 50)
        # albumin is better when higher: score its negative against the negated edges
        + _three_bands(-albumin, -35, -28)
        + _three_bands(inr_value, 1.7, 2.3)
        + _ASCITES_POINTS[choice("ascites", ascites, tuple(_ASCITES_POINTS))]
        + _ENCEPHALOPATHY_POINTS[
            choice("encephalopathy", encephalopathy, tuple(_ENCEPHALOPATHY_POINTS))
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
    years = number("age", age, lo=0, hi=120, lo_open=True, unit="years")
    ast_value = number("ast", ast, lo=0, hi=20000, lo_open=True, unit="U/L")
    alt_value = number("alt", alt, lo=0, hi=20000, lo_open=True, unit="U/L")
    platelet_count = number("platelets", platelets, lo=0, hi=2000, lo_open=True, unit="x10^9/L")
    return years * ast_value / (platelet_count * math.sqrt(alt_value))


def apri(ast: float, ast_upper_limit: float, platelets: float) -> float:
    """APRI = (AST / AST upper limit of normal) x 100 / platelets (10^9/L). HCV: <= 0.5 low
    probability, > 1.5 significant fibrosis; cirrhosis <= 1.0 rule-out, > 2.0 rule-in.
    Wai CT, Greenson JK, Fontana RJ, et al. A simple noninvasive index can predict both
    significant fibrosis and cirrhosis in patients with chronic hepatitis C.
    Hepatology 2003;38:518-26.
    """
    ast_value = number("ast", ast, lo=0, hi=20000, lo_open=True, unit="U/L")
    upper = number("ast_upper_limit", ast_upper_limit, lo=0, hi=1000, lo_open=True, unit="U/L")
    platelet_count = number("platelets", platelets, lo=0, hi=2000, lo_open=True, unit="x10^9/L")
    return (ast_value / upper) * 100 / platelet_count
