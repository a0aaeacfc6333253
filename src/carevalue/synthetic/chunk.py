"""The rows of one chunk of patients, held as numpy columns until they are written.

Pathway modules add rows one at a time through a :class:`PathwayRecorder`; the background
module adds whole numpy blocks. Codes are small integers into the vocabularies of
:mod:`carevalue.synthetic.codes` and :mod:`carevalue.synthetic.catalogue`; times are int64
seconds (see :mod:`carevalue.synthetic.timeline`). Encounters get a provisional integer key
here and their written identifier only when the chunk is sorted.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from carevalue.synthetic.timeline import NAT

# Which part of the generator made a row: faults are injected into background rows only, so
# the pathway truths stay clean.
BACKGROUND, STROKE, ENDOCARDITIS, HEPATITIS_C = 0, 1, 2, 3
SOURCES = ("background", "stroke", "endocarditis", "hepatitis_c")

NAN = float("nan")

# Internal columns of each feed: name -> (dtype, value meaning "none").
COLUMNS: dict[str, dict[str, tuple[str, object]]] = {
    "encounters": {
        "key": ("int64", -1),
        "patient": ("int64", -1),
        "setting": ("int8", -1),
        "admission_method": ("int8", -1),
        "start": ("int64", NAT),
        "end": ("int64", NAT),
        "site": ("int8", -1),
        "specialty": ("int8", -1),
        "discharge": ("int8", -1),
        "source": ("int8", 0),
    },
    "activities": {
        "patient": ("int64", -1),
        "encounter": ("int64", -1),
        "item": ("int16", -1),
        "start": ("int64", NAT),
        "end": ("int64", NAT),
        "minutes": ("float64", NAN),
        "quantity": ("float64", NAN),
        "staff_present": ("int16", -1),
        "source": ("int8", 0),
    },
    "diagnoses": {
        "encounter": ("int64", -1),
        "patient": ("int64", -1),
        "code": ("int16", -1),
        "position": ("int16", -1),
        "recorded_at": ("int64", NAT),
        "site": ("int8", -1),
        "source": ("int8", 0),
    },
    "observations": {
        "patient": ("int64", -1),
        "encounter": ("int64", -1),
        "observed_at": ("int64", NAT),
        "code": ("int16", -1),
        "value_num": ("float64", NAN),
        "value_text": ("int16", -1),
        "source": ("int8", 0),
    },
    "prom_responses": {
        "patient": ("int64", -1),
        "instrument": ("int8", -1),
        "collected_at": ("int64", NAT),
        "items": ("object", None),
        "mode": ("int8", -1),
    },
}


class ChunkRows:
    """Collects the rows of one chunk, from Python loops and from numpy blocks."""

    def __init__(self) -> None:
        self._rows: dict[str, list[tuple]] = {feed: [] for feed in COLUMNS}
        self._blocks: dict[str, list[dict[str, np.ndarray]]] = {feed: [] for feed in COLUMNS}
        self._next_key = 0

    def allocate_encounter_keys(self, n: int) -> np.ndarray:
        keys = np.arange(self._next_key, self._next_key + n, dtype=np.int64)
        self._next_key += n
        return keys

    def new_encounter_key(self) -> int:
        self._next_key += 1
        return self._next_key - 1

    def add_row(self, feed: str, row: tuple) -> None:
        self._rows[feed].append(row)

    def add_block(self, feed: str, block: dict[str, np.ndarray]) -> None:
        """Add many rows at once; columns left out take their "none" value."""
        self._blocks[feed].append(block)

    def recorder(self, source: int) -> PathwayRecorder:
        return PathwayRecorder(self, source)

    def to_columns(self) -> ChunkColumns:
        out: dict[str, dict[str, np.ndarray]] = {}
        for feed, spec in COLUMNS.items():
            pieces: list[dict[str, np.ndarray]] = []
            rows = self._rows[feed]
            if rows:
                transposed = list(zip(*rows))
                pieces.append(
                    {
                        name: np.array(values, dtype=spec[name][0])
                        for name, values in zip(spec, transposed)
                    }
                )
            pieces.extend(self._blocks[feed])
            columns = {}
            for name, (dtype, none) in spec.items():
                parts = []
                for piece in pieces:
                    n = len(next(iter(piece.values())))
                    if name in piece:
                        parts.append(np.asarray(piece[name]).astype(dtype, copy=False))
                    else:
                        parts.append(np.full(n, none, dtype=dtype))
                columns[name] = np.concatenate(parts) if parts else np.empty(0, dtype=dtype)
            out[feed] = columns
        return ChunkColumns(out)


@dataclass
class ChunkColumns:
    """A chunk's rows as numpy columns, feed by feed."""

    feeds: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)

    def __getitem__(self, feed: str) -> dict[str, np.ndarray]:
        return self.feeds[feed]

    def length(self, feed: str) -> int:
        return len(next(iter(self.feeds[feed].values())))

    def keep(self, feed: str, mask: np.ndarray) -> None:
        self.feeds[feed] = {k: v[mask] for k, v in self.feeds[feed].items()}

    def take(self, feed: str, order: np.ndarray) -> None:
        self.feeds[feed] = {k: v[order] for k, v in self.feeds[feed].items()}


class PathwayRecorder:
    """Adds one pathway patient's rows, stamped with the pathway they came from."""

    __slots__ = ("_rows", "_source")

    def __init__(self, rows: ChunkRows, source: int) -> None:
        self._rows = rows
        self._source = source

    def encounter(
        self,
        patient: int,
        setting: int,
        start: int,
        end: int,
        site: int,
        specialty: int,
        admission_method: int = -1,
        discharge: int = -1,
    ) -> int:
        key = self._rows.new_encounter_key()
        self._rows.add_row(
            "encounters",
            (
                key,
                patient,
                setting,
                admission_method,
                start,
                end,
                site,
                specialty,
                discharge,
                self._source,
            ),
        )
        return key

    def activity(
        self,
        patient: int,
        encounter: int,
        item: int,
        start: int,
        end: int = NAT,
        minutes: float = NAN,
        quantity: float = 1.0,
        staff_present: int = -1,
    ) -> None:
        self._rows.add_row(
            "activities",
            (patient, encounter, item, start, end, minutes, quantity, staff_present, self._source),
        )

    def diagnosis(
        self, encounter: int, patient: int, code: int, position: int, recorded_at: int, site: int
    ) -> None:
        self._rows.add_row(
            "diagnoses", (encounter, patient, code, position, recorded_at, site, self._source)
        )

    def observation(
        self,
        patient: int,
        encounter: int,
        observed_at: int,
        code: int,
        value_num: float = NAN,
        value_text: int = -1,
    ) -> None:
        self._rows.add_row(
            "observations",
            (patient, encounter, observed_at, code, value_num, value_text, self._source),
        )

    def prom(self, patient: int, instrument: int, collected_at: int, items: str, mode: int) -> None:
        self._rows.add_row("prom_responses", (patient, instrument, collected_at, items, mode))
