"""Static check that no activity could belong to two stages.

Two stage rules overlap when an activity could satisfy both: their activity types,
departments, specialties and settings intersect (a condition left out means 'any'), their
day windows share a day, and their code lists could share a code. This is decided from the
rules and the code list contents alone, before any data is seen, so an overlap is found when
the pack is written rather than as a double-counted cost in a report.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from carevalue.packs.codelists import CodeList
from carevalue.packs.model import Stage, StageRule

ANY = None  # a condition left out of a rule


@dataclass(frozen=True)
class Overlap:
    earlier_stage: int  # index in the pack's stages
    later_stage: int
    later_rule: int  # index of the later stage's rule that overlaps
    message: str


def find_overlaps(
    stages: Mapping[int, Stage],
    codelists: Mapping[str, CodeList],
    first_day: int | None,
    last_day: int | None,
) -> list[Overlap]:
    """One ``Overlap`` per pair of overlapping stages (at the first pair of rules found)."""
    overlaps = []
    ordered = sorted(stages.items())
    for position, (i, earlier) in enumerate(ordered):
        for j, later in ordered[position + 1 :]:
            found = _first_overlap(earlier, later, codelists, first_day, last_day)
            if found:
                rule_index, description = found
                overlaps.append(
                    Overlap(
                        i,
                        j,
                        rule_index,
                        (
                            f"stage '{later.id}' overlaps stage '{earlier.id}': both match "
                            f"{description}; make them differ in activity type, department, "
                            "specialty, setting, code list or days"
                        ),
                    )
                )
    return overlaps


def _first_overlap(
    earlier: Stage,
    later: Stage,
    codelists: Mapping[str, CodeList],
    first_day: int | None,
    last_day: int | None,
) -> tuple[int, str] | None:
    for later_index, b in enumerate(later.match):
        for a in earlier.match:
            description = _shared(a, b, codelists, first_day, last_day)
            if description:
                return later_index, description
    return None


def _shared(
    a: StageRule,
    b: StageRule,
    codelists: Mapping[str, CodeList],
    first_day: int | None,
    last_day: int | None,
) -> str | None:
    """What an activity matching both rules looks like, or None when none can."""
    dimensions = {}
    for name in ("activity_types", "departments", "specialties", "settings"):
        common = _intersect(getattr(a, name), getattr(b, name))
        if common == ():
            return None
        dimensions[name] = common
    lo = _max_known(a.from_day, b.from_day, first_day)
    hi = _min_known(a.to_day, b.to_day, last_day)
    if lo is not None and hi is not None and lo > hi:
        return None
    if a.codelist and b.codelist and a.codelist != b.codelist:
        first, second = codelists.get(a.codelist), codelists.get(b.codelist)
        # A list that could not be read is reported elsewhere; do not guess about it.
        if first is None or second is None or not first.could_share_a_code_with(second):
            return None
    return _describe(dimensions, lo, hi, a.codelist, b.codelist)


def _intersect(a: tuple[str, ...] | None, b: tuple[str, ...] | None) -> tuple[str, ...] | None:
    """Common values ignoring case, in b's spelling; ANY when both are ANY; () when none."""
    if a is ANY:
        return b
    if b is ANY:
        return a
    folded = {value.casefold() for value in a}
    return tuple(value for value in b if value.casefold() in folded)


def _max_known(*values: int | None) -> int | None:
    known = [v for v in values if v is not None]
    return max(known) if known else None


def _min_known(*values: int | None) -> int | None:
    known = [v for v in values if v is not None]
    return min(known) if known else None


def _alternatives(values: tuple[str, ...], quote: bool) -> str:
    shown = [f"'{v}'" if quote else v for v in values]
    return shown[0] if len(shown) == 1 else ", ".join(shown[:-1]) + " or " + shown[-1]


def _describe(
    dimensions: dict, lo: int | None, hi: int | None, codelist_a: str | None, codelist_b: str | None
) -> str:
    types = dimensions["activity_types"]
    parts = ["any activity" if types is ANY else f"a {_alternatives(types, False)} activity"]
    for name, label in (
        ("departments", "department"),
        ("specialties", "specialty"),
        ("settings", "setting"),
    ):
        values = dimensions[name]
        if values is ANY:
            parts.append(f"any {label}")
        else:
            parts.append(f"{label} {_alternatives(values, name != 'settings')}")
    lists = [c for c in dict.fromkeys((codelist_a, codelist_b)) if c]
    if len(lists) == 1:
        parts.append(f"with a code in '{lists[0]}'")
    elif lists:
        parts.append(f"with a code in both '{lists[0]}' and '{lists[1]}'")
    if lo is None and hi is None:
        days = "on any day"
    elif lo is None:
        days = f"up to day {hi}"
    elif hi is None:
        days = f"from day {lo}"
    else:
        days = f"on day {lo}" if lo == hi else f"on days {lo} to {hi}"
    return ", ".join(parts) + ", " + days
