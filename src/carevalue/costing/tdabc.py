"""Bottom-up patient-level costing by time-driven activity-based costing (TDABC): a model
file in, costs out (Kaplan & Anderson 2004; Kaplan & Porter 2011). See docs/tdabc.md.

The public surface:

- ``tdabc_report(path) -> dict``: read, check and cost a model file; the JSON-able report
  that ``carevalue costing tdabc MODEL --json`` prints;
- ``load_tdabc_model(path) -> TdabcModel``: read and check a model file (raises
  ``TdabcModelError``, a ``UserError`` naming each problem's file and line);
- ``cost_model(model) -> TdabcResult``: cost an already-built model, exactly;
- ``unit_cost(process, conditions) -> Decimal``: one unit's cost to the penny, for the
  conditions that hold (what a patient-level costing calls);
- ``costing_report(result, model_file) -> dict``: the report of a result.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from carevalue.costing.tdabc_costs import (
    CostedProcess,
    CostedResource,
    CostedStep,
    Finding,
    TdabcResult,
    cost_model,
    unit_cost,
)
from carevalue.costing.tdabc_load import TdabcModelError, load_tdabc_model
from carevalue.costing.tdabc_model import TdabcModel
from carevalue.costing.tdabc_report import costing_report

__all__ = [
    "CostedProcess",
    "CostedResource",
    "CostedStep",
    "Finding",
    "TdabcModel",
    "TdabcModelError",
    "TdabcResult",
    "cost_model",
    "costing_report",
    "load_tdabc_model",
    "tdabc_report",
    "unit_cost",
]


def tdabc_report(path: Path | str) -> dict[str, Any]:
    """Read, check and cost the model file at ``path``; the report, ready for json.dumps."""
    return costing_report(cost_model(load_tdabc_model(path)), model_file=str(path))
