"""A real trust's first extract: its own codes load through the standard NHS codes and an
optional mapping file, a mistyped mapping is refused plainly, a feed that would be mostly
quarantined stops the load before anything changes, and ``carevalue profile`` drafts the
mapping."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from conftest import TEST_KEY, TINY, write_extract, write_feed
from rich.console import Console

from carevalue.errors import UserError
from carevalue.outcomes import scores
from carevalue.sources.extract_mapping import read_mapping
from carevalue.sources.feeds import FEEDS
from carevalue.sources.ingest import ingest_extract
from carevalue.sources.profile_extract import draft_mapping, profile_extract
from carevalue.warehouse import connect

SEXES = ["F", "M", "1", "2", "9", "X", "0", "U", "f", " m "]
LOADS_AS = [
    "female",
    "male",
    "male",
    "female",
    "other",
    "unknown",
    "unknown",
    "unknown",
    "female",
    "male",
]


def load(folder: Path, con=None, **options):
    con = con or connect("duckdb://:memory:")
    return con, ingest_extract(folder, con, key=TEST_KEY, console=Console(quiet=True), **options)


def trust_patients(sexes: list[str]) -> list[dict]:
    base = TINY["patients"][2]
    return [
        {**base, "patient_id": f"P{i}", "nhs_number": "", "sex": s} for i, s in enumerate(sexes)
    ]


def trust_extract(folder: Path, sexes=SEXES, proms=None) -> Path:
    proms = proms or [
        {
            **TINY["prom_responses"][0],
            "response_id": f"R{i}",
            "patient_id": "P0",
            "items": profile,
            "mode": mode,
        }
        for i, (profile, mode) in enumerate(
            [("52155", "web"), ("11111", "Post"), ("12345", "phone")]
        )
    ]
    return write_extract(folder, {"patients": trust_patients(sexes), "prom_responses": proms})


def test_nhs_sex_codes_eq5d_profiles_and_mode_synonyms_load_without_a_mapping(tmp_path):
    con, report = load(trust_extract(tmp_path / "x"))
    assert all(f.rows_quarantined == 0 for f in report.feeds), report.feeds
    patients = con.table("patients").order_by("_row").execute()
    assert list(patients["sex"]) == LOADS_AS
    proms = con.table("prom_responses").order_by("_row").execute()
    assert list(proms["mode"]) == ["online", "paper", "telephone"]
    items = [json.loads(v) for v in proms["items"]]
    assert items[0] == {"MO": 5, "SC": 2, "UA": 1, "PD": 5, "AD": 5}
    # The object is what scoring reads: the England value set scores the expanded profile.
    state = "".join(str(items[0][d]) for d in ("MO", "SC", "UA", "PD", "AD"))
    assert scores.eq5d5l_index(state) == scores.eq5d5l_index("52155")


def test_an_impossible_profile_and_an_unknown_code_are_quarantined_as_written(tmp_path):
    proms = [{**TINY["prom_responses"][0], "items": "62155", "mode": "pigeon"}]
    folder = trust_extract(tmp_path / "x", sexes=["W", "F"], proms=proms)
    con, report = load(folder)
    reasons = sorted(con.table("quarantine").execute()["reason"])
    assert reasons == [
        "patients.csv row 2: sex 'W' is not one of female, male, other, unknown",
        "prom_responses.csv row 2: items '62155' is not a JSON object",
        "prom_responses.csv row 2: mode 'pigeon' is not one of paper, online, telephone, "
        "clinician, app",
    ]
    assert report.reconciles


MAPPING = """\
patients:
  file: PAT.csv
  columns:
    gender: sex
    dob: birth_date
  values:
    sex: {W: female, H: male, "01": other}
  date_format: dd/mm/yyyy
encounters:
  values:
    admission_method: {"11": emergency}
"""


def test_a_mapping_file_renames_columns_maps_codes_and_reads_day_first_dates(tmp_path):
    folder = trust_extract(tmp_path / "x")
    (folder / "patients.csv").unlink()
    rows = [
        {"patient_id": "P1", "gender": "W", "dob": "1/2/1950", "death_date": "31/12/2020"},
        {"patient_id": "P2", "gender": "h", "dob": "15/06/1962", "death_date": ""},
        {"patient_id": "P3", "gender": "01", "dob": "15/06/1962", "death_date": ""},
        {"patient_id": "P4", "gender": "F", "dob": "30/02/1962", "death_date": ""},
    ]
    rows = [{**r, "ethnicity": "A", "imd_decile": "5"} for r in rows]
    write_feed(folder, "PAT", rows)
    (folder / "mapping.yaml").write_text(MAPPING)
    encounters = [{**r, "admission_method": "11"} for r in TINY["encounters"]]
    write_feed(folder, "encounters", encounters)
    con, _report = load(folder)
    patients = con.table("patients").order_by("_row").execute()
    assert list(patients["sex"]) == ["female", "male", "other"]
    assert [str(d.date()) for d in patients["birth_date"]] == [
        "1950-02-01",
        "1962-06-15",
        "1962-06-15",
    ]
    assert str(patients["death_date"][0].date()) == "2020-12-31"
    # The trust's own value overrides the standard code (11 is elective in the NHS list).
    assert set(con.table("encounters").execute()["admission_method"]) == {"emergency"}
    quarantine = con.table("quarantine").execute()
    assert list(quarantine["reason"]) == [
        "PAT.csv row 5: birth_date '30/02/1962' is not a date (expected YYYY-MM-DD)"
    ]
    assert '"sex": "F"' in quarantine["raw_row"][0]  # the row as the trust wrote it


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "patient:\n  values: {sex: {W: female}}\n",
            (
                "line 1: 'patient' is not a feed; the feeds are patients, encounters, diagnoses, "
                "activities, observations, prom_responses, ledger."
            ),
        ),
        (
            "patients:\n  values:\n    gender: {W: female}\n",
            (
                "line 3: patients has no field 'gender'; its fields are patient_id, nhs_number, "
                "birth_date, sex, ethnicity, imd_decile, death_date."
            ),
        ),
        (
            "patients:\n  values:\n    sex:\n      W: woman\n",
            "line 4: patients.sex maps 'W' to 'woman', which is not one of female, male, other, "
            "unknown.",
        ),
        (
            "patients:\n  values:\n    sex:\n      W: ~\n",
            "line 4: patients.sex maps 'W' to a blank, but sex may not be blank; map it to a "
            "value.",
        ),
        (
            "patients:\n  columns: {gender: gender}\n",
            (
                "line 2: patients.columns renames 'gender' to 'gender', which is not a column of "
                "patients; "
                "its columns are patient_id, nhs_number, birth_date, sex, ethnicity, imd_decile, "
                "death_date."
            ),
        ),
        (
            "patients:\n  date_format: YYYY/MM/DD\n",
            "line 2: patients.date_format 'YYYY/MM/DD' is not one of YYYY-MM-DD, DD/MM/YYYY, "
            "MM/DD/YYYY.",
        ),
        (
            "patients:\n  values:\n    imd_decile: {X: '1'}\n",
            (
                "line 3: patients.imd_decile holds integer values; value maps apply to coded text "
                "fields (use date_format for dates)."
            ),
        ),
        (
            "patients:\n  colums: {}\n",
            (
                "line 2: patients has no setting 'colums'; a feed's settings are file, columns, "
                "values, "
                "date_format."
            ),
        ),
        (
            "patients:\n  values:\n    sex: !!python/object:os.system {}\n",
            (
                "line 3: the YAML tag '!!python/object:os.system' is not allowed in a mapping "
                "file; "
                "write plain values."
            ),
        ),
        ("patients: [unclosed\n", "line 2: this is not valid YAML"),
    ],
)
def test_a_mistyped_mapping_is_refused_with_its_line(tmp_path, text, message):
    path = tmp_path / "mapping.yaml"
    path.write_text(text)
    with pytest.raises(UserError) as caught:
        read_mapping(path, FEEDS)
    assert str(caught.value).startswith(f"{path} {message}")


def test_a_missing_mapping_file_and_a_missing_mapped_file_are_one_sentence(tmp_path):
    folder = trust_extract(tmp_path / "x")
    with pytest.raises(
        UserError, match=r"The mapping file .*nope.yaml does not exist; check the --mapping path\."
    ):
        load(folder, mapping=tmp_path / "nope.yaml")
    (folder / "mapping.yaml").write_text("patients:\n  file: PAT.csv\n")
    with pytest.raises(UserError) as caught:
        load(folder)
    assert str(caught.value) == (
        f"The mapping file names PAT.csv for the patients feed, but {folder} has no such file; "
        "correct the file name in the mapping."
    )


# --- the guard ----------------------------------------------------------------------


def test_a_feed_mostly_quarantined_stops_the_load_before_anything_changes(tmp_path):
    con, _ = load(write_extract(tmp_path / "good"))
    before = {name: con.table(name).execute() for name in ("patients", "load_log", "quarantine")}
    folder = trust_extract(tmp_path / "x", sexes=["W"] * 24 + ["F"] * 6)
    with pytest.raises(UserError) as caught:
        load(folder, con)
    assert str(caught.value) == (
        "patients.csv: 24 of 30 rows (80%) would be quarantined, more than the 20% allowed, most "
        "for sex 'W' (24 rows), which is not one of female, male, other, unknown: map it in the "
        "extract's mapping.yaml, e.g. 'patients: {values: {sex: {W: female}}}', or run "
        "'carevalue profile' on the extract to draft the mapping; nothing was loaded (to load "
        "anyway, pass --max-quarantined 81)."
    )
    for name, frame in before.items():
        pd.testing.assert_frame_equal(con.table(name).execute(), frame)
    _, report = load(folder, con, max_quarantined=0.81)
    assert next(f for f in report.feeds if f.feed == "patients").rows_quarantined == 24


def test_the_guard_names_day_first_dates_and_how_to_read_them(tmp_path):
    folder = trust_extract(tmp_path / "x", sexes=["F"] * 12)
    rows = [{**r, "birth_date": "15/06/1962"} for r in trust_patients(["F"] * 12)]
    write_feed(folder, "patients", rows)
    with pytest.raises(UserError) as caught:
        load(folder)
    assert (
        "most for birth_date '15/06/1962' (12 rows), written day or month first: add "
        "'date_format: DD/MM/YYYY' (or MM/DD/YYYY) under patients: in the extract's mapping.yaml"
        in str(caught.value)
    )


def test_a_handful_of_bad_rows_in_a_small_feed_is_loaded_not_stopped(tmp_path):
    folder = trust_extract(tmp_path / "x", sexes=["W"] * 9 + ["F"])
    _, report = load(folder)
    assert next(f for f in report.feeds if f.feed == "patients").rows_quarantined == 9


# --- carevalue profile --------------------------------------------------------------


def test_profile_counts_each_coded_value_and_drafts_the_mapping(tmp_path):
    folder = trust_extract(tmp_path / "x", sexes=["W", "W", "F", "fem", "female"])
    rows = [
        {**r, "birth_date": "15/06/1962"} for r in trust_patients(["W", "W", "F", "fem", "female"])
    ]
    write_feed(folder, "patients", rows)
    used, profiles = profile_extract(folder)
    patients = next(p for p in profiles if p.feed.name == "patients")
    sex = {(v.value, v.rows, v.status, v.becomes) for v in patients.fields["sex"]}
    assert sex == {
        ("W", 2, "unknown", None),
        ("F", 1, "standard code", "female"),
        ("fem", 1, "unknown", None),
        ("female", 1, "in the contract", "female"),
    }
    assert patients.rows_bad == 5  # every birth date is day first
    draft = draft_mapping(folder, used, profiles)
    assert '      "W": "?"   # 2 rows; one of female, male, other, unknown' in draft
    assert '      "fem": "female"   # 1 rows; guessed from the spelling; check it' in draft
    assert "  date_format: DD/MM/YYYY" in draft
    # The draft as written refuses to load until each '?' is chosen...
    (folder / "mapping.yaml").write_text(draft)
    with pytest.raises(UserError, match=r"patients.sex maps 'W' to '\?', which is not one of"):
        load(folder)
    # ...and once chosen, every row loads.
    (folder / "mapping.yaml").write_text(draft.replace('"?"', '"female"'))
    _, report = load(folder)
    assert all(f.rows_quarantined == 0 for f in report.feeds)


def test_profile_suggests_renames_for_a_file_refused_for_missing_columns(tmp_path):
    folder = trust_extract(tmp_path / "x")
    rows = [
        {
            "patient_id": "P1",
            "Gender": "F",
            "DOB": "1950-01-01",
            "ethnicity": "",
            "imd_decile": "",
            "death_date": "",
        }
    ]
    write_feed(folder, "patients", rows)
    used, profiles = profile_extract(folder)
    patients = next(p for p in profiles if p.feed.name == "patients")
    assert patients.problem.startswith(
        f"{folder / 'patients.csv'}: required columns 'birth_date', 'sex'"
    )
    assert patients.renames == {"Gender": "sex", "DOB": "birth_date"}
    (folder / "mapping.yaml").write_text(draft_mapping(folder, used, profiles))
    _, report = load(folder, only=["patients"])
    assert report.feeds[0].rows_loaded == 1


@pytest.mark.slow
def test_the_commands_end_in_one_plain_line(tmp_path):
    folder = trust_extract(tmp_path / "x", sexes=["W"] * 24 + ["F"] * 6)
    env = {k: v for k, v in os.environ.items() if not k.startswith("CAREVALUE_")}
    run = [sys.executable, "-m", "carevalue"]
    result = subprocess.run(
        [*run, "ingest", str(folder), "--demo", "--warehouse", str(tmp_path / "w.duckdb")],
        check=False,
        capture_output=True,
        text=True,
        env={**env, "COLUMNS": "300"},
    )
    assert result.returncode == 2
    # The progress bars print above it; the message itself is one line.
    last = result.stderr.strip().splitlines()[-1]
    assert "Traceback" not in result.stderr
    assert last.startswith("error: patients.csv: 24 of 30 rows (80%) would be quarantined")
    assert last.endswith("(to load anyway, pass --max-quarantined 81).")
    result = subprocess.run(
        [*run, "profile", str(folder), "--draft", str(tmp_path / "draft.yaml")],
        check=False,
        capture_output=True,
        text=True,
        env={**env, "COLUMNS": "300"},
    )
    assert result.returncode == 0, result.stderr
    assert (
        "would quarantine 24 for: sex 'W' is not one of female, male, other, unknown"
        in result.stdout
    )
    assert '"W": "?"' in (tmp_path / "draft.yaml").read_text()
    result = subprocess.run(
        [
            *run,
            "ingest",
            str(folder),
            "--demo",
            "--max-quarantined",
            "100",
            "--warehouse",
            str(tmp_path / "w.duckdb"),
        ],
        check=False,
        capture_output=True,
        text=True,
        env={**env, "COLUMNS": "300"},
    )
    assert result.returncode == 0, result.stderr
