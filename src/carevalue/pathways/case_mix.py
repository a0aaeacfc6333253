"""Raw case-mix fields of each episode, as the pack declares them.

Raw means as recorded: the NIHSS value, the organism, whether AF is coded. Scores built
from several values (Charlson, FIB-4, APRI) are computed by the outcomes stage; here
their inputs are collected (``cm_<id>__<input>``), each the reading nearest the index
event inside the variable's window.
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir
from ibis import _

from carevalue.foundation.code_matching import POSITIONS, in_codelist
from carevalue.foundation.days import in_window
from carevalue.foundation.tables import left_join
from carevalue.packs.measures import (
    AgeAtIndex,
    ApriScore,
    CharlsonScore,
    CodelistCategory,
    CodelistPresent,
    Fib4Score,
    ObservationValue,
    SexOfPatient,
)
from carevalue.packs.model import ConditionPack
from carevalue.pathways.qualifying_events import coded_rows

Tables = dict[str, ibis.Table]
KEY = "index_encounter_id"


def case_mix_columns(t: Tables, pack: ConditionPack, episodes: ibis.Table) -> ibis.Table:
    """``episodes`` (index_encounter_id, patient_id, index_at, index_date) plus one column
    per raw case-mix field. Each field is looked up from the same ``base`` episodes, so the
    expression grows by one join per field instead of nesting every earlier field."""
    base = episodes
    for variable in pack.case_mix:
        column = f"cm_{variable.id}"
        if isinstance(variable, AgeAtIndex):
            episodes = episodes.mutate(**{column: _.age})
        elif isinstance(variable, SexOfPatient):
            episodes = episodes.mutate(**{column: _.sex})
        elif isinstance(variable, ObservationValue):
            value = "value_num" if variable.value == "number" else "value_text"
            found = _observation_reading(
                t, base, variable.observation, value, variable.reading, variable.window
            )
            episodes = _attach(episodes, found, column)
        elif isinstance(variable, (Fib4Score, ApriScore)):
            inputs = {"ast": variable.ast, "platelets": variable.platelets}
            if isinstance(variable, Fib4Score):
                inputs["alt"] = variable.alt
            for name, code in inputs.items():
                found = _observation_reading(t, base, code, "value_num", "nearest", variable.window)
                episodes = _attach(episodes, found, f"{column}__{name}")
        elif isinstance(variable, CharlsonScore):
            continue  # scored from diagnoses by the outcomes stage; nothing raw to copy
        elif isinstance(variable, CodelistPresent):
            found = _codelist_hits(t, pack, base, variable).mutate(value=ibis.literal(1))
            episodes = _attach(episodes, found, column)
            episodes = episodes.mutate(**{column: episodes[column].fill_null(0)})
        elif isinstance(variable, CodelistCategory):
            episodes = _attach(episodes, _category(t, pack, base, variable), column)
            episodes = episodes.mutate(**{column: episodes[column].fill_null(variable.otherwise)})
    return episodes


def _attach(episodes: ibis.Table, found: ibis.Table, column: str) -> ibis.Table:
    found = found.select(KEY, **{column: found.value})
    return left_join(episodes, found, KEY)


def _in_window(rows: ibis.Table, when: ir.TimestampValue, window) -> ir.BooleanValue:
    return in_window(when, rows.index_date, window)


def _observation_reading(t, episodes, code: str, value: str, reading: str, window) -> ibis.Table:
    o = t["observations"].filter(_.code == code).select("patient_id", "observed_at", value=_[value])
    rows = episodes.select(KEY, "patient_id", "index_at", "index_date").join(o, "patient_id")
    rows = rows.filter(_in_window(rows, rows.observed_at, window) & rows.value.notnull())
    rows = rows.mutate(
        _distance=(rows.observed_at.epoch_seconds() - rows.index_at.epoch_seconds()).abs()
    )
    by = {
        "first": lambda r: r.value.argmin(r.observed_at),
        "last": lambda r: r.value.argmax(r.observed_at),
        "highest": lambda r: r.value.max(),
        "lowest": lambda r: r.value.min(),
        "nearest": lambda r: r.value.argmin(r._distance),
    }[reading]
    return rows.group_by(KEY).aggregate(value=by(rows))


def _codelist_hits(t, pack, episodes, variable: CodelistPresent) -> ibis.Table:
    found = coded_rows(t, pack, variable.codelist, variable.source, variable.position)
    rows = episodes.select(KEY, "patient_id", "index_date").join(
        found.select("patient_id", "when"), "patient_id"
    )
    return rows.filter(_in_window(rows, rows.when, variable.window)).select(KEY).distinct()


def _category(t, pack, episodes, variable: CodelistCategory) -> ibis.Table:
    d = t["diagnoses"]
    d = d.filter(POSITIONS[variable.position](d.position))
    flags = {
        f"_c{i}": in_codelist(d.code_system, d.code_norm, pack.codelist(c.codelist)).cast("int8")
        for i, c in enumerate(variable.categories)
    }
    per_encounter = (
        d.mutate(**flags)
        .group_by("encounter_id")
        .aggregate(**{name: _[name].max() for name in flags})
    )
    rows = episodes.select(KEY).join(per_encounter, episodes[KEY] == per_encounter.encounter_id)
    value = ibis.cases(
        *[(rows[f"_c{i}"] == 1, c.value) for i, c in enumerate(variable.categories)],
        else_=ibis.null().cast("string"),
    )
    return rows.select(KEY, value=value)
