"""Match recorded codes against a pack's code list, as Ibis expressions.

Recorded codes are normalised the way ``carevalue.packs.codelists.normalise_code`` does
(ICD-10 and OPCS-4 upper case without dots, the ICD-10 'X' filler dropped; NICIP and local
codes upper case), so 'I63.9' and 'I639' are the same code. Code lists are small, so the
match is an ``isin`` (or ``startswith`` for prefix lists) against literal values: plain
expressions that every engine runs the same way.
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from carevalue.packs.codelists import CodeList


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


def in_codelist(system: ir.StringValue, normal: ir.StringValue, codelist: CodeList) -> ir.BooleanValue:
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
