"""Deliberate data-quality faults, at low documented rates, each counted exactly.

Real extracts are imperfect; ingest must quarantine what cannot be loaded and flag what can
be loaded but needs care, never silently drop. Faults go into the rows of background patients
(those in no condition pathway) only, so the pathway truths stay clean (the site's
diagnosis-code habit is the exception: it is a recording convention, not an error in one
row). Fault sets are disjoint: one row carries at
most one fault, so the counts add up.

Each fault has a handling:
- ``quarantine``: the row is invalid and ingest should put it in quarantine;
- ``flag``: the row loads, with a data-quality flag.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from carevalue.sources import feeds
from carevalue.synthetic.chunk import BACKGROUND, ChunkColumns
from carevalue.synthetic.codes import SETTING
from carevalue.synthetic.population import Population
from carevalue.synthetic.timeline import DAY, HOUR, NAT

# Sex mistyped in free text: outside feeds.SEXES and the codes ingest understands by
# default (M/F and the NHS codes load since the mapping work), so still quarantined.
INVALID_SEX_CODES = ("mael", "femlae")
SEX_VOCABULARY = feeds.SEXES + INVALID_SEX_CODES
INVALID_IMD_DECILE = 11


@dataclass(frozen=True)
class Fault:
    feed: str
    name: str
    handling: str  # "quarantine" or "flag"
    column: str
    rate: float  # share of candidate rows
    candidates: str
    description: str


FAULTS: tuple[Fault, ...] = (
    Fault(
        "patients",
        "invalid_sex",
        "quarantine",
        "sex",
        0.0003,
        "background patients",
        "sex mistyped in free text ('mael' or 'femlae'), not an allowed value",
    ),
    Fault(
        "patients",
        "invalid_imd_decile",
        "quarantine",
        "imd_decile",
        0.0003,
        "background patients",
        "imd_decile 11, above the maximum of 10",
    ),
    Fault(
        "patients",
        "death_before_birth",
        "quarantine",
        "death_date",
        0.0002,
        "dead background patients",
        "death_date before birth_date",
    ),
    Fault(
        "encounters",
        "missing_discharge",
        "flag",
        "end_at",
        0.005,
        "closed inpatient encounters of background patients",
        "blank end_at on a finished inpatient stay",
    ),
    Fault(
        "encounters",
        "end_before_start",
        "quarantine",
        "end_at",
        0.0005,
        "closed encounters of background patients",
        "end_at a few hours to days before start_at",
    ),
    Fault(
        "diagnoses",
        "undotted_icd10",
        "flag",
        "code",
        1.0,
        "ICD-10 codes with a dot recorded at the South site",
        "ICD-10 code written without its dot (South site habit, e.g. 'I639' for 'I63.9')",
    ),
    Fault(
        "activities",
        "duplicate_row",
        "quarantine",
        "activity_id",
        0.002,
        "activities of background patients",
        "exact duplicate row, written twice in a row; the second copy repeats the key",
    ),
    Fault(
        "activities",
        "impossible_date",
        "quarantine",
        "start_at",
        0.0005,
        "activities of background patients",
        "start_at with month 13, e.g. '2019-13-01T10:00:00'",
    ),
    Fault(
        "activities",
        "orphan_encounter",
        "flag",
        "encounter_id",
        0.001,
        "outpatient encounters of background patients with a single activity",
        "encounter_id names an encounter missing from encounters (the encounter row was "
        "lost from the extract)",
    ),
    Fault(
        "observations",
        "duplicate_row",
        "quarantine",
        "observed_at",
        0.0005,
        "observations of background patients",
        "exact duplicate row, written twice in a row; the second copy repeats the key",
    ),
)
FAULT = {(f.feed, f.name): f for f in FAULTS}


@dataclass
class FaultResult:
    """What was injected into one chunk, and how to write it."""

    counts: dict[tuple[str, str], int] = field(default_factory=dict)
    activity_order: np.ndarray | None = None  # row order to write, duplicates repeated
    impossible_date: np.ndarray | None = None  # aligned with activity_order
    observation_order: np.ndarray | None = None
    children_of_quarantined: dict[str, dict[str, int]] = field(default_factory=dict)


def _pick(
    rng: np.random.Generator, candidates: np.ndarray, rate: float, at_least_one: bool
) -> np.ndarray:
    k = int(rng.binomial(len(candidates), rate)) if len(candidates) else 0
    if at_least_one and k == 0 and len(candidates):
        k = 1
    return np.sort(rng.choice(candidates, size=k, replace=False)) if k else candidates[:0]


def inject_faults(
    rng: np.random.Generator, pop: Population, cols: ChunkColumns, first_chunk: bool
) -> FaultResult:
    """Inject faults in place. The first chunk always carries at least one of each fault,
    so that every generated trust exercises every fault, however small."""
    result = FaultResult()
    background = pop.pathway == BACKGROUND

    def pick(feed: str, name: str, candidates: np.ndarray) -> np.ndarray:
        chosen = _pick(rng, candidates, FAULT[(feed, name)].rate, first_chunk)
        result.counts[(feed, name)] = len(chosen)
        return chosen

    # Patients
    rows = np.flatnonzero(background)
    bad_sex = pick("patients", "invalid_sex", rows)
    male = pop.sex[bad_sex] == feeds.SEXES.index("male")
    pop.sex[bad_sex] = np.where(male, SEX_VOCABULARY.index("mael"), SEX_VOCABULARY.index("femlae"))
    rows = np.setdiff1d(rows, bad_sex)
    bad_imd = pick("patients", "invalid_imd_decile", rows)
    pop.imd[bad_imd] = INVALID_IMD_DECILE
    rows = np.setdiff1d(rows, bad_imd)
    dead = rows[pop.death[rows] != NAT]
    reversed_death = pick("patients", "death_before_birth", dead)
    pop.death[reversed_death] = (
        pop.birth[reversed_death] - rng.integers(1, 3650, len(reversed_death)) * DAY
    )
    invalid_patients = np.concatenate([bad_sex, bad_imd, reversed_death])

    # Encounters
    enc = cols["encounters"]
    closed = background[enc["patient"]] & (enc["end"] != NAT)
    inpatient = closed & (enc["setting"] == SETTING["inpatient"])
    missing = pick("encounters", "missing_discharge", np.flatnonzero(inpatient))
    enc["end"][missing] = NAT
    candidates = np.setdiff1d(np.flatnonzero(closed), missing)
    reversed_end = pick("encounters", "end_before_start", candidates)
    enc["end"][reversed_end] = (
        enc["start"][reversed_end] - rng.integers(1, 72, len(reversed_end)) * HOUR
    )
    quarantined_encounters = enc["number"][reversed_end]

    # Activities: orphans first (they need single-activity outpatient encounters), then
    # duplicates and impossible dates among the rest.
    act = cols["activities"]
    n_act = len(act["patient"])
    per_encounter = np.bincount(
        np.maximum(act["encounter"], 0), minlength=int(enc["number"].max(initial=0)) + 1
    )
    has_dx = np.isin(enc["number"], cols["diagnoses"]["encounter"])
    has_obs = np.isin(enc["number"], cols["observations"]["encounter"])
    lonely = (
        closed
        & (enc["setting"] == SETTING["outpatient"])
        & ~has_dx
        & ~has_obs
        & (per_encounter[enc["number"]] == 1)
    )
    lonely[reversed_end] = False
    lonely_rows = np.flatnonzero(lonely)
    orphan_candidates = np.flatnonzero(np.isin(act["encounter"], enc["number"][lonely_rows]))
    orphan_rows = pick("activities", "orphan_encounter", orphan_candidates)
    lost = np.isin(enc["number"], act["encounter"][orphan_rows])
    cols.keep("encounters", ~lost)

    free = np.setdiff1d(np.flatnonzero(background[act["patient"]]), orphan_rows)
    duplicated = pick("activities", "duplicate_row", free)
    free = np.setdiff1d(free, duplicated)
    bad_dates = pick("activities", "impossible_date", free)
    copies = np.ones(n_act, dtype=np.int64)
    copies[duplicated] = 2
    result.activity_order = np.repeat(np.arange(n_act), copies)
    impossible = np.zeros(n_act, dtype=bool)
    impossible[bad_dates] = True
    result.impossible_date = impossible[result.activity_order]

    # Observations
    obs = cols["observations"]
    n_obs = len(obs["patient"])
    dup_obs = pick("observations", "duplicate_row", np.flatnonzero(background[obs["patient"]]))
    copies = np.ones(n_obs, dtype=np.int64)
    copies[dup_obs] = 2
    result.observation_order = np.repeat(np.arange(n_obs), copies)

    # What hangs off quarantined rows (ingest will find these children without a parent).
    written_act = result.activity_order
    result.children_of_quarantined = {
        "encounters.end_before_start": {
            "activities": int(np.isin(act["encounter"][written_act], quarantined_encounters).sum()),
            "diagnoses": int(np.isin(cols["diagnoses"]["encounter"], quarantined_encounters).sum()),
            "observations": int(
                np.isin(obs["encounter"][result.observation_order], quarantined_encounters).sum()
            ),
        },
        "patients.invalid": {
            "encounters": int(np.isin(cols["encounters"]["patient"], invalid_patients).sum()),
            "activities": int(np.isin(act["patient"][written_act], invalid_patients).sum()),
            "diagnoses": int(np.isin(cols["diagnoses"]["patient"], invalid_patients).sum()),
            "observations": int(
                np.isin(obs["patient"][result.observation_order], invalid_patients).sum()
            ),
            "prom_responses": int(
                np.isin(cols["prom_responses"]["patient"], invalid_patients).sum()
            ),
        },
    }
    return result
