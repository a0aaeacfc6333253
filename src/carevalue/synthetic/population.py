"""The trust's patients: who they are and which condition pathway, if any, they belong to.

The trust is enriched for the three shipped conditions (stroke ~3%, infective endocarditis
~1%, hepatitis C ~2% of patients) so that a modest extract has cohorts large enough to
analyse; the rest are background patients with ordinary hospital care. A patient belongs to
at most one pathway. Pathway patients get their index date and age at it here, so that their
birth date fits the condition's age profile.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from carevalue.sources import feeds
from carevalue.synthetic.chunk import BACKGROUND, ENDOCARDITIS, HEPATITIS_C, STROKE
from carevalue.synthetic.timeline import (
    CUTOFF,
    DAY,
    NAT,
    PERIOD_START,
    YEAR,
    covid_volume_factor,
    floor_to_day,
)

PATHWAY_SHARES = {STROKE: 0.03, ENDOCARDITIS: 0.01, HEPATITIS_C: 0.02}

# Approximately Census 2021 England shares, with about 5% not stated (Z) or not known (99),
# as in hospital records. Order follows feeds.ETHNIC_CATEGORIES.
ETHNICITY_SHARES = {
    "A": 70.0,
    "B": 0.9,
    "C": 6.0,
    "D": 0.9,
    "E": 0.4,
    "F": 0.8,
    "G": 0.8,
    "H": 3.1,
    "J": 2.7,
    "K": 1.1,
    "L": 1.6,
    "M": 1.1,
    "N": 2.5,
    "P": 0.5,
    "R": 0.7,
    "S": 2.0,
    "Z": 3.4,
    "99": 1.5,
}
assert tuple(ETHNICITY_SHARES) == feeds.ETHNIC_CATEGORIES

# Age at 2019-04-01 of background patients, by ten-year band (people who use a hospital).
AGE_BANDS = np.arange(0, 110, 10)
AGE_BAND_SHARES = np.array([0.10, 0.08, 0.10, 0.12, 0.12, 0.13, 0.13, 0.11, 0.08, 0.03, 0.0])
IMD_SHARES = np.array([0.12, 0.115, 0.11, 0.105, 0.10, 0.10, 0.095, 0.09, 0.085, 0.08])
NORTH_SHARE = 0.55
UNKNOWN_SEX_SHARE = 0.001
MISSING_NHS_NUMBER_SHARE = 0.01


@dataclass(frozen=True)
class Profile:
    """Demographic profile of a pathway's patients."""

    age_mean: float
    age_sd: float
    age_min: float
    age_max: float
    male_share: float
    deprivation_tilt: float  # >0 shifts IMD deciles towards the most deprived
    injecting_share: float  # share who inject drugs (recent), a risk group
    injecting_age_mean: float = 38.0
    volume: str = "emergency"


PROFILES = {
    STROKE: Profile(74.0, 12.5, 25, 100, 0.52, 0.05, 0.0, volume="stroke"),
    ENDOCARDITIS: Profile(67.0, 12.0, 20, 95, 0.68, 0.10, 0.22, volume="endocarditis"),
    HEPATITIS_C: Profile(47.0, 11.0, 18, 88, 0.65, 0.25, 0.40, volume="hepatitis_c"),
}


@dataclass
class Population:
    """One chunk of patients. Indexes are global (0-based); times are seconds."""

    index: np.ndarray
    pathway: np.ndarray
    sex: np.ndarray  # index into feeds.SEXES
    ethnicity: np.ndarray  # index into feeds.ETHNIC_CATEGORIES
    imd: np.ndarray
    home_site: np.ndarray
    birth: np.ndarray
    index_date: np.ndarray  # pathway index instant; NAT for background patients
    injecting: np.ndarray  # bool: injects drugs (risk group for endocarditis and hepatitis C)
    death: np.ndarray
    nhs_number: np.ndarray  # int64, -1 for none

    def __len__(self) -> int:
        return len(self.index)


def _imd(rng: np.random.Generator, n: int, tilt: float) -> np.ndarray:
    weights = IMD_SHARES * np.exp(-tilt * np.arange(10))
    return rng.choice(np.arange(1, 11), size=n, p=weights / weights.sum())


def draw_index_instants(rng: np.random.Generator, n: int, volume: str) -> np.ndarray:
    """Instants spread over the period, thinned where the pandemic lowered volumes."""
    out = np.empty(0, dtype=np.int64)
    while len(out) < n:
        k = 2 * (n - len(out)) + 8
        t = rng.integers(PERIOD_START + DAY, CUTOFF - DAY, size=k)
        t = t[rng.random(k) < covid_volume_factor(t, volume)]
        out = np.concatenate([out, t])
    return out[:n]


def draw_population(
    rng: np.random.Generator, first_index: int, n: int, nhs_numbers: np.ndarray
) -> Population:
    index = np.arange(first_index, first_index + n, dtype=np.int64)
    u = rng.random(n)
    cuts = np.cumsum(
        [PATHWAY_SHARES[STROKE], PATHWAY_SHARES[ENDOCARDITIS], PATHWAY_SHARES[HEPATITIS_C]]
    )
    pathway = np.select(
        [u < cuts[0], u < cuts[1], u < cuts[2]], [STROKE, ENDOCARDITIS, HEPATITIS_C], BACKGROUND
    ).astype(np.int8)

    male = rng.random(n) < 0.49
    imd = _imd(rng, n, 0.03)
    injecting = np.zeros(n, dtype=bool)
    index_date = np.full(n, NAT, dtype=np.int64)

    # Background patients: age at the start of the period.
    band = rng.choice(len(AGE_BANDS), size=n, p=AGE_BAND_SHARES / AGE_BAND_SHARES.sum())
    age_at_start = AGE_BANDS[band] + rng.random(n) * 10
    birth = PERIOD_START - (age_at_start * YEAR).astype(np.int64)

    for group, profile in PROFILES.items():
        members = np.flatnonzero(pathway == group)
        k = len(members)
        if k == 0:
            continue
        at = draw_index_instants(rng, k, profile.volume)
        inject = rng.random(k) < profile.injecting_share
        age = np.where(
            inject & (group == ENDOCARDITIS),
            rng.normal(profile.injecting_age_mean, 9.0, k),
            rng.normal(profile.age_mean, profile.age_sd, k),
        ).clip(profile.age_min, profile.age_max)
        index_date[members] = at
        injecting[members] = inject
        birth[members] = at - (age * YEAR).astype(np.int64)
        male[members] = rng.random(k) < np.where(inject, 0.75, profile.male_share)
        imd[members] = np.where(inject, _imd(rng, k, 0.3), _imd(rng, k, profile.deprivation_tilt))

    sex = np.where(male, feeds.SEXES.index("male"), feeds.SEXES.index("female"))
    sex[rng.random(n) < UNKNOWN_SEX_SHARE] = feeds.SEXES.index("unknown")
    shares = np.array(list(ETHNICITY_SHARES.values()))
    ethnicity = rng.choice(len(shares), size=n, p=shares / shares.sum())
    home_site = (rng.random(n) >= NORTH_SHARE).astype(np.int8)  # 0 North, 1 South
    nhs = np.where(rng.random(n) < MISSING_NHS_NUMBER_SHARE, -1, nhs_numbers)

    return Population(
        index=index,
        pathway=pathway,
        sex=sex.astype(np.int8),
        ethnicity=ethnicity.astype(np.int8),
        imd=imd.astype(np.int64),
        home_site=home_site,
        birth=floor_to_day(birth),
        index_date=index_date,
        injecting=injecting,
        death=np.full(n, NAT, dtype=np.int64),
        nhs_number=nhs,
    )
