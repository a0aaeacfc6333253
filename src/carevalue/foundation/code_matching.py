"""Match recorded codes against a pack's code list, as Ibis expressions.

Recorded codes are normalised the way ``carevalue.packs.codelists.normalise_code`` does
(ICD-10 and OPCS-4 upper case without dots, the ICD-10 'X' filler dropped; NICIP and local
codes upper case), so 'I63.9' and 'I639' are the same code. Code lists are small, so the
match is an ``isin`` (or ``startswith`` for prefix lists) against literal values: plain
expressions that every engine runs the same way.
"""

from __future__ import annotations

from collections.abc import Set
from typing import Protocol

import ibis
import ibis.expr.types as ir


class CodeList(Protocol):
    """What matching needs of a code list (``carevalue.packs.CodeList`` is one): its code
    systems, exact or prefix matching, and its normalised codes of each system."""

    match: str

    @property
    def systems(self) -> Set[str]: ...

    def normalised_codes(self, system: str) -> Set[str]: ...


# Which diagnosis positions a rule's ``position`` counts.
POSITIONS = {"primary": lambda p: p == 1, "secondary": lambda p: p >= 2, "any": lambda p: p >= 1}


def normalised_code(system: ir.StringValue, code: ir.StringValue) -> ir.StringValue:
    trimmed = code.strip()
    undotted = trimmed.upper().replace(".", "")
    icd_filler = (system == "ICD10") & (undotted.length() == 4) & undotted.endswith("X")
    return ibis.cases(
        (icd_filler, undotted.substr(0, 3)),
        (system.isin(["ICD10", "OPCS4"]), undotted),
        (system.isin(["NICIP", "LOCAL"]), trimmed.upper()),
        else_=trimmed,
    )


def in_codelist(
    system: ir.StringValue, normal: ir.StringValue, codelist: CodeList
) -> ir.BooleanValue:
    """True where (system, normalised code) is in the list; False (never null) elsewhere.

    ``normal`` is the ``code_norm`` column that ``prepare_tables`` adds once per run, so
    each rule's expression stays small however many code lists a pack uses."""
    matches = []
    for list_system in sorted(codelist.systems):
        wanted = sorted(codelist.normalised_codes(list_system))
        if codelist.match == "prefix":
            hit = ibis.or_(*[normal.startswith(prefix) for prefix in wanted])
        else:
            hit = normal.isin(wanted)
        matches.append((system == list_system) & hit)
    return ibis.or_(*matches).fill_null(False)


def _system_hits(
    list_system: str, code: ir.StringValue, exact: set[str], prefixes: set[str]
) -> list[ir.BooleanValue]:
    """For rows whose code system is ``list_system``: whether ``normalised_code`` is one of
    ``exact`` or starts with one of ``prefixes``, written with as little per-row work as
    gives the same answer.

    For ICD-10, ``normalised_code`` is the undotted code except that a four-character code
    ending in the filler 'X' loses it ('I64X' is 'I64'). So it is in ``exact`` exactly when
    the undotted code is in ``exact`` (less any four-character code ending in 'X', which no
    normalised code can be) or is a three-character code of ``exact`` plus 'X'; and its
    first three characters are always the undotted code's, so a prefix of up to three
    characters is matched on the undotted code. Neither needs the filler ``CASE``."""
    trimmed = code.strip()
    undotted = trimmed.upper().replace(".", "")
    normal = normalised_code(ibis.literal(list_system), code)
    if list_system == "ICD10":
        with_filler = {c + "X" for c in exact if len(c) == 3}
        exact = {c for c in exact if not (len(c) == 4 and c.endswith("X"))} | with_filler
        normal_exact, short_prefix = undotted, undotted
    elif list_system == "OPCS4":
        normal, normal_exact, short_prefix = undotted, undotted, undotted
    elif list_system in ("NICIP", "LOCAL"):
        normal = normal_exact = short_prefix = trimmed.upper()
    else:
        normal = normal_exact = short_prefix = trimmed
    hits = [normal_exact.isin(sorted(exact))] if exact else []
    by_length: dict[int, list[str]] = {}
    for prefix in sorted(prefixes):
        by_length.setdefault(len(prefix), []).append(prefix)
    for length, group in by_length.items():
        source = short_prefix if length <= 3 else normal
        hits.append(
            source.startswith(group[0]) if len(group) == 1 else source.substr(0, length).isin(group)
        )
    return hits


def codelist_rows(rows: ibis.Table, codelists: list[CodeList]) -> ibis.Table:
    """The rows of ``rows`` (with ``code_system`` and the recorded ``code``) whose code is
    in any of the lists: the rows ``filter(in_codelist(…) | …)`` keeps, in the same
    number, but found one code system at a time and the parts put together with
    ``UNION ALL`` (the systems are disjoint, so no row is found twice).

    The shape is for the engine: each part filters on ``code_system = '…'``, which DuckDB
    pushes down to the table scan, then compares only that system's codes, with that
    system's normalisation alone (``_system_hits``), against all the lists' codes of the
    system in one ``IN``."""
    exact: dict[str, set[str]] = {}
    prefixes: dict[str, set[str]] = {}
    for codelist in codelists:
        for list_system in codelist.systems:
            wanted = codelist.normalised_codes(list_system)
            (prefixes if codelist.match == "prefix" else exact).setdefault(
                list_system, set()
            ).update(wanted)
    parts = []
    for list_system in sorted(set(exact) | set(prefixes)):
        hits = _system_hits(
            list_system, rows.code, exact.get(list_system, set()), prefixes.get(list_system, set())
        )
        if hits:
            parts.append(rows.filter(rows.code_system == list_system, ibis.or_(*hits)))
    if not parts:
        return rows.limit(0)
    return parts[0] if len(parts) == 1 else ibis.union(*parts, distinct=False)
