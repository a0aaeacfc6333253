"""The condition packs CareValue ships: stroke, infective endocarditis and hepatitis C.

Each folder here is one pack (``pack.yaml``, ``codelists/*.csv``, ``tests/*.yaml``,
``process_maps/*.yaml``), installed with the package as data, so that ``carevalue run``,
``validate`` and ``assure`` find them from any folder. A trust keeps its own packs in a folder
of its own and passes it with ``--conditions DIR``; see docs/condition-packs.md.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path


def shipped_conditions() -> Path:
    """The folder holding the shipped condition packs, wherever CareValue is installed."""
    # Installed wheels and editable installs both put the package on disk, so the resource
    # folder is a real directory the pack loader can walk (and report file:line in).
    return Path(str(resources.files(__name__)))
