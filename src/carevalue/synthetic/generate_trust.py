"""Generate the synthetic trust: the embedded default data set of CareValue.

``generate_trust(out_dir, patients, seed)`` writes the seven canonical feeds (one file each,
named after the feed) and ``manifest.json``: what was generated, the row counts as written,
the exact count of every injected data-quality fault, and the effects built in, so that
later analytics can be checked against the truth. Patients are generated in chunks of
:data:`CHUNK_SIZE`, each from its own random stream (``SeedSequence(seed, spawn_key=(0,
chunk))``), and appended to the files, so memory stays flat and the same seed and size always
give byte-identical files.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np

import carevalue
from carevalue.sources import feeds
from carevalue.synthetic import nhs_numbers, tables, truths, unit_costs
from carevalue.synthetic.background import generate_background
from carevalue.synthetic.chunk import (
    BACKGROUND,
    ENDOCARDITIS,
    HEPATITIS_C,
    SOURCES,
    STROKE,
    ChunkRows,
)
from carevalue.synthetic.cutoff import truncate_at_cutoff
from carevalue.synthetic.endocarditis import generate_endocarditis
from carevalue.synthetic.faults import FAULTS, inject_faults
from carevalue.synthetic.hepatitis_c import generate_hepatitis_c
from carevalue.synthetic.identifiers import IdCounters, number_rows
from carevalue.synthetic.ledger import LINE_NOISE, OVERHEAD_SHARE, LedgerAccumulator
from carevalue.synthetic.population import PATHWAY_SHARES, draw_population
from carevalue.synthetic.stroke import generate_stroke
from carevalue.synthetic.timeline import DATA_CUTOFF_DATE, PERIOD_START_DATE
from carevalue.synthetic.writer import FILE_FORMATS, FeedWriter, feed_path

CHUNK_SIZE = 5_000
PATHWAYS = (
    (STROKE, generate_stroke),
    (ENDOCARDITIS, generate_endocarditis),
    (HEPATITIS_C, generate_hepatitis_c),
)


def _streams(seed: int, chunk: int) -> list[np.random.Generator]:
    """Independent random streams for one chunk: population, three pathways, background,
    faults. A chunk's data depend only on the seed and the chunk number."""
    children = np.random.SeedSequence(seed, spawn_key=(0, chunk)).spawn(6)
    return [np.random.Generator(np.random.PCG64(s)) for s in children]


def generate_trust(
    out_dir: Path,
    patients: int,
    seed: int,
    file_format: str = "csv",
    on_progress: Callable[[int], None] | None = None,
) -> dict:
    """Write a synthetic trust of ``patients`` patients into ``out_dir``; return the manifest."""
    if isinstance(patients, bool) or not isinstance(patients, (int, np.integer)):
        raise ValueError(f"The number of patients must be a whole number, not {patients!r}.")
    if patients < 1:
        raise ValueError(f"The number of patients must be at least 1, not {patients}.")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"The seed must be a whole number of 0 or more, not {seed!r}.")
    if file_format not in FILE_FORMATS:
        raise ValueError(
            f"Unknown file format {file_format!r}: choose one of {', '.join(FILE_FORMATS)}."
        )
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)

    writers = {
        feed: FeedWriter(feed_path(out_dir, feed, file_format), tables.schema(feed), file_format)
        for feed in feeds.FEED_ORDER
    }
    ledger = LedgerAccumulator()
    counters = IdCounters()
    fault_counts = {(f.feed, f.name): 0 for f in FAULTS}
    children: dict[str, dict[str, int]] = {}
    open_at_cutoff = {"encounters": 0, "activities": 0}
    cohort = dict.fromkeys(SOURCES, 0)

    try:
        for chunk, first in enumerate(range(0, patients, CHUNK_SIZE)):
            n = min(CHUNK_SIZE, patients - first)
            pop_rng, stroke_rng, ie_rng, hcv_rng, background_rng, fault_rng = _streams(seed, chunk)
            index = np.arange(first, first + n, dtype=np.int64)
            pop = draw_population(pop_rng, first, n, nhs_numbers.nhs_numbers(index, seed))
            rows = ChunkRows()
            busy: list[tuple[int, int, int]] = []
            for (source, generate), rng in zip(PATHWAYS, (stroke_rng, ie_rng, hcv_rng)):
                generate(
                    pop, np.flatnonzero(pop.pathway == source), rng, rows.recorder(source), busy
                )
            generate_background(pop, background_rng, rows, busy)
            for source, name in enumerate(SOURCES):
                cohort[name] += int((pop.pathway == source).sum())

            cols = rows.to_columns()
            for feed, count in truncate_at_cutoff(pop, cols).items():
                open_at_cutoff[feed] += count
            number_rows(cols, counters)
            act = cols["activities"]
            ledger.add(act["item"], act["start"], act["minutes"], act["quantity"])

            result = inject_faults(fault_rng, pop, cols, first_chunk=chunk == 0)
            for key, count in result.counts.items():
                fault_counts[key] += count
            for parent, by_feed in result.children_of_quarantined.items():
                for feed, count in by_feed.items():
                    children.setdefault(parent, {}).setdefault(feed, 0)
                    children[parent][feed] += count

            diagnoses, undotted = tables.diagnoses_table(pop, cols)
            fault_counts[("diagnoses", "undotted_icd10")] += undotted
            writers["patients"].write(tables.patients_table(pop))
            writers["encounters"].write(tables.encounters_table(pop, cols))
            writers["diagnoses"].write(diagnoses)
            writers["activities"].write(tables.activities_table(pop, cols, result))
            writers["observations"].write(tables.observations_table(pop, cols, result))
            writers["prom_responses"].write(tables.prom_responses_table(pop, cols))
            if on_progress is not None:
                on_progress(first + n)

        ledger_rng = np.random.Generator(
            np.random.PCG64(np.random.SeedSequence(seed, spawn_key=(1,)))
        )
        writers["ledger"].write(ledger.table(ledger_rng, tables.schema("ledger")))
    finally:
        for writer in writers.values():
            writer.close()

    manifest = _manifest(
        seed,
        patients,
        file_format,
        writers,
        fault_counts,
        children,
        open_at_cutoff,
        cohort,
        ledger.direct_cost(),
    )
    (out_dir / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    return manifest


def _manifest(
    seed: int,
    patients: int,
    file_format: str,
    writers: dict[str, FeedWriter],
    fault_counts: dict[tuple[str, str], int],
    children: dict[str, dict[str, int]],
    open_at_cutoff: dict[str, int],
    cohort: dict[str, int],
    direct_cost: float,
) -> dict:
    faults: dict[str, dict[str, dict]] = {feed: {} for feed in feeds.FEED_ORDER}
    quarantined = dict.fromkeys(feeds.FEED_ORDER, 0)
    flagged = dict.fromkeys(feeds.FEED_ORDER, 0)
    for f in FAULTS:
        count = fault_counts[(f.feed, f.name)]
        faults[f.feed][f.name] = {
            "rows": count,
            "handling": f.handling,
            "column": f.column,
            "rate": f.rate,
            "among": f.candidates,
            "description": f.description,
        }
        (quarantined if f.handling == "quarantine" else flagged)[f.feed] += count
    rows = {feed: writers[feed].rows for feed in feeds.FEED_ORDER}
    return {
        "generator": "carevalue.synthetic.generate_trust",
        "carevalue_version": carevalue.__version__,
        "seed": seed,
        "patients": patients,
        "file_format": file_format,
        "chunk_size": CHUNK_SIZE,
        "period": {"start": PERIOD_START_DATE.isoformat(), "end": DATA_CUTOFF_DATE.isoformat()},
        "data_cutoff": DATA_CUTOFF_DATE.isoformat(),
        "sites": ["North", "South"],
        "files": {feed: writers[feed].path.name for feed in feeds.FEED_ORDER},
        "rows": rows,
        "faults": faults,
        "quarantine_expected": quarantined,
        "flagged_expected": flagged,
        "loaded_expected": {feed: rows[feed] - quarantined[feed] for feed in feeds.FEED_ORDER},
        "children_of_quarantined_rows": children,
        "open_at_cutoff": open_at_cutoff,
        "cohort_patients": cohort,
        "cohort_shares": {SOURCES[k]: v for k, v in PATHWAY_SHARES.items()},
        "truths": truths.as_manifest(),
        "costs": {
            "price_base": "2023/24 (approximate)",
            "reference_file": unit_costs.REFERENCE_FILE,
            "uplift_to_2023_24": unit_costs.UPLIFT_TO_2023_24,
            "activity_direct_cost_gbp": round(direct_cost, 2),
            "ledger_line_noise": LINE_NOISE,
            "overhead_share_of_direct_cost": OVERHEAD_SHARE,
        },
        "background_source": SOURCES[BACKGROUND],
    }
