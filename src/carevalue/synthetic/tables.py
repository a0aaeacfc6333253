"""Turn a chunk's numpy columns into Arrow tables shaped exactly as the feeds declare.

Columns come in the order of :mod:`carevalue.sources.feeds`, followed by the documented extra
columns of :data:`EXTRA_COLUMNS`. Dates and timestamps are ISO 8601 strings in both CSV and
Parquet, so that a malformed source value (a fault) survives to ingest's quarantine.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from carevalue.sources import feeds
from carevalue.synthetic import catalogue, codes
from carevalue.synthetic.chunk import ChunkColumns
from carevalue.synthetic.faults import SEX_VOCABULARY, FaultResult
from carevalue.synthetic.identifiers import format_ids
from carevalue.synthetic.population import Population
from carevalue.synthetic.timeline import format_dates, format_timestamps

ARROW_TYPES = {
    "text": pa.string(),
    "integer": pa.int64(),
    "number": pa.float64(),
    "date": pa.string(),
    "timestamp": pa.string(),
    "json": pa.string(),
}

# Extra columns the generator writes beyond the contract (the contract keeps extras).
EXTRA_COLUMNS: dict[str, tuple[tuple[str, pa.DataType, str], ...]] = {
    "activities": (
        ("staff_present", pa.int64(), "theatre: number of staff in the room"),
        ("care_level", pa.int64(), "critical care: level of care (2 or 3)"),
        ("relative_weight", pa.float64(), "imaging and pathology: relative weight of the test"),
        ("issue_value", pa.float64(), "pharmacy: cost of the issue in £"),
    ),
    "ledger": (
        ("cost_centre_name", pa.string(), "name of the cost centre"),
        ("expense_name", pa.string(), "name of the expense code"),
    ),
}


def schema(feed: str) -> pa.Schema:
    fields = [pa.field(c.name, ARROW_TYPES[c.type]) for c in feeds.FEEDS[feed].columns]
    fields += [pa.field(name, t) for name, t, _ in EXTRA_COLUMNS.get(feed, ())]
    return pa.schema(fields)


def _vocab(values: np.ndarray, vocabulary: tuple) -> pa.Array:
    """Strings from small integer codes; a negative code is null."""
    return pc.take(
        pa.array(list(vocabulary), pa.string()), pa.array(values.astype(np.int64), mask=values < 0)
    )


def _nullable_int(values: np.ndarray) -> pa.Array:
    return pa.array(values.astype(np.int64), mask=values < 0)


def _number(values: np.ndarray) -> pa.Array:
    return pa.array(np.round(values, 2), mask=np.isnan(values))


def _table(feed: str, columns: dict[str, pa.Array]) -> pa.Table:
    s = schema(feed)
    return pa.Table.from_arrays([columns[f.name].cast(f.type) for f in s], schema=s)


def patients_table(pop: Population) -> pa.Table:
    nhs = pop.nhs_number
    return _table(
        "patients",
        {
            "patient_id": format_ids("P", pop.index + 1),
            "nhs_number": pa.array(nhs.astype(str), mask=nhs < 0),
            "birth_date": format_dates(pop.birth),
            "sex": _vocab(pop.sex, SEX_VOCABULARY),
            "ethnicity": _vocab(pop.ethnicity, feeds.ETHNIC_CATEGORIES),
            "imd_decile": _nullable_int(pop.imd),
            "death_date": format_dates(pop.death),
        },
    )


def _patient_ids(pop: Population, local: np.ndarray) -> pa.Array:
    return format_ids("P", pop.index[local] + 1)


def encounters_table(pop: Population, cols: ChunkColumns) -> pa.Table:
    e = cols["encounters"]
    return _table(
        "encounters",
        {
            "encounter_id": format_ids("E", e["number"]),
            "patient_id": _patient_ids(pop, e["patient"]),
            "setting": _vocab(e["setting"], feeds.SETTINGS),
            "admission_method": _vocab(e["admission_method"], feeds.ADMISSION_METHODS),
            "start_at": format_timestamps(e["start"]),
            "end_at": format_timestamps(e["end"]),
            "site": _vocab(e["site"], codes.SITES),
            "specialty": _vocab(e["specialty"], codes.SPECIALTIES),
            "discharge_destination": _vocab(e["discharge"], feeds.DISCHARGE_DESTINATIONS),
        },
    )


def diagnoses_table(pop: Population, cols: ChunkColumns) -> tuple[pa.Table, int]:
    """The diagnoses, written in each site's habit; also returns how many lost their dot."""
    d = cols["diagnoses"]
    south = d["site"] == codes.SOUTH
    canonical = _vocab(d["code"], codes.DIAGNOSIS_CODES)
    undotted = _vocab(d["code"], codes.DIAGNOSIS_CODES_UNDOTTED)
    code = pc.if_else(pa.array(south), undotted, canonical)
    n_undotted = int((south & np.array(codes.HAS_DOT, dtype=bool)[d["code"]]).sum())
    table = _table(
        "diagnoses",
        {
            "encounter_id": format_ids("E", d["encounter"]),
            "patient_id": _patient_ids(pop, d["patient"]),
            "code_system": _vocab(d["code"], codes.DIAGNOSIS_SYSTEM),
            "code": code,
            "position": pa.array(d["position"].astype(np.int64)),
            "recorded_at": format_timestamps(d["recorded_at"]),
        },
    )
    return table, n_undotted


def activities_table(pop: Population, cols: ChunkColumns, faults: FaultResult) -> pa.Table:
    a = {k: v[faults.activity_order] for k, v in cols["activities"].items()}
    item = a["item"].astype(np.int64)
    cat = catalogue.CATALOGUE

    def from_item(attribute: str) -> pa.Array:
        return _vocab(item, tuple(getattr(i, attribute) for i in cat))

    start = format_timestamps(a["start"])
    if faults.impossible_date is not None and faults.impossible_date.any():
        # Month 13: an impossible date, as a corrupt source system writes it.
        month13 = pc.utf8_replace_slice(start, 5, 7, "13")
        start = pc.if_else(pa.array(faults.impossible_date), month13, start)
    weight = np.array([np.nan if i.relative_weight is None else i.relative_weight for i in cat])
    level = np.array([-1 if i.care_level is None else i.care_level for i in cat])
    issue = np.where(catalogue.IS_PHARMACY[item], catalogue.UNIT_COST[item] * a["quantity"], np.nan)
    return _table(
        "activities",
        {
            "activity_id": format_ids("A", a["number"]),
            "patient_id": _patient_ids(pop, a["patient"]),
            "encounter_id": format_ids("E", np.maximum(a["encounter"], 0), null=a["encounter"] < 0),
            "activity_type": from_item("activity_type"),
            "code_system": from_item("code_system"),
            "code": from_item("code"),
            "start_at": start,
            "end_at": format_timestamps(a["end"]),
            "minutes": _number(a["minutes"]),
            "quantity": _number(a["quantity"]),
            "department": from_item("department"),
            "cost_centre": from_item("cost_centre"),
            "resource_group": from_item("resource_group"),
            "staff_present": _nullable_int(a["staff_present"]),
            "care_level": _nullable_int(level[item]),
            "relative_weight": _number(weight[item]),
            "issue_value": _number(issue),
        },
    )


def observations_table(pop: Population, cols: ChunkColumns, faults: FaultResult) -> pa.Table:
    o = {k: v[faults.observation_order] for k, v in cols["observations"].items()}
    unit_index = {u: k for k, u in enumerate(sorted({u for u in codes.OBSERVATION_UNIT if u}))}
    units = tuple(unit_index)
    unit_of_code = np.array([unit_index[u] if u else -1 for u in codes.OBSERVATION_UNIT])
    unit = np.where(np.isnan(o["value_num"]), -1, unit_of_code[o["code"]])
    return _table(
        "observations",
        {
            "patient_id": _patient_ids(pop, o["patient"]),
            "encounter_id": format_ids("E", np.maximum(o["encounter"], 0), null=o["encounter"] < 0),
            "observed_at": format_timestamps(o["observed_at"]),
            "code": _vocab(o["code"], codes.OBSERVATION_CODES),
            "value_num": _number(o["value_num"]),
            "value_text": _vocab(o["value_text"], codes.OBSERVATION_TEXTS),
            "unit": _vocab(unit, units),
        },
    )


def prom_responses_table(pop: Population, cols: ChunkColumns) -> pa.Table:
    p = cols["prom_responses"]
    return _table(
        "prom_responses",
        {
            "response_id": format_ids("R", p["number"]),
            "patient_id": _patient_ids(pop, p["patient"]),
            "instrument": _vocab(p["instrument"], codes.PROM_INSTRUMENTS),
            "collected_at": format_timestamps(p["collected_at"]),
            "items": pa.array(list(p["items"]), pa.string()),
            "mode": _vocab(p["mode"], feeds.PROM_MODES),
        },
    )
