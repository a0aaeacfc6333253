"""The run a stage works for: its connection, its id, and the names of its scratch objects.

Every stage of ``carevalue run`` (and of ``carevalue assure``) receives one ``RunContext``
instead of a bare connection. Intermediate results it materialises are named from the
context's prefix and remembered, so the run can drop exactly its own when it ends.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import ibis
from ibis.backends import BaseBackend

from carevalue import warehouse


@dataclass
class RunContext:
    """``con``: the warehouse; ``run_id``: the run being built; ``scratch_prefix``: the
    start of every scratch table and view name this run makes."""

    con: BaseBackend
    run_id: str
    scratch_prefix: str = "_carevalue_"
    made: list[tuple[str, str]] = field(default_factory=list)  # (table or view, name)

    def scratch_name(self, name: str) -> str:
        return f"{self.scratch_prefix}{name}"

    def scratch_table(self, name: str, expr: ibis.Table) -> ibis.Table:
        """``expr`` materialised as this run's scratch table ``name`` (see
        ``warehouse.scratch_table``)."""
        full = self.scratch_name(name)
        table = warehouse.scratch_table(self.con, full, expr)
        self._remember("table", full)
        return table

    def scratch_view(self, name: str, expr: ibis.Table) -> ibis.Table:
        """``expr`` named as this run's scratch view ``name``, rows not copied."""
        full = self.scratch_name(name)
        view = warehouse.scratch_view(self.con, full, expr)
        self._remember("view", full)
        return view

    def _remember(self, kind: str, name: str) -> None:
        if (kind, name) not in self.made:
            self.made.append((kind, name))
