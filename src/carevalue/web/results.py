"""The web app's one door to results: the current published run snapshot, and the
condition packs that run used. Never the warehouse (docs/snapshots.md)."""

from __future__ import annotations

import threading
from functools import lru_cache
from pathlib import Path

from django.conf import settings

from carevalue.config import warehouse_url
from carevalue.packs import load_packs
from carevalue.packs.model import ConditionPack
from carevalue.snapshots import Snapshot, current_snapshot, snapshot_root

_lock = threading.Lock()


def snapshots_folder() -> Path:
    configured = getattr(settings, "CAREVALUE_SNAPSHOT_ROOT", None)
    return Path(configured) if configured else snapshot_root(warehouse_url())


def current() -> Snapshot | None:
    """The run published last (read on every request, so a new run shows at once)."""
    return current_snapshot(snapshots_folder())


@lru_cache(maxsize=8)
def _packs(path: str) -> dict[str, ConditionPack]:
    return {pack.id: pack for pack in load_packs(Path(path))}


def packs(snapshot: Snapshot) -> dict[str, ConditionPack]:
    """The packs the snapshot's run used, by id, in the order they sort."""
    with _lock:
        found = _packs(str(snapshot.pack_files()))
    return dict(sorted(found.items()))


def condition_table(snapshot: Snapshot, name: str, condition: str):
    """One results table's rows for one condition (empty when the run has no such table)."""
    import pandas as pd

    if not snapshot.has(name):
        return pd.DataFrame()
    frame = snapshot.table(name)
    if "condition" not in frame.columns:
        return frame
    return _rows_for(snapshot.run_id, name, condition, frame)


_condition_rows: dict[tuple[str, str, str], object] = {}


def _rows_for(run_id: str, name: str, condition: str, frame):
    key = (run_id, name, condition)
    with _lock:
        rows = _condition_rows.get(key)
        if rows is None:
            if len(_condition_rows) > 256:  # runs come and go; keep memory bounded
                _condition_rows.clear()
            rows = frame[frame["condition"] == condition].reset_index(drop=True)
            _condition_rows[key] = rows
    return rows
