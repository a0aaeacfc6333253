"""Code lists: CSV files of code, term, system, release, read and checked row by row.

Codes are compared in a normalised form so that the same code written two ways matches:
ICD-10 and OPCS-4 lose their dot, surrounding spaces and case (``I63.9``, ``i639`` ->
``I639``), and ICD-10's 'X' filler on three-character codes goes (``I64X`` -> ``I64``, as
Hospital Episode Statistics writes them). SNOMED CT, dm+d and LOINC codes are numbers and
are only trimmed; NICIP and LOCAL codes are trimmed and upper-cased (a dot in a local code
such as ``BENZYLPENICILLIN-2.4G-IV`` is part of it). The episode builder must normalise
recorded codes with :func:`normalise_code` before comparing.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from pathlib import Path

from carevalue.foundation.file_errors import PackError
from carevalue.sources import feeds

CODE_SYSTEMS: tuple[str, ...] = tuple(
    dict.fromkeys(feeds.DIAGNOSIS_CODE_SYSTEMS + feeds.ACTIVITY_CODE_SYSTEMS)
)
COLUMNS = ("code", "term", "system", "release")
PREFIX_SYSTEMS = ("ICD10", "OPCS4")  # hierarchical codes where a prefix means a group

_FORMATS: dict[str, tuple[re.Pattern[str], str]] = {
    "ICD10": (
        re.compile(r"[A-Z][0-9]{2}(\.?[0-9X][0-9A-Z]?)?"),
        "ICD-10 codes are a letter, two digits and optionally a dot and one or two more "
        "characters, like I63, I63.9 or I639",
    ),
    "OPCS4": (
        re.compile(r"[A-Z][0-9]{2}(\.?[0-9])?"),
        "OPCS-4 codes are a letter, two digits and optionally a dot and one more digit, "
        "like X83, X83.3 or X833",
    ),
    "SNOMED": (re.compile(r"[1-9][0-9]{5,17}"), "SNOMED CT identifiers are 6 to 18 digits"),
    "DMD": (re.compile(r"[1-9][0-9]{5,17}"), "dm+d identifiers are 6 to 18 digits"),
    "LOINC": (
        re.compile(r"[0-9]{1,7}-[0-9]"),
        "LOINC codes are digits, a hyphen and a check digit, like 718-7",
    ),
    "NICIP": (re.compile(r"[A-Z0-9]{4,8}"), "NICIP codes are 4 to 8 letters or digits, like CHEAD"),
    "LOCAL": (
        re.compile(r"\S(.{0,98}\S)?"),
        "local codes are 1 to 100 characters without surrounding spaces",
    ),
}

# Verhoeff check digit tables (SNOMED CT Technical Implementation Guide, 6.7).
_VERHOEFF_D = [
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
    [1, 2, 3, 4, 0, 6, 7, 8, 9, 5],
    [2, 3, 4, 0, 1, 7, 8, 9, 5, 6],
    [3, 4, 0, 1, 2, 8, 9, 5, 6, 7],
    [4, 0, 1, 2, 3, 9, 5, 6, 7, 8],
    [5, 9, 8, 7, 6, 0, 4, 3, 2, 1],
    [6, 5, 9, 8, 7, 1, 0, 4, 3, 2],
    [7, 6, 5, 9, 8, 2, 1, 0, 4, 3],
    [8, 7, 6, 5, 9, 3, 2, 1, 0, 4],
    [9, 8, 7, 6, 5, 4, 3, 2, 1, 0],
]
_VERHOEFF_P = [
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
    [1, 5, 7, 6, 2, 8, 3, 0, 9, 4],
    [5, 8, 0, 3, 7, 9, 6, 1, 4, 2],
    [8, 9, 1, 6, 0, 4, 3, 5, 2, 7],
    [9, 4, 5, 3, 1, 2, 6, 8, 7, 0],
    [4, 2, 8, 6, 5, 7, 3, 9, 0, 1],
    [2, 7, 9, 3, 8, 0, 6, 4, 1, 5],
    [7, 0, 4, 6, 9, 1, 3, 2, 5, 8],
]


def verhoeff_valid(digits: str) -> bool:
    """Whether a string of digits ends in a correct Verhoeff check digit."""
    check = 0
    for i, digit in enumerate(reversed(digits)):
        check = _VERHOEFF_D[check][_VERHOEFF_P[i % 8][int(digit)]]
    return check == 0


def normalise_code(system: str, code: str) -> str:
    """The form in which codes are compared (see the module docstring)."""
    code = code.strip()
    if system in ("ICD10", "OPCS4"):
        code = code.upper().replace(".", "")
        if system == "ICD10" and len(code) == 4 and code.endswith("X"):
            code = code[:3]
        return code
    if system in ("NICIP", "LOCAL"):
        return code.upper()
    return code


def code_format_problem(system: str, code: str) -> str | None:
    """Why ``code`` is not a well-formed code of ``system``, or None when it is."""
    pattern, rule = _FORMATS[system]
    candidate = code.upper() if system in ("ICD10", "OPCS4", "NICIP") else code
    if not pattern.fullmatch(candidate):
        return f"'{code}' is not a valid {system} code: {rule}"
    if system in ("SNOMED", "DMD"):
        if not verhoeff_valid(code):
            return f"'{code}' is not a valid {system} identifier: its check digit is wrong (typo?)"
        # The partition identifier (2nd and 3rd digits from the right) says what the id names.
        if code[-3:-1] not in ("00", "10"):
            return (
                f"'{code}' is a {system} description or relationship id, not a concept id: "
                "code lists hold concept ids"
            )
    return None


@dataclass(frozen=True)
class Code:
    system: str
    code: str  # as written in the file
    normalised: str
    term: str
    release: str
    line: int


@dataclass(frozen=True)
class CodeList:
    """The codes of one list, ready for matching."""

    id: str
    match: str  # 'exact' or 'prefix'
    codes: tuple[Code, ...]

    @property
    def systems(self) -> frozenset[str]:
        return frozenset(c.system for c in self.codes)

    def normalised_codes(self, system: str) -> frozenset[str]:
        """Normalised codes (or prefixes, for a prefix list) of one system."""
        return frozenset(c.normalised for c in self.codes if c.system == system)

    def matches(self, system: str, code: str) -> bool:
        """Whether a recorded (system, code) is in the list."""
        wanted = self.normalised_codes(system)
        recorded = normalise_code(system, code)
        if self.match == "prefix":
            return any(recorded.startswith(prefix) for prefix in wanted)
        return recorded in wanted

    def could_share_a_code_with(self, other: CodeList) -> bool:
        """Whether some recorded code could match both lists."""
        for system in self.systems & other.systems:
            mine, theirs = self.normalised_codes(system), other.normalised_codes(system)
            if self.match == "exact" and other.match == "exact":
                if mine & theirs:
                    return True
                continue
            for a in mine:
                for b in theirs:
                    if (self.match == "prefix" and b.startswith(a)) or (
                        other.match == "prefix" and a.startswith(b)
                    ):
                        return True
        return False


def read_codelist(
    path: Path, codelist_id: str, match: str, shown_as: str
) -> tuple[CodeList | None, list[PackError]]:
    """Read and check one code list file; ``shown_as`` is the path errors name.

    Returns the list (None when it cannot be used at all) and every problem found.
    """
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as error:
        return None, [
            PackError(shown_as, None, f"is not UTF-8 text ({error.reason} at byte {error.start})")
        ]
    rows = csv.reader(text.splitlines(keepends=True))
    header = next(rows, None)
    if header is None:
        return None, [
            PackError(
                shown_as, 1, "the file is empty: it needs a header row code,term,system,release"
            )
        ]
    header = [h.strip().lower() for h in header]
    if header != list(COLUMNS):
        return None, [
            PackError(
                shown_as,
                1,
                f"the columns must be {','.join(COLUMNS)} in that order; found {','.join(header)}",
            )
        ]
    errors: list[PackError] = []
    codes: list[Code] = []
    first_seen: dict[tuple[str, str], int] = {}
    for row in rows:
        line = rows.line_num
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(COLUMNS):
            errors.append(
                PackError(
                    shown_as,
                    line,
                    f"expected 4 values (code, term, system, release); found {len(row)}",
                )
            )
            continue
        code, term, system, release = (cell.strip() for cell in row)
        problem = _row_problem(code, term, system, release, match)
        if problem:
            errors.append(PackError(shown_as, line, problem))
            continue
        normalised = normalise_code(system, code)
        key = (system, normalised)
        if key in first_seen:
            errors.append(
                PackError(
                    shown_as,
                    line,
                    f"{system} code '{code}' is already listed on line {first_seen[key]}",
                )
            )
            continue
        first_seen[key] = line
        codes.append(Code(system, code, normalised, term, release, line))
    if not codes and not errors:
        errors.append(PackError(shown_as, 1, "the code list has no codes"))
    return CodeList(codelist_id, match, tuple(codes)), errors


def _row_problem(code: str, term: str, system: str, release: str, match: str) -> str | None:
    if system not in CODE_SYSTEMS:
        return f"system '{system}' is not one of {', '.join(CODE_SYSTEMS)}"
    if not code:
        return "the code is blank"
    problem = code_format_problem(system, code)
    if problem:
        return problem
    if not term:
        return f"code '{code}' has no term: label every code with its term"
    if not release:
        return f"code '{code}' has no release: say which edition of {system} it comes from"
    if match == "prefix" and system not in PREFIX_SYSTEMS:
        return f"{system} code '{code}' cannot be matched by prefix: only ICD10 and OPCS4 lists can"
    return None
