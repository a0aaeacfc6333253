"""The effects built into the synthetic trust: what later analytics should find.

Every parameter the pathway modules draw from lives here, so the manifest can state the truth
exactly and a test can check that an analysis recovers it. Odds ratios and coefficients are
on the logit scale of the model named beside them; medians are of log-normal draws.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date


@dataclass(frozen=True)
class StrokeTruths:
    haemorrhagic_share: float = 0.15
    # Door-to-needle minutes, log-normal: North's thrombolysis service is quicker.
    door_to_needle_median_minutes: dict[str, float] = field(
        default_factory=lambda: {"North": 45.0, "South": 60.0}
    )
    door_to_needle_sigma: float = 0.35
    # Chance of thrombolysis for an ischaemic stroke with NIHSS 2-25 and pre-stroke mRS <= 3
    # (others 1%): about 12% of ischaemic strokes overall.
    thrombolysis_if_eligible: float = 0.16
    thrombectomy_if_nihss_6_plus: float = 0.10
    acute_los_median_days: float = 8.0  # at NIHSS 5, age 75, ischaemic
    acute_los_sigma: float = 0.8
    # 90-day death, logistic: intercept at age 75, NIHSS 5, ischaemic, pre-stroke mRS 0.
    mortality_90d_intercept: float = -2.7
    mortality_90d_per_year_of_age: float = 0.04
    mortality_90d_per_nihss_point: float = 0.11
    mortality_90d_haemorrhagic: float = 1.1
    mortality_90d_per_pre_mrs_point: float = 0.25
    mortality_90d_thrombolysis: float = -0.25
    mortality_90d_covid_first_wave: float = 0.35  # admissions 2020-04 to 2020-06
    # Share of 90-day deaths that fall in the first 30 days is about two thirds.
    after_90_days_mortality_multiplier: float = 2.0
    readmission_30d_share: float = 0.08
    early_supported_discharge_share: float = 0.5  # of those going home with mRS <= 3
    review_attendance_share: float = 0.85
    prom_base_response: float = 0.82


@dataclass(frozen=True)
class EndocarditisTruths:
    service_change: str = "multidisciplinary endocarditis team"
    service_change_date: date = date(2021, 10, 1)
    transfer_share: float = 0.30
    # Hours from arrival to the first IV antibiotic, log-normal, before / after the team.
    time_to_antibiotic_median_hours_before: float = 9.0
    time_to_antibiotic_median_hours_after: float = 4.0
    time_to_antibiotic_sigma: float = 0.8
    transfer_time_to_antibiotic_factor: float = 0.5  # already diagnosed when transferred
    # Days from arrival to valve surgery, log-normal, before / after the team.
    time_to_surgery_median_days_before: float = 12.0
    time_to_surgery_median_days_after: float = 7.0
    time_to_surgery_sigma: float = 0.55
    planned_surgery_share: float = 0.50  # some die before their operation
    # 12-month death, logistic: intercept at age 60, no risk factor, no team.
    mortality_12m_intercept: float = -1.3
    mortality_12m_per_year_of_age: float = 0.035
    mortality_12m_staphylococcus_aureus: float = 0.75
    mortality_12m_prosthetic_valve: float = 0.45
    mortality_12m_creatinine_over_150: float = 0.5
    mortality_12m_planned_surgery: float = -0.35
    mortality_12m_team_odds_ratio: float = 0.65
    in_hospital_share_of_12m_deaths: float = 0.62
    recurrence_12m_share: float = 0.065
    redo_surgery_share_of_recurrences: float = 0.3
    prom_base_response: float = 0.75


@dataclass(frozen=True)
class HepatitisCTruths:
    treatment_share: float = 0.84  # of those referred, before loss to follow-up
    treatment_share_injecting: float = 0.70
    completion_share: float = 0.95
    svr12_test_share: float = 0.88
    svr12_test_share_injecting: float = 0.74
    cure_if_completed: float = 0.96
    cure_if_completed_cirrhosis: float = 0.91
    cure_if_not_completed: float = 0.65
    cirrhosis_share: float = 0.15
    reinfection_share_injecting: float = 0.12  # of the cured, within two years
    reinfection_share_not_injecting: float = 0.015
    retreatment_share_of_reinfections: float = 0.5
    prom_base_response: float = 0.72


STROKE = StrokeTruths()
ENDOCARDITIS = EndocarditisTruths()
HEPATITIS_C = HepatitisCTruths()


def as_manifest() -> dict:
    def plain(obj) -> dict:
        return {k: (v.isoformat() if isinstance(v, date) else v) for k, v in asdict(obj).items()}

    return {
        "stroke": plain(STROKE),
        "endocarditis": plain(ENDOCARDITIS),
        "hepatitis_c": plain(HEPATITIS_C),
    }
