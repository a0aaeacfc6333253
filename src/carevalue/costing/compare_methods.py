"""TDABC beside PLICS, stage by stage: the bottom-up cost of one patient's pass through a
stage (its process map) against the top-down cost the ledger allocation gave the episodes
that passed through it. A gap is a finding for the team (a step missing from the map,
capacity costed differently, overheads), not an error. The PLICS mean rests on the
episodes that reached the stage and is blanked (``carevalue.disclosure``) where they are
fewer than the pack's ``reporting.min_cell``.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from ibis.backends import BaseBackend

from carevalue.costing.tdabc import cost_model, load_tdabc_model
from carevalue.disclosure import suppress
from carevalue.errors import UserError
from carevalue.packs.model import ConditionPack


def tdabc_unit_cost(pack_folder: Path, process_map: str) -> float:
    """Expected cost of one unit of the mapped process (condition shares applied)."""
    file, process_id = process_map.split("#", 1)
    path = pack_folder / file
    if not path.is_file():
        raise UserError(
            f"{pack_folder / 'pack.yaml'}: process_map '{process_map}' names {path}, "
            "which does not exist."
        )
    process = cost_model(load_tdabc_model(path)).process(process_id)
    return round(float(process.expected_cost), 2)


def tdabc_step_costs(pack_folder: Path, process_map: str) -> pd.DataFrame:
    """One row per step of the mapped process: its resource, expected cost of one unit to
    the penny, and the provenance key ``FILE#PROCESS/STEP``."""
    file, process_id = process_map.split("#", 1)
    tdabc_unit_cost(pack_folder, process_map)  # the same checks, with the same messages
    process = cost_model(load_tdabc_model(pack_folder / file)).process(process_id)
    return pd.DataFrame(
        [
            {
                "resource": step.resource,
                "amount": round(float(step.expected_cost), 2),
                "provenance": f"{process_map}/{step.id}",
            }
            for step in process.steps
        ]
    )


def compare_stage_costs(
    con: BaseBackend, packs: list[ConditionPack], conditions_folder: Path
) -> pd.DataFrame:
    if "episode_costs" not in con.list_tables():
        raise UserError(
            "This warehouse has no costed run yet; run 'carevalue run --costing-rules FILE' first."
        )
    costs = con.table("episode_costs").filter(lambda t: t.method == "plics")
    rows = []
    for pack in packs:
        for stage in pack.stages:
            if not stage.process_map:
                continue
            tdabc = tdabc_unit_cost(conditions_folder / pack.id, stage.process_map)
            in_stage = costs.filter((costs.condition == pack.id) & (costs.stage == stage.id))
            per_episode = in_stage.group_by("episode_id").aggregate(
                cost=in_stage.amount.sum().cast("float64")
            )
            summary = per_episode.aggregate(
                episodes=per_episode.count(), mean=per_episode.cost.mean()
            ).execute()
            plics = float(summary["mean"][0]) if summary["episodes"][0] else 0.0
            rows.append(
                {
                    "condition": pack.id,
                    "stage": stage.id,
                    "process_map": stage.process_map,
                    "episodes": int(summary["episodes"][0]),
                    "tdabc_per_patient": tdabc,
                    "plics_mean_per_episode": round(plics, 2),
                    "difference": round(plics - tdabc, 2),
                    "difference_pct": round(100 * (plics - tdabc) / tdabc, 1) if tdabc else None,
                }
            )
    frame = pd.DataFrame(rows)
    if frame.empty:
        return frame
    figures = ("plics_mean_per_episode", "difference", "difference_pct")
    min_cell = {pack.id: pack.reporting.min_cell for pack in packs}
    return suppress(frame, min_cell, {"episodes": figures})
