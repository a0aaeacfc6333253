"""A fresh clone stands alone: no file points outside the checkout, and every data set and
reference file kept in the repository is the copy its README records (SHA-256)."""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
import sys
import tomllib
from fnmatch import fnmatch
from pathlib import Path

import pytest
from conftest import write_extract

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


# ---------------------------------------------------------------------------------------
# The shipped condition packs and costing rules travel with the package
# ---------------------------------------------------------------------------------------


def _package_data_patterns() -> list[str]:
    with (ROOT / "pyproject.toml").open("rb") as handle:
        return tomllib.load(handle)["tool"]["setuptools"]["package-data"]["carevalue"]


def test_every_data_file_in_the_package_is_declared_as_package_data():
    # What the wheel will hold: setuptools copies only the files these patterns match.
    package = ROOT / "src" / "carevalue"
    patterns = _package_data_patterns()
    data_files = [
        path.relative_to(package).as_posix()
        for path in package.rglob("*")
        if path.is_file() and path.suffix not in {".py", ".pyc"}
    ]
    assert any(name.startswith("conditions/") for name in data_files)
    undeclared = [
        name for name in data_files if not any(fnmatch(name, pattern) for pattern in patterns)
    ]
    assert undeclared == [], (
        f"not in pyproject's package-data, so missing from a wheel: {undeclared}"
    )


def test_the_shipped_packs_are_found_inside_the_installed_package():
    import carevalue
    from carevalue.conditions import shipped_conditions
    from carevalue.packs import load_packs

    folder = shipped_conditions()
    assert folder == Path(carevalue.__file__).parent / "conditions"
    assert [pack.id for pack in load_packs(folder)] == [
        "hepatitis_c",
        "infective_endocarditis",
        "stroke",
    ]


def test_costing_rules_synthetic_names_the_shipped_rules_and_anything_else_is_a_path(tmp_path):
    from carevalue.costing.plics_rules import load_costing_rules
    from carevalue.costing.shipped_rules import costing_rules_file
    from carevalue.errors import UserError

    shipped = costing_rules_file("synthetic")
    assert shipped.is_file()
    assert shipped.parent.parent.name == "costing"
    assert load_costing_rules("synthetic") == load_costing_rules(shipped)
    assert costing_rules_file(tmp_path / "ours.yaml") == tmp_path / "ours.yaml"
    with pytest.raises(UserError, match="Cannot read the costing rules synthetik"):
        load_costing_rules("synthetik")


def _carevalue(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("CAREVALUE_")}
    environment.update({"CAREVALUE_PSEUDONYMISATION_KEY": "a-test-key-of-at-least-32-characters!"})
    environment["COLUMNS"] = "200"
    return subprocess.run(
        [sys.executable, "-m", "carevalue", *args],
        check=False,
        capture_output=True,
        text=True,
        env=environment,
        cwd=cwd,
        timeout=600,
    )


@pytest.mark.slow
def test_validate_and_run_from_a_folder_outside_the_checkout_find_the_shipped_packs(tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    assert ROOT not in elsewhere.parents and not (elsewhere / "conditions").exists()

    validated = _carevalue("validate", cwd=elsewhere)
    assert validated.returncode == 0, validated.stderr
    assert (
        "3 condition packs valid: hepatitis_c, infective_endocarditis, stroke." in validated.stdout
    )

    write_extract(elsewhere / "extract")
    ingested = _carevalue("ingest", "extract", "--warehouse", "w.duckdb", cwd=elsewhere)
    assert ingested.returncode == 0, ingested.stderr
    ran = _carevalue("run", "--warehouse", "w.duckdb", cwd=elsewhere)
    assert ran.returncode == 0, ran.stderr
    assert "no such file or folder" not in ran.stderr
    for condition in ("hepatitis_c", "infective_endocarditis", "stroke"):
        assert re.search(rf"│ {condition} +│ +1 │", ran.stdout), (condition, ran.stdout)
