"""The scores' published reference tables (``carevalue/outcomes/reference/*.csv``, cited
in its ``README.md``), read from the installed package.

Each family caches the tables it uses, so a file is read once, the first time it is needed.
"""

from __future__ import annotations

import csv
import io
from importlib import resources


def read_reference(name: str) -> list[dict[str, str]]:
    table = resources.files("carevalue.outcomes").joinpath("reference").joinpath(name)
    text = table.read_text(encoding="utf-8-sig")
    return [
        {key.strip(): cell.strip() for key, cell in row.items()}
        for row in csv.DictReader(io.StringIO(text, newline=""))
    ]
