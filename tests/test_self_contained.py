"""A fresh clone stands alone: no file points outside the checkout, and every data set and
reference file kept in the repository is the copy its README records (SHA-256)."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# Built from pieces so that this file does not match its own search.
OUTSIDE = [".." + "/shared", "parents" + "[2]", "/work" + "/shared"]
SEARCHED = ["src", "tests", "docs", "examples", "README.md", "ARCHITECTURE.md", "Makefile"]
TEXT_SUFFIXES = {".py", ".md", ".yaml", ".csv", ".toml", ".json", ""}
CHECKSUMMED = [
    ROOT / "tests" / "data",
    ROOT / "src" / "carevalue" / "synthetic" / "reference",
    ROOT / "docs" / "reference",
]
CHECKSUM_LINE = re.compile(r"^([0-9a-f]{64})  (\S+)$", re.MULTILINE)


def _text_files():
    for name in SEARCHED:
        path = ROOT / name
        for file in [path] if path.is_file() else sorted(path.rglob("*")):
            parts = file.relative_to(ROOT).parts
            generated = any(part.endswith(".egg-info") or part.startswith(".") for part in parts)
            if file.is_file() and not generated and file.suffix in TEXT_SUFFIXES:
                yield file


def test_no_file_points_outside_the_checkout():
    hits = [
        f"{file.relative_to(ROOT)}:{number}"
        for file in _text_files()
        for number, line in enumerate(file.read_text(errors="replace").splitlines(), 1)
        if any(pattern in line for pattern in OUTSIDE)
    ]
    assert hits == [], f"these lines point outside the checkout: {hits}"


@pytest.mark.parametrize("folder", CHECKSUMMED, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_kept_file_matches_the_checksum_in_its_readme(folder):
    readme = folder / "README.md"
    assert readme.is_file(), f"{readme} is missing: each kept data folder cites its files there"
    recorded = {name: digest for digest, name in CHECKSUM_LINE.findall(readme.read_text())}
    kept = sorted(p.name for p in folder.iterdir() if p.is_file() and p.name != "README.md")
    missing = sorted(set(recorded) - set(kept))
    assert missing == [], f"{readme} records files that are missing from {folder}: {missing}"
    unrecorded = sorted(set(kept) - set(recorded))
    assert unrecorded == [], f"{readme} records no SHA-256 for {unrecorded}"
    for name in kept:
        digest = hashlib.sha256((folder / name).read_bytes()).hexdigest()
        assert digest == recorded[name], f"{folder / name} differs from the copy {readme} records"


def test_the_synthetic_trust_prices_its_activity_from_the_packaged_unit_costs():
    from carevalue.synthetic import unit_costs

    assert unit_costs.STROKE_UNIT_BED_DAY.value_gbp == 238
    assert unit_costs.STROKE_UNIT_BED_DAY.source == "NHS reference costs 2013/14"
    assert unit_costs.LEDIPASVIR_SOFOSBUVIR_COURSE.uplifted == 38979.99
    with pytest.raises(KeyError, match="has no row for 'a bed on the moon'"):
        unit_costs.reference_cost("a bed on the moon")
