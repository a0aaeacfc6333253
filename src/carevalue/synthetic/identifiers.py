"""Sort a chunk's rows and give them their written identifiers.

Identifiers are numbered in one sequence per feed across the whole trust, in order of patient
and time, so that a patient's encounters read in order and the same seed always gives the
same identifiers: patient 'P0000001', encounter 'E000000001', activity 'A0000000001',
PROM response 'R000000001'.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from carevalue.synthetic.chunk import ChunkColumns

ID_WIDTH = {"P": 7, "E": 9, "A": 10, "R": 9}


@dataclass
class IdCounters:
    """The last number used in each identifier sequence."""

    encounters: int = 0
    activities: int = 0
    prom_responses: int = 0


def format_ids(prefix: str, numbers: np.ndarray, null: np.ndarray | None = None) -> pa.Array:
    digits = pc.utf8_lpad(pc.cast(pa.array(numbers), pa.string()), ID_WIDTH[prefix], "0")
    ids = pc.binary_join_element_wise(prefix, digits, "")
    if null is not None and null.any():
        ids = pc.if_else(pa.array(null), pa.scalar(None, pa.string()), ids)
    return ids


def number_rows(cols: ChunkColumns, counters: IdCounters) -> None:
    """Sort each feed and replace provisional encounter keys by encounter numbers (1-based).

    Activities, diagnoses and observations without an encounter keep -1.
    """
    enc = cols["encounters"]
    order = np.lexsort((enc["key"], enc["start"], enc["patient"]))
    cols.take("encounters", order)
    enc = cols["encounters"]
    numbers = counters.encounters + 1 + np.arange(len(order), dtype=np.int64)
    key_to_number = np.full(int(enc["key"].max()) + 1 if len(order) else 1, -1, dtype=np.int64)
    key_to_number[enc["key"]] = numbers
    enc["number"] = numbers
    counters.encounters += len(order)

    def renumber(feed: str) -> None:
        col = cols[feed]["encounter"]
        cols[feed]["encounter"] = np.where(col >= 0, key_to_number[np.maximum(col, 0)], -1)

    for feed in ("activities", "diagnoses", "observations"):
        renumber(feed)

    act = cols["activities"]
    cols.take("activities", np.lexsort((act["item"], act["start"], act["patient"])))
    act = cols["activities"]
    act["number"] = counters.activities + 1 + np.arange(len(act["patient"]), dtype=np.int64)
    counters.activities += len(act["patient"])

    dx = cols["diagnoses"]
    cols.take("diagnoses", np.lexsort((dx["position"], dx["encounter"], dx["patient"])))
    obs = cols["observations"]
    cols.take("observations", np.lexsort((obs["code"], obs["observed_at"], obs["patient"])))

    prom = cols["prom_responses"]
    cols.take(
        "prom_responses", np.lexsort((prom["instrument"], prom["collected_at"], prom["patient"]))
    )
    prom = cols["prom_responses"]
    prom["number"] = counters.prom_responses + 1 + np.arange(len(prom["patient"]), dtype=np.int64)
    counters.prom_responses += len(prom["patient"])
