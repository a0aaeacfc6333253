"""Ibis expressions that turn staged rows into warehouse tables: engine-agnostic.

Every row carries ``_key`` (its feed key as one text value) and ``_row`` (its row
number in the source file). A repeated key within one extract keeps its first row and
sends the others to quarantine; a key already in the warehouse is replaced by the new
extract's row (a later extract updates by key), so loading the same extract twice
leaves the same data.
"""

from __future__ import annotations

import ibis
from ibis import _

from carevalue.foundation.tables import align_columns, union_schema

__all__ = ["align_columns", "union_schema"]  # still read from here by ingest

QUARANTINE_SCHEMA = ibis.schema(
    {
        "load_id": "string",
        "feed": "string",
        "file": "string",
        "file_sha256": "string",
        "row": "int64",
        "column": "string",
        "value": "string",
        "reason": "string",
        "raw_row": "string",
    }
)


def first_row_per_key(staged: ibis.Table) -> ibis.Table:
    """The first row of each key, in file order."""
    ranked = staged.mutate(_rank=ibis.row_number().over(group_by=_._key, order_by=_._row))
    return ranked.filter(_._rank == 0).drop("_rank")


def repeated_key_quarantine(
    staged: ibis.Table, *, load_id: str, feed: str, file: str, file_sha256: str, key_label: str
) -> ibis.Table:
    """One quarantine record for every row whose key an earlier row of the file already had."""
    ranked = staged.mutate(
        _rank=ibis.row_number().over(group_by=_._key, order_by=_._row),
        _first=_._row.min().over(group_by=_._key),
    )
    r = ranked.filter(_._rank > 0)
    return r.select(
        load_id=ibis.literal(load_id),
        feed=ibis.literal(feed),
        file=ibis.literal(file),
        file_sha256=ibis.literal(file_sha256),
        row=r._row,
        column=ibis.literal(key_label),
        value=r._key,
        reason=(
            ibis.literal(f"{file} row ")
            + r._row.cast("string")
            + ibis.literal(f": {key_label} '")
            + r._key
            + ibis.literal("' repeats row ")
            + r._first.cast("string")
            + ibis.literal(" (duplicate key; the first row was loaded)")
        ),
        raw_row=ibis.null().cast("string"),
    )


def upsert(existing: ibis.Table | None, incoming: ibis.Table) -> ibis.Table:
    """``existing`` with every key in ``incoming`` replaced by the incoming row."""
    if existing is None:
        return incoming
    schema = union_schema(existing.schema(), incoming.schema())
    kept = existing.anti_join(incoming.select("_key"), "_key")
    return align_columns(kept, schema).union(align_columns(incoming, schema))


def replace_quarantine_of_file(
    existing: ibis.Table | None, incoming: ibis.Table, *, feed: str, file_sha256: str
) -> ibis.Table:
    """Quarantine records of a file loaded again are replaced, not piled up."""
    incoming = align_columns(incoming, QUARANTINE_SCHEMA)
    if existing is None:
        return incoming
    kept = existing.filter(~((_.feed == feed) & (_.file_sha256 == file_sha256)))
    return align_columns(kept, QUARANTINE_SCHEMA).union(incoming)
