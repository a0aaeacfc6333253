"""Costing rules that ship with CareValue, named so a user need not know where the package
is installed: ``--costing-rules synthetic`` is the synthetic trust's rules file.

A trust passes the path of its own rules file instead; any value that is not a shipped
name is read as a path.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

# Shipped name -> file in carevalue/costing/rules/.
SHIPPED_RULES = {"synthetic": "synthetic_trust_rules.yaml"}


def costing_rules_file(name_or_path: Path | str) -> Path:
    """The rules file a ``--costing-rules`` value names: a shipped name or a path."""
    name = str(name_or_path)
    if name in SHIPPED_RULES:
        return Path(str(resources.files("carevalue.costing") / "rules" / SHIPPED_RULES[name]))
    return Path(name_or_path)
