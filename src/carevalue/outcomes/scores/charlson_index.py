"""The Charlson comorbidity index from ICD-10 codes: the Quan 2005 or SHMI code groups and
the Charlson 1987, Quan 2011 or SHMI weights (pure; groups and weights are the package's
reference tables)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import cache
from typing import Literal

from carevalue.outcomes.scores.checks import choice, flag, is_missing
from carevalue.outcomes.scores.reference_tables import read_reference

GROUPS_FILE = {
    "charlson1987": "charlson_icd10_quan2005.csv",
    "quan2011": "charlson_icd10_quan2005.csv",
    "shmi": "charlson_icd10_shmi_v1_35.csv",
}


@cache
def charlson_prefixes(groups_file: str) -> dict[str, tuple[str, ...]]:
    """ICD-10 prefix (dotless, upper case) -> the Charlson group(s) it opens."""
    prefixes: dict[str, tuple[str, ...]] = {}
    for row in read_reference(groups_file):
        prefix = row["icd10_prefix"].upper()
        prefixes[prefix] = prefixes.get(prefix, ()) + (row["group"],)
    return prefixes


@cache
def charlson_weights(weights: str) -> dict[str, int]:
    if weights == "shmi":
        rows = read_reference("charlson_weights_shmi_v1_35.csv")
        return {row["group"]: int(row["weight"]) for row in rows}
    return {row["group"]: int(row[weights]) for row in read_reference("charlson_weights.csv")}


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
        if is_missing(code) or (isinstance(code, str) and not code.strip()):
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
    scheme = choice("weights", weights, _CHARLSON_WEIGHTS)
    prefixes = charlson_prefixes(GROUPS_FILE[scheme])
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
    scheme = choice("weights", weights, _CHARLSON_WEIGHTS)
    use_hierarchy = flag("hierarchy", hierarchy)
    groups = set(charlson_groups(icd10_codes, weights=scheme))
    if use_hierarchy:
        for severe, mild in CHARLSON_HIERARCHY:
            if severe in groups:
                groups.discard(mild)
    table = charlson_weights(scheme)
    return sum(table[group] for group in groups)
