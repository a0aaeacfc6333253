"""Table shapes every stage shares: one schema from several, a table put into a schema,
per-pack results stacked into one table, and the left join that keeps one key column.

Plain Ibis expressions, engine-agnostic; ingest (``sources.merge_feed``), the run and the
costing stage all build on them.
"""

from __future__ import annotations

import ibis
import ibis.expr.datatypes as dt


def align_columns(table: ibis.Table, schema: ibis.Schema) -> ibis.Table:
    """``table`` with exactly ``schema``'s columns in its order; absent ones are null."""
    return table.select(
        *[
            (table[name].cast(dtype) if name in table.columns else ibis.null().cast(dtype)).name(
                name
            )
            for name, dtype in schema.items()
        ]
    )


def union_schema(*schemas: ibis.Schema) -> ibis.Schema:
    merged: dict[str, dt.DataType] = {}
    for schema in schemas:
        for name, dtype in schema.items():
            merged.setdefault(name, dtype)
    return ibis.schema(merged)


def stack(parts: list[ibis.Table]) -> ibis.Table:
    """One table from the per-pack results; columns one pack lacks (its own case-mix
    fields) are null for the others."""
    schema = union_schema(*[p.schema() for p in parts])
    return ibis.union(*[align_columns(p, schema) for p in parts])


def left_join(left: ibis.Table, right: ibis.Table, key: str) -> ibis.Table:
    """``left`` with ``right``'s columns beside each row (null where none matches), joined
    on ``key`` and keeping one ``key`` column (Ibis names the other ``<key>_right``)."""
    joined = left.left_join(right, key)
    other = f"{key}_right"
    return joined.drop(other) if other in joined.columns else joined
