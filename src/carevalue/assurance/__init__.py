"""Assurance: every condition pack's hand-written test patients, run and compared with
what the pack must make of them (``carevalue assure``).

- ``assure_folder(path)``: every case of every pack in a conditions folder (or of one
  pack's folder), as (pack, result) in order;
- ``assure_pack(con, pack, folder)`` and ``run_case(con, pack, file)``: one pack, one case;
- ``cases``: episodes, inclusion decisions and stages; ``expected_outcomes``: the outcome
  half (``expect.outcomes`` in a test file).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from carevalue.assurance.cases import (
    CaseResult,
    assure_pack,
    case_files,
    in_memory_engine,
    run_case,
)
from carevalue.packs import ConditionPack, load_packs


def assure_folder(path: Path) -> Iterator[tuple[ConditionPack, CaseResult]]:
    """Each case of each pack under ``path``, on one in-memory engine, as it is run."""
    packs = load_packs(path)
    con = in_memory_engine()
    for pack in packs:
        folder = path if (path / "pack.yaml").is_file() else path / pack.id
        for result in assure_pack(con, pack, folder):
            yield pack, result


__all__ = [
    "CaseResult",
    "assure_folder",
    "assure_pack",
    "case_files",
    "in_memory_engine",
    "run_case",
]
