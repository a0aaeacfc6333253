"""Cut a chunk at the data cut-off: what had not happened by then is not in the extract.

Encounters and activities still running at the cut-off keep a blank end (and no discharge
destination); bed days of running ward and critical care stays count up to the cut-off.
These blanks are legitimate, not faults: the manifest counts them as ``open_at_cutoff``.
"""

from __future__ import annotations

import numpy as np

from carevalue.synthetic.catalogue import CATALOGUE
from carevalue.synthetic.chunk import ChunkColumns
from carevalue.synthetic.population import Population
from carevalue.synthetic.timeline import CUTOFF, DAY, MINUTE, NAT

BED_DAY_ITEMS = np.array([i.activity_type in ("ward_stay", "critical_care") for i in CATALOGUE])


def truncate_at_cutoff(pop: Population, cols: ChunkColumns) -> dict[str, int]:
    """Apply the cut-off in place; return how many encounters and activities are still open."""
    pop.death[pop.death >= CUTOFF] = NAT

    enc = cols["encounters"]
    kept = enc["start"] < CUTOFF
    cols.keep("encounters", kept)
    enc = cols["encounters"]
    open_enc = enc["end"] >= CUTOFF
    enc["end"][open_enc] = NAT
    enc["discharge"][open_enc] = -1
    surviving = enc["key"]

    act = cols["activities"]
    has_enc = act["encounter"] >= 0
    keep = (act["start"] < CUTOFF) & (~has_enc | np.isin(act["encounter"], surviving))
    cols.keep("activities", keep)
    act = cols["activities"]
    open_act = act["end"] >= CUTOFF
    act["end"][open_act] = NAT
    beds = open_act & BED_DAY_ITEMS[act["item"]]
    act["quantity"][beds] = np.round((CUTOFF - act["start"][beds]) / DAY, 2)

    dx = cols["diagnoses"]
    cols.keep("diagnoses", np.isin(dx["encounter"], surviving))
    dx = cols["diagnoses"]
    dx["recorded_at"] = np.minimum(dx["recorded_at"], CUTOFF - MINUTE)

    obs = cols["observations"]
    keep = (obs["observed_at"] < CUTOFF) & (
        (obs["encounter"] < 0) | np.isin(obs["encounter"], surviving)
    )
    cols.keep("observations", keep)
    cols.keep("prom_responses", cols["prom_responses"]["collected_at"] < CUTOFF)
    return {"encounters": int(open_enc.sum()), "activities": int(open_act.sum())}
