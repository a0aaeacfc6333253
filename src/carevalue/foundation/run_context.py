"""The run a stage works for: its connection, its id, and the names of its scratch objects.

Every stage of ``carevalue run`` (and of ``carevalue assure``) receives one ``RunContext``
instead of a bare connection. Intermediate results it materialises are named from the
context's prefix and remembered, so the run can drop exactly its own when it ends.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import ibis
from ibis.backends import BaseBackend

from carevalue import warehouse


@dataclass
class RunContext:
    """``con``: the warehouse; ``run_id``: the run being built; ``scratch_prefix``: the
    start of every scratch table and view name this run makes (by default
    ``_cv_<the run id's last six characters>_``, so two runs never share one)."""

    con: BaseBackend
    run_id: str
    scratch_prefix: str = ""
    made: list[tuple[str, str]] = field(default_factory=list)  # (table or view, name)

    def __post_init__(self) -> None:
        if not self.scratch_prefix:
            self.scratch_prefix = scratch_prefix(self.run_id)

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

    def drop_scratch(self) -> None:
        """Drop every scratch table and view this run made, newest first."""
        while self.made:
            kind, name = self.made.pop()
            warehouse.drop_scratch(self.con, kind, name)

    def _remember(self, kind: str, name: str) -> None:
        if (kind, name) not in self.made:
            self.made.append((kind, name))


SCRATCH_START = "_cv_"


def scratch_prefix(run_id: str) -> str:
    """``_cv_<token>_``: the token is the run id's last six characters (a run id ends in six
    random hex digits), lower case, letters, digits and underscores only."""
    token = re.sub(r"[^a-z0-9_]", "_", run_id.lower()[-6:])
    return f"{SCRATCH_START}{token}_"


def drop_stale_scratch(con: BaseBackend) -> list[str]:
    """Drop scratch objects left by runs that were killed before they could drop their
    own. Call only while holding the warehouse's run lock (no other run is live then)."""
    stale = [name for name in con.list_tables() if name.startswith(SCRATCH_START)]
    for name in stale:
        try:
            warehouse.drop_scratch(con, "view", name)
        except Exception:  # not a view: a table
            warehouse.drop_scratch(con, "table", name)
    return stale
