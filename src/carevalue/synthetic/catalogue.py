"""What the synthetic trust does and where its money goes: departments, cost centres, expense
codes and the catalogue of activity items.

Every activity row the generator writes is one :class:`ActivityItem` (which fixes its
activity_type, code, department, cost centre, resource group and unit cost) plus times,
minutes and quantity. So an activity's cost can always be recomputed from the written row:
``unit_cost * quantity + minute_cost * minutes``. The ledger is built from the same numbers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from carevalue.synthetic import unit_costs as uc

CostCentreKind = Literal["patient_facing", "overhead", "excluded"]


@dataclass(frozen=True)
class CostCentre:
    code: str
    name: str
    kind: CostCentreKind


# One cost centre per department; the department name is the cost centre name.
COST_CENTRES: tuple[CostCentre, ...] = (
    CostCentre("CC1001", "Emergency Department", "patient_facing"),
    CostCentre("CC1002", "Ambulance Service", "patient_facing"),
    CostCentre("CC1101", "General Medicine", "patient_facing"),
    CostCentre("CC1102", "General Surgery", "patient_facing"),
    CostCentre("CC1103", "Trauma and Orthopaedics", "patient_facing"),
    CostCentre("CC1104", "Cardiology", "patient_facing"),
    CostCentre("CC1105", "Hepatology Clinic", "patient_facing"),
    CostCentre("CC1106", "Outpatients", "patient_facing"),
    CostCentre("CC1107", "Day Surgery Unit", "patient_facing"),
    CostCentre("CC1108", "Endoscopy", "patient_facing"),
    CostCentre("CC1201", "Hyperacute Stroke Unit", "patient_facing"),
    CostCentre("CC1202", "Stroke Unit", "patient_facing"),
    CostCentre("CC1203", "Therapies", "patient_facing"),
    CostCentre("CC1204", "Community Stroke Team", "patient_facing"),
    CostCentre("CC1205", "OPAT Service", "patient_facing"),
    CostCentre("CC1206", "Stroke Rehabilitation Unit", "patient_facing"),
    CostCentre("CC1301", "Cardiac Surgery", "patient_facing"),
    CostCentre("CC1302", "Cardiac Physiology", "patient_facing"),
    CostCentre("CC1401", "Critical Care", "patient_facing"),
    CostCentre("CC1402", "Theatres", "patient_facing"),
    CostCentre("CC1501", "Radiology", "patient_facing"),
    CostCentre("CC1502", "Interventional Radiology", "patient_facing"),
    CostCentre("CC1503", "Pathology", "patient_facing"),
    CostCentre("CC1504", "Pharmacy", "patient_facing"),
    CostCentre("CC9001", "Estates and Facilities", "overhead"),
    CostCentre("CC9002", "Information Technology", "overhead"),
    CostCentre("CC9003", "Finance", "overhead"),
    CostCentre("CC9004", "Human Resources", "overhead"),
    CostCentre("CC9101", "Education and Training", "excluded"),
    CostCentre("CC9102", "Research and Development", "excluded"),
)
COST_CENTRE_BY_NAME = {cc.name: cc for cc in COST_CENTRES}
COST_CENTRE_INDEX = {cc.code: i for i, cc in enumerate(COST_CENTRES)}

# Expense codes: code -> (name, expense_type)
EXPENSE_CODES: dict[str, tuple[str, str]] = {
    "E1010": ("Medical staff", "pay"),
    "E1020": ("Nursing and midwifery staff", "pay"),
    "E1030": ("Allied health professionals", "pay"),
    "E1040": ("Healthcare scientists", "pay"),
    "E2010": ("Drugs", "non_pay"),
    "E2020": ("Clinical supplies and services", "non_pay"),
    "E2030": ("Prostheses, implants and devices", "non_pay"),
    "E2040": ("Healthcare purchased from other providers", "non_pay"),
    "E3010": ("Estates, premises and facilities", "overhead"),
    "E3020": ("Information technology", "overhead"),
    "E3030": ("Finance", "overhead"),
    "E3040": ("Human resources", "overhead"),
    "E4010": ("Education and training", "excluded"),
    "E4020": ("Research and development", "excluded"),
    "E5010": ("Education and training income", "income"),
    "E5020": ("Research grant income", "income"),
    "E5030": ("Car parking and other operating income", "income"),
}
EXPENSE_CODE_LIST = tuple(EXPENSE_CODES)
EXPENSE_CODE_INDEX = {code: i for i, code in enumerate(EXPENSE_CODE_LIST)}


@dataclass(frozen=True)
class ActivityItem:
    """One kind of activity, with what it costs.

    cost = unit_cost * quantity + minute_cost * minutes; pay_share of that is staff pay
    (charged to pay_expense), the rest non-pay (charged to non_pay_expense).
    """

    key: str
    activity_type: str
    code_system: str
    code: str
    term: str
    department: str
    resource_group: str
    unit_cost: float
    minute_cost: float
    pay_share: float
    pay_expense: str
    non_pay_expense: str
    source: str
    relative_weight: float | None = None
    care_level: int | None = None

    @property
    def cost_centre(self) -> str:
        return COST_CENTRE_BY_NAME[self.department].code


def _ward(key: str, code: str, department: str, ref_cost: float, source: str) -> ActivityItem:
    return ActivityItem(
        key,
        "ward_stay",
        "LOCAL",
        code,
        f"{department} ward stay (bed days)",
        department,
        "bed",
        ref_cost,
        0.0,
        0.65,
        "E1020",
        "E2020",
        source,
    )


def _imaging(
    key: str, code_system: str, code: str, term: str, department: str, weight: float
) -> ActivityItem:
    return ActivityItem(
        key,
        "imaging",
        code_system,
        code,
        term,
        department,
        "imaging",
        round(uc.IMAGING_WEIGHT_UNIT * weight, 2),
        0.0,
        0.55,
        "E1030" if department == "Radiology" else "E1040",
        "E2020",
        "assumption: imaging relative weight x imaging weight unit",
        relative_weight=weight,
    )


def _pathology(key: str, code: str, term: str, weight: float) -> ActivityItem:
    return ActivityItem(
        key,
        "pathology",
        "LOCAL",
        code,
        term,
        "Pathology",
        "lab",
        round(uc.PATHOLOGY_WEIGHT_UNIT * weight, 2),
        0.0,
        0.5,
        "E1040",
        "E2020",
        "assumption: pathology relative weight x pathology weight unit",
        relative_weight=weight,
    )


def _drug(key: str, code: str, term: str, price: float, source: str) -> ActivityItem:
    return ActivityItem(
        key,
        "pharmacy",
        "LOCAL",
        code,
        term,
        "Pharmacy",
        "drugs",
        price,
        0.0,
        0.0,
        "E1040",
        "E2010",
        source,
    )


def _theatre(key: str, code: str, term: str, department: str, implant: float) -> ActivityItem:
    cardiac = department == "Cardiac Surgery"
    return ActivityItem(
        key,
        "theatre",
        "OPCS4",
        code,
        term,
        department,
        "theatre",
        implant,
        uc.CARDIAC_THEATRE_MINUTE if cardiac else uc.THEATRE_MINUTE,
        0.6,
        "E1020",
        "E2030" if implant else "E2020",
        "assumption: theatre minute from the elective inpatient episode"
        + (" x 1.6, plus valve prosthesis" if cardiac else "")
        + (" plus joint prosthesis" if implant and not cardiac else ""),
    )


def _therapy(
    key: str, code: str, term: str, department: str, resource: str, activity_type: str = "therapy"
) -> ActivityItem:
    return ActivityItem(
        key,
        activity_type,
        "LOCAL",
        code,
        term,
        department,
        resource,
        0.0,
        uc.NURSE_MINUTE,
        0.95,
        "E1030" if resource == "AHP" else "E1020",
        "E2020",
        "band 5 nurse hour (about 2008) uplifted, per minute",
    )


_REF = "uk_unit_costs_examples.csv: "
_OP_SOURCE = _REF + "outpatient attendance (national average) 2016/17"
_DAA = "uk_unit_costs_examples.csv: ledipasvir-sofosbuvir 12-week course (list price), NICE TA363"
_ASSUMED_DRUG = "assumption: order-of-magnitude NHS price per dose"

CATALOGUE: tuple[ActivityItem, ...] = (
    # Arrival
    ActivityItem(
        "AMBULANCE",
        "ambulance",
        "LOCAL",
        "AMB-CONVEY",
        "Emergency ambulance conveyance",
        "Ambulance Service",
        "ambulance",
        uc.AMBULANCE_CONVEYANCE,
        0.0,
        0.0,
        "E1020",
        "E2040",
        "assumption: see, treat and convey recharge",
    ),
    ActivityItem(
        "ED_ATTENDANCE",
        "procedure",
        "SNOMED",
        "4525004",
        "Emergency department patient visit",
        "Emergency Department",
        "medical",
        uc.AE_ATTENDANCE.uplifted,
        0.0,
        0.75,
        "E1010",
        "E2020",
        _REF + "A&E attendance (national average) 2016/17",
    ),
    # Wards
    _ward(
        "WARD_GENERAL_MEDICINE",
        "WARD-GENMED",
        "General Medicine",
        uc.GENERAL_WARD_BED_DAY.uplifted,
        _REF + "general medical ward bed day 2013/14",
    ),
    _ward(
        "WARD_GENERAL_SURGERY",
        "WARD-GENSURG",
        "General Surgery",
        uc.GENERAL_WARD_BED_DAY.uplifted,
        _REF + "general medical ward bed day 2013/14",
    ),
    _ward(
        "WARD_ORTHOPAEDICS",
        "WARD-TO",
        "Trauma and Orthopaedics",
        uc.GENERAL_WARD_BED_DAY.uplifted,
        _REF + "general medical ward bed day 2013/14",
    ),
    _ward(
        "WARD_CARDIOLOGY",
        "WARD-CARDIO",
        "Cardiology",
        uc.GENERAL_WARD_BED_DAY.uplifted,
        _REF + "general medical ward bed day 2013/14",
    ),
    _ward(
        "WARD_CARDIAC_SURGERY",
        "WARD-CARDSURG",
        "Cardiac Surgery",
        uc.GENERAL_WARD_BED_DAY.uplifted,
        _REF + "general medical ward bed day 2013/14",
    ),
    _ward(
        "WARD_HASU",
        "WARD-HASU",
        "Hyperacute Stroke Unit",
        uc.HASU_BED_DAY,
        "assumption: 2 x " + _REF + "stroke unit bed day 2013/14",
    ),
    _ward(
        "WARD_STROKE_UNIT",
        "WARD-SU",
        "Stroke Unit",
        uc.STROKE_UNIT_BED_DAY.uplifted,
        _REF + "stroke unit bed day 2013/14",
    ),
    _ward(
        "WARD_STROKE_REHAB",
        "WARD-SRU",
        "Stroke Rehabilitation Unit",
        uc.EXCESS_BED_DAY.uplifted,
        _REF + "excess bed day (national average) 2016/17",
    ),
    # Critical care
    ActivityItem(
        "CRITICAL_CARE_L2",
        "critical_care",
        "LOCAL",
        "CC-LEVEL2",
        "Adult critical care, level 2 (bed days)",
        "Critical Care",
        "bed",
        uc.CRITICAL_CARE_BED_DAY.uplifted,
        0.0,
        0.7,
        "E1020",
        "E2020",
        _REF + "adult critical care bed day (national average) 2012/13",
        care_level=2,
    ),
    ActivityItem(
        "CRITICAL_CARE_L3",
        "critical_care",
        "LOCAL",
        "CC-LEVEL3",
        "Adult critical care, level 3 (bed days)",
        "Critical Care",
        "bed",
        uc.INTENSIVE_CARE_BED_DAY.uplifted,
        0.0,
        0.7,
        "E1020",
        "E2020",
        _REF + "intensive care bed day 2013/14",
        care_level=3,
    ),
    # Theatres
    _theatre("THEATRE_CHOLECYSTECTOMY", "J18.3", "Total cholecystectomy NEC", "Theatres", 0.0),
    _theatre(
        "THEATRE_HERNIA",
        "T20.1",
        "Primary repair of inguinal hernia using insert of natural or artificial material",
        "Theatres",
        0.0,
    ),
    _theatre(
        "THEATRE_HEMICOLECTOMY",
        "H07.9",
        "Other excision of right hemicolon, unspecified",
        "Theatres",
        0.0,
    ),
    _theatre(
        "THEATRE_APPENDICECTOMY",
        "H01.9",
        "Emergency excision of appendix, unspecified",
        "Theatres",
        0.0,
    ),
    _theatre(
        "THEATRE_HIP_REPLACEMENT",
        "W37.1",
        "Primary total prosthetic replacement of hip joint using cement",
        "Theatres",
        uc.JOINT_PROSTHESIS,
    ),
    _theatre(
        "THEATRE_KNEE_REPLACEMENT",
        "W40.1",
        "Primary total prosthetic replacement of knee joint using cement",
        "Theatres",
        uc.JOINT_PROSTHESIS,
    ),
    _theatre(
        "THEATRE_HEMIARTHROPLASTY",
        "W46.1",
        "Primary prosthetic replacement of head of femur using cement",
        "Theatres",
        uc.JOINT_PROSTHESIS,
    ),
    _theatre(
        "THEATRE_AORTIC_VALVE",
        "K26.4",
        "Replacement of aortic valve NEC",
        "Cardiac Surgery",
        uc.VALVE_PROSTHESIS,
    ),
    _theatre(
        "THEATRE_MITRAL_VALVE",
        "K25.4",
        "Replacement of mitral valve NEC",
        "Cardiac Surgery",
        uc.VALVE_PROSTHESIS,
    ),
    _theatre(
        "THEATRE_TRICUSPID_VALVE",
        "K27.4",
        "Replacement of tricuspid valve NEC",
        "Cardiac Surgery",
        uc.VALVE_PROSTHESIS,
    ),
    # Procedures
    ActivityItem(
        "THROMBOLYSIS",
        "procedure",
        "OPCS4",
        "X83.3",
        "Thrombolytic drugs (alteplase)",
        "Hyperacute Stroke Unit",
        "drugs",
        uc.THROMBOLYSIS.uplifted,
        0.0,
        0.25,
        "E1010",
        "E2010",
        _REF + "thrombolysis for acute stroke 2014/15",
    ),
    ActivityItem(
        "THROMBECTOMY",
        "procedure",
        "OPCS4",
        "L71.2",
        "Percutaneous transluminal embolectomy of artery (mechanical thrombectomy)",
        "Interventional Radiology",
        "theatre",
        uc.THROMBECTOMY,
        0.0,
        0.35,
        "E1010",
        "E2030",
        "assumption: mechanical thrombectomy",
    ),
    ActivityItem(
        "COLONOSCOPY",
        "procedure",
        "OPCS4",
        "H22.9",
        "Diagnostic endoscopic examination of colon, unspecified",
        "Endoscopy",
        "medical",
        uc.DAY_CASE_EPISODE.uplifted,
        0.0,
        0.6,
        "E1010",
        "E2020",
        _REF + "day case episode (national average) 2016/17",
    ),
    ActivityItem(
        "GASTROSCOPY",
        "procedure",
        "OPCS4",
        "G45.1",
        "Fibreoptic endoscopic examination of upper gastrointestinal tract and biopsy",
        "Endoscopy",
        "medical",
        uc.DAY_CASE_EPISODE.uplifted,
        0.0,
        0.6,
        "E1010",
        "E2020",
        _REF + "day case episode (national average) 2016/17",
    ),
    ActivityItem(
        "CATARACT",
        "procedure",
        "OPCS4",
        "C71.2",
        "Phacoemulsification of lens",
        "Day Surgery Unit",
        "theatre",
        uc.DAY_CASE_EPISODE.uplifted,
        0.0,
        0.55,
        "E1020",
        "E2030",
        _REF + "day case episode (national average) 2016/17",
    ),
    ActivityItem(
        "FIBROSCAN",
        "procedure",
        "LOCAL",
        "FIBROSCAN",
        "Transient elastography (liver stiffness)",
        "Hepatology Clinic",
        "nursing",
        uc.FIBROSCAN,
        0.0,
        0.6,
        "E1020",
        "E2020",
        "assumption: transient elastography",
    ),
    # Imaging (NICIP-style codes in Radiology; echocardiography coded in OPCS-4)
    _imaging("XRAY_CHEST", "NICIP", "XCHES", "X-ray chest", "Radiology", 0.3),
    _imaging("XRAY_PELVIS", "NICIP", "XPELV", "X-ray pelvis and hip", "Radiology", 0.3),
    _imaging("CT_HEAD", "NICIP", "CHEAD", "CT head", "Radiology", 1.0),
    _imaging("CTA_HEAD_NECK", "NICIP", "CANHN", "CT angiography head and neck", "Radiology", 1.4),
    _imaging("MRI_BRAIN", "NICIP", "MBRAI", "MRI brain", "Radiology", 1.6),
    _imaging("CT_ABDOMEN", "NICIP", "CABPE", "CT abdomen and pelvis", "Radiology", 1.3),
    _imaging("US_ABDOMEN", "NICIP", "UABDO", "Ultrasound abdomen", "Radiology", 0.6),
    _imaging(
        "ECHO_TTE", "OPCS4", "U20.1", "Transthoracic echocardiography", "Cardiac Physiology", 1.2
    ),
    _imaging(
        "ECHO_TOE", "OPCS4", "U20.3", "Transoesophageal echocardiography", "Cardiac Physiology", 2.5
    ),
    # Pathology
    _pathology(
        "LAB_ACUTE_PANEL",
        "PANEL-ACUTE",
        "Full blood count, urea and electrolytes, C-reactive protein",
        1.5,
    ),
    _pathology("LAB_PREOP_PANEL", "PANEL-PREOP", "Pre-operative bloods with group and save", 2.0),
    _pathology("LAB_COAGULATION", "COAG", "Coagulation screen", 0.6),
    _pathology("LAB_BLOOD_CULTURE", "BLOOD-CULTURE", "Blood culture set", 3.0),
    _pathology(
        "LAB_LIVER_PANEL", "PANEL-LIVER", "Liver function tests with full blood count and INR", 1.6
    ),
    _pathology("LAB_HCV_RNA", "HCV-RNA", "Hepatitis C virus RNA (PCR, quantitative)", 8.0),
    _pathology("LAB_HCV_GENOTYPE", "HCV-GENOTYPE", "Hepatitis C virus genotype", 10.0),
    # Therapies and community care
    _therapy("PHYSIOTHERAPY", "PHYSIO", "Physiotherapy contact", "Therapies", "AHP"),
    _therapy("OCCUPATIONAL_THERAPY", "OT", "Occupational therapy contact", "Therapies", "AHP"),
    _therapy("SPEECH_THERAPY", "SALT", "Speech and language therapy contact", "Therapies", "AHP"),
    _therapy(
        "ESD_VISIT",
        "ESD-VISIT",
        "Early supported discharge home visit",
        "Community Stroke Team",
        "AHP",
        "community_visit",
    ),
    _therapy(
        "OPAT_VISIT",
        "OPAT-VISIT",
        "Outpatient parenteral antimicrobial therapy visit",
        "OPAT Service",
        "nursing",
        "community_visit",
    ),
    # Outpatients
    ActivityItem(
        "OP_FIRST",
        "outpatient_attendance",
        "LOCAL",
        "OP-FIRST",
        "First outpatient attendance",
        "Outpatients",
        "medical",
        uc.OUTPATIENT_ATTENDANCE.uplifted,
        0.0,
        0.7,
        "E1010",
        "E2020",
        _OP_SOURCE,
    ),
    ActivityItem(
        "OP_FOLLOW_UP",
        "outpatient_attendance",
        "LOCAL",
        "OP-FOLLOWUP",
        "Follow-up outpatient attendance",
        "Outpatients",
        "medical",
        uc.OUTPATIENT_ATTENDANCE.uplifted,
        0.0,
        0.7,
        "E1010",
        "E2020",
        _OP_SOURCE,
    ),
    ActivityItem(
        "HEPATOLOGY_FIRST",
        "outpatient_attendance",
        "LOCAL",
        "HEP-FIRST",
        "First hepatology clinic attendance",
        "Hepatology Clinic",
        "medical",
        uc.OUTPATIENT_ATTENDANCE.uplifted,
        0.0,
        0.7,
        "E1010",
        "E2020",
        _OP_SOURCE,
    ),
    ActivityItem(
        "HEPATOLOGY_FOLLOW_UP",
        "outpatient_attendance",
        "LOCAL",
        "HEP-FOLLOWUP",
        "Follow-up hepatology clinic attendance",
        "Hepatology Clinic",
        "nursing",
        uc.OUTPATIENT_ATTENDANCE.uplifted,
        0.0,
        0.7,
        "E1020",
        "E2020",
        _OP_SOURCE,
    ),
    # Pharmacy: quantity is doses (or tablets); issue_value = unit_cost * quantity
    _drug(
        "DRUG_INPATIENT",
        "INPATIENT-MEDICINES",
        "Inpatient medicines (per dose)",
        3.0,
        _ASSUMED_DRUG,
    ),
    _drug("DRUG_ASPIRIN", "ASPIRIN-300MG", "Aspirin 300 mg", 0.05, _ASSUMED_DRUG),
    _drug("DRUG_CLOPIDOGREL", "CLOPIDOGREL-75MG", "Clopidogrel 75 mg", 0.06, _ASSUMED_DRUG),
    _drug("DRUG_ATORVASTATIN", "ATORVASTATIN-80MG", "Atorvastatin 80 mg", 0.12, _ASSUMED_DRUG),
    _drug("DRUG_APIXABAN", "APIXABAN-5MG", "Apixaban 5 mg", 0.9, _ASSUMED_DRUG),
    _drug(
        "DRUG_FLUCLOXACILLIN", "FLUCLOXACILLIN-2G-IV", "Flucloxacillin 2 g IV", 3.5, _ASSUMED_DRUG
    ),
    _drug(
        "DRUG_BENZYLPENICILLIN",
        "BENZYLPENICILLIN-2.4G-IV",
        "Benzylpenicillin 2.4 g IV",
        4.2,
        _ASSUMED_DRUG,
    ),
    _drug("DRUG_CEFTRIAXONE", "CEFTRIAXONE-2G-IV", "Ceftriaxone 2 g IV", 2.5, _ASSUMED_DRUG),
    _drug("DRUG_AMOXICILLIN", "AMOXICILLIN-2G-IV", "Amoxicillin 2 g IV", 1.6, _ASSUMED_DRUG),
    _drug("DRUG_VANCOMYCIN", "VANCOMYCIN-1G-IV", "Vancomycin 1 g IV", 6.0, _ASSUMED_DRUG),
    _drug("DRUG_GENTAMICIN", "GENTAMICIN-IV", "Gentamicin IV", 2.0, _ASSUMED_DRUG),
    _drug("DRUG_DAPTOMYCIN", "DAPTOMYCIN-IV", "Daptomycin IV", 60.0, _ASSUMED_DRUG),
    _drug(
        "DRUG_SOFOSBUVIR_VELPATASVIR",
        "SOFOSBUVIR-VELPATASVIR-400-100MG",
        "Sofosbuvir/velpatasvir 400/100 mg tablet (12-week course = 84 tablets)",
        round(uc.DAA_12_WEEK_COURSE / 84, 4),
        _DAA,
    ),
    _drug(
        "DRUG_GLECAPREVIR_PIBRENTASVIR",
        "GLECAPREVIR-PIBRENTASVIR-100-40MG",
        "Glecaprevir/pibrentasvir 100/40 mg tablet (8-week course = 168 tablets)",
        round(uc.DAA_8_WEEK_COURSE / 168, 4),
        _DAA + ", 8/12 pro rata",
    ),
)

ITEM: dict[str, int] = {item.key: i for i, item in enumerate(CATALOGUE)}

# Vectors over the catalogue, for costing many rows at once.
UNIT_COST = np.array([i.unit_cost for i in CATALOGUE])
MINUTE_COST = np.array([i.minute_cost for i in CATALOGUE])
PAY_SHARE = np.array([i.pay_share for i in CATALOGUE])
ITEM_COST_CENTRE = np.array([COST_CENTRE_INDEX[i.cost_centre] for i in CATALOGUE])
ITEM_PAY_EXPENSE = np.array([EXPENSE_CODE_INDEX[i.pay_expense] for i in CATALOGUE])
ITEM_NON_PAY_EXPENSE = np.array([EXPENSE_CODE_INDEX[i.non_pay_expense] for i in CATALOGUE])
IS_PHARMACY = np.array([i.activity_type == "pharmacy" for i in CATALOGUE])


def activity_cost(item: np.ndarray, minutes: np.ndarray, quantity: np.ndarray) -> np.ndarray:
    """Cost in £ of each activity: unit cost x quantity + minute cost x minutes."""
    return UNIT_COST[item] * np.nan_to_num(quantity) + MINUTE_COST[item] * np.nan_to_num(minutes)


def catalogue_frame() -> pd.DataFrame:
    """The catalogue as a table, keyed like a written activity row."""
    return pd.DataFrame(
        {
            "activity_type": [i.activity_type for i in CATALOGUE],
            "code_system": [i.code_system for i in CATALOGUE],
            "code": [i.code for i in CATALOGUE],
            "term": [i.term for i in CATALOGUE],
            "department": [i.department for i in CATALOGUE],
            "cost_centre": [i.cost_centre for i in CATALOGUE],
            "resource_group": [i.resource_group for i in CATALOGUE],
            "unit_cost": UNIT_COST,
            "minute_cost": MINUTE_COST,
            "pay_share": PAY_SHARE,
            "source": [i.source for i in CATALOGUE],
        }
    )


def cost_written_activities(activities: pd.DataFrame) -> pd.Series:
    """Cost of each row of a written activities file, from the catalogue.

    Rows are matched on (activity_type, code, department); minutes and quantity are read as
    numbers. Used by the plausibility checks and tests to rebuild cost from the files alone.
    """
    cat = catalogue_frame()[["activity_type", "code", "department", "unit_cost", "minute_cost"]]
    merged = activities[["activity_type", "code", "department"]].merge(
        cat, on=["activity_type", "code", "department"], how="left"
    )
    minutes = pd.to_numeric(activities["minutes"], errors="coerce").fillna(0.0).to_numpy()
    quantity = pd.to_numeric(activities["quantity"], errors="coerce").fillna(0.0).to_numpy()
    cost = merged["unit_cost"].to_numpy() * quantity + merged["minute_cost"].to_numpy() * minutes
    return pd.Series(cost, index=activities.index, name="cost")
