"""Unit costs of the synthetic trust's activity, at about 2023/24 prices, with their sources.

Figures are read from the packaged reference file
``carevalue/synthetic/reference/uk_unit_costs_examples.csv`` (each :class:`ReferenceCost` below
names its row; the README beside the file cites it), uplifted from their price year to about
2023/24 by :data:`UPLIFT_TO_2023_24`. Where the reference file has no row, the figure is a
stated generator assumption. These are demonstration prices for realistic data, not a costing
model: the costing stage derives its own costs from the ledger.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from functools import cache
from importlib import resources

# Approximate uplift from each price year to 2023/24, in the spirit of the NHS cost inflation
# index (pay and prices). A generator assumption, not an official index. Drug list prices are
# set nominally and are not uplifted.
UPLIFT_TO_2023_24: dict[str, float] = {
    "about 2008": 1.55,
    "2012/13": 1.40,
    "2013/14": 1.38,
    "2014/15": 1.36,
    "2015": 1.0,
    "2016/17": 1.25,
}


@dataclass(frozen=True)
class ReferenceCost:
    """One row of uk_unit_costs_examples.csv and its value uplifted to 2023/24."""

    item: str
    unit: str
    value_gbp: float
    price_year: str
    source: str

    @property
    def uplifted(self) -> float:
        return round(self.value_gbp * UPLIFT_TO_2023_24[self.price_year], 2)


# Named in the synthetic trust's manifest: where the figures came from.
REFERENCE_FILE = "carevalue/synthetic/reference/uk_unit_costs_examples.csv"


@cache
def _reference_rows() -> dict[str, ReferenceCost]:
    path = resources.files("carevalue.synthetic") / "reference" / "uk_unit_costs_examples.csv"
    rows = csv.DictReader(io.StringIO(path.read_text(encoding="utf-8")))
    return {
        row["item"]: ReferenceCost(
            row["item"], row["unit"], float(row["value_gbp"]), row["price_year"], row["source"]
        )
        for row in rows
    }


def reference_cost(item: str) -> ReferenceCost:
    """The reference file's row for ``item`` (its exact wording in the file's ``item`` column)."""
    try:
        return _reference_rows()[item]
    except KeyError:
        raise KeyError(f"{REFERENCE_FILE} has no row for {item!r}") from None


STROKE_UNIT_BED_DAY = reference_cost("stroke unit bed day")
GENERAL_WARD_BED_DAY = reference_cost("general medical ward bed day")
INTENSIVE_CARE_BED_DAY = reference_cost("intensive care bed day")
CRITICAL_CARE_BED_DAY = reference_cost("adult critical care bed day (national average)")
THROMBOLYSIS = reference_cost("thrombolysis for acute stroke")
DAY_CASE_EPISODE = reference_cost("day case episode (national average)")
ELECTIVE_EPISODE = reference_cost("elective inpatient episode (national average)")
EXCESS_BED_DAY = reference_cost("excess bed day (national average)")
OUTPATIENT_ATTENDANCE = reference_cost("outpatient attendance (national average)")
AE_ATTENDANCE = reference_cost("A&E attendance (national average)")
LEDIPASVIR_SOFOSBUVIR_COURSE = reference_cost("ledipasvir-sofosbuvir 12-week course (list price)")
BAND_5_NURSE_HOUR = reference_cost("band 5 nurse")
SPECIALIST_REGISTRAR_HOUR = reference_cost("specialist registrar")
# Used only as a comparator in the docs: the whole first-year cost of a stroke, of which an
# acute trust's activity is a part.
FIRST_YEAR_STROKE_COST = reference_cost("first-year health and social care cost of a new stroke")

# --- Rates derived from the reference rows -------------------------------------------------
NURSE_MINUTE = round(BAND_5_NURSE_HOUR.uplifted / 60, 4)
REGISTRAR_MINUTE = round(SPECIALIST_REGISTRAR_HOUR.uplifted / 60, 4)
# Hyperacute stroke unit beds carry near-critical-care staffing: assumed twice a stroke unit day.
HASU_BED_DAY = round(2 * STROKE_UNIT_BED_DAY.uplifted, 2)
# Theatre time is assumed to be 45% of an average elective inpatient episode, spread over a
# 90-minute operation.
THEATRE_MINUTE = round(0.45 * ELECTIVE_EPISODE.uplifted / 90, 4)
# Cardiac theatres add perfusion and a larger team: assumed 1.6 times a general theatre minute.
CARDIAC_THEATRE_MINUTE = round(1.6 * THEATRE_MINUTE, 4)
# Direct-acting antivirals at about list price: a 12-week course priced as the reference
# course; an 8-week course pro rata (two thirds).
DAA_12_WEEK_COURSE = LEDIPASVIR_SOFOSBUVIR_COURSE.uplifted
DAA_8_WEEK_COURSE = round(DAA_12_WEEK_COURSE * 8 / 12, 2)

# --- Generator assumptions (no reference row) ----------------------------------------------
AMBULANCE_CONVEYANCE = 300.0  # see, treat and convey; recharged by the ambulance service
IMAGING_WEIGHT_UNIT = 95.0  # £ per imaging relative-weight unit (a CT head = 1.0)
PATHOLOGY_WEIGHT_UNIT = 8.0  # £ per pathology relative-weight unit (a full blood count = 0.5)
VALVE_PROSTHESIS = 3500.0  # valve, cannulae and perfusion consumables per valve operation
JOINT_PROSTHESIS = 1200.0  # hip or knee implant
THROMBECTOMY = 9000.0  # mechanical thrombectomy: devices, angiography suite and team
FIBROSCAN = 60.0  # transient elastography in clinic

ASSUMPTIONS: dict[str, str] = {
    "uplift": "price-year uplift factors to about 2023/24 (UPLIFT_TO_2023_24)",
    "hasu_bed_day": "hyperacute stroke unit bed day = 2 x stroke unit bed day",
    "theatre_minute": "theatre minute = 45% of an elective inpatient episode / 90 minutes",
    "cardiac_theatre_minute": "cardiac theatre minute = 1.6 x theatre minute",
    "daa_8_week_course": "8-week DAA course = 8/12 of the 12-week reference course",
    "ahp_and_community_minutes": "therapy, early supported discharge and OPAT minutes priced "
    "at the band 5 nurse hourly rate",
    "ambulance_conveyance": f"£{AMBULANCE_CONVEYANCE:,.0f} per emergency conveyance",
    "imaging_weight_unit": f"£{IMAGING_WEIGHT_UNIT:,.0f} per imaging relative-weight unit",
    "pathology_weight_unit": f"£{PATHOLOGY_WEIGHT_UNIT:,.0f} per pathology relative-weight unit",
    "valve_prosthesis": f"£{VALVE_PROSTHESIS:,.0f} per valve operation",
    "joint_prosthesis": f"£{JOINT_PROSTHESIS:,.0f} per hip or knee replacement",
    "thrombectomy": f"£{THROMBECTOMY:,.0f} per mechanical thrombectomy",
    "fibroscan": f"£{FIBROSCAN:,.0f} per transient elastography",
    "drug_prices": "antibiotic and secondary-prevention prices per dose are order-of-magnitude "
    "NHS prices chosen by the generator",
}
