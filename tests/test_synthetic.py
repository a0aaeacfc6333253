"""Tests of the synthetic trust generator (carevalue.synthetic).

One 20,000-patient CSV trust is generated once per module and checked for contract,
faults, plausibility and ledger consistency; small trusts check determinism, formats and
arguments.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from carevalue.sources import feeds
from carevalue.synthetic import nhs_numbers
from carevalue.synthetic.catalogue import catalogue_frame, cost_written_activities
from carevalue.synthetic.codes import DIAGNOSIS_CODES
from carevalue.synthetic.generate_trust import CHUNK_SIZE, generate_trust
from carevalue.synthetic.plausibility import check_plausibility, read_feed
from carevalue.synthetic.tables import EXTRA_COLUMNS, schema

CUTOFF = pd.Timestamp("2024-04-01")


@pytest.fixture(scope="module")
def trust(tmp_path_factory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("trust")
    manifest = generate_trust(out, 20_000, 42)
    return out, manifest


@pytest.fixture(scope="module")
def frames(trust) -> dict[str, pd.DataFrame]:
    out, _ = trust
    return {feed: read_feed(out, feed) for feed in feeds.FEED_ORDER}


def _ts(series: pd.Series) -> pd.Series:
    return pd.to_datetime(series, format="%Y-%m-%dT%H:%M:%S", errors="coerce")


def _dates(series: pd.Series) -> pd.Series:
    return pd.to_datetime(series, format="%Y-%m-%d", errors="coerce")


def _fault(manifest: dict, feed: str, name: str) -> int:
    return manifest["faults"][feed][name]["rows"]


# --- Determinism ----------------------------------------------------------------------------


def test_same_seed_gives_byte_identical_files_and_another_seed_differs(tmp_path):
    n = CHUNK_SIZE + 500  # crosses a chunk boundary
    a, b, c = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    generate_trust(a, n, 7)
    generate_trust(b, n, 7)
    generate_trust(c, n, 8)
    names = sorted(p.name for p in a.iterdir())
    assert names == sorted(p.name for p in b.iterdir())
    assert len(names) == 8
    for name in names:
        assert (a / name).read_bytes() == (b / name).read_bytes(), name
    assert (a / "patients.csv").read_bytes() != (c / "patients.csv").read_bytes()
    assert (a / "activities.csv").read_bytes() != (c / "activities.csv").read_bytes()


def test_progress_is_reported_after_each_chunk(tmp_path):
    seen: list[int] = []
    generate_trust(tmp_path, CHUNK_SIZE + 10, 1, on_progress=seen.append)
    assert seen == [CHUNK_SIZE, CHUNK_SIZE + 10]


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"patients": 0}, "at least 1"),
        ({"patients": -5}, "at least 1"),
        ({"patients": 10, "file_format": "xlsx"}, "Unknown file format"),
        ({"patients": 2.5}, "whole number"),
        ({"patients": 10, "seed": -1}, "seed"),
    ],
)
def test_bad_arguments_raise_a_plain_sentence(tmp_path, kwargs, message):
    args = {"seed": 1, **kwargs}
    with pytest.raises(ValueError, match=message):
        generate_trust(tmp_path, **args)


def test_parquet_and_csv_hold_the_same_rows(tmp_path):
    generate_trust(tmp_path / "csv", 2_000, 3, "csv")
    manifest = generate_trust(tmp_path / "pq", 2_000, 3, "parquet")
    assert manifest["files"]["activities"] == "activities.parquet"
    for feed in feeds.FEED_ORDER:
        from_csv = read_feed(tmp_path / "csv", feed)
        from_parquet = read_feed(tmp_path / "pq", feed)
        assert list(from_csv.columns) == list(from_parquet.columns)
        assert len(from_csv) == len(from_parquet) == manifest["rows"][feed]
        for field in schema(feed):
            left, right = from_csv[field.name], from_parquet[field.name]
            if str(field.type) in ("int64", "double"):
                np.testing.assert_allclose(
                    pd.to_numeric(left).to_numpy(dtype=float),
                    pd.to_numeric(right).to_numpy(dtype=float),
                    err_msg=f"{feed}.{field.name}",
                )
            else:
                assert left.fillna("<null>").tolist() == right.fillna("<null>").tolist(), (
                    f"{feed}.{field.name}"
                )


# --- The contract ---------------------------------------------------------------------------


def test_every_file_has_exactly_the_feed_columns_plus_documented_extras(trust):
    out, manifest = trust
    for feed in feeds.FEED_ORDER:
        header = (out / manifest["files"][feed]).open().readline().strip()
        columns = [c.strip('"') for c in header.split(",")]
        extras = [name for name, _, _ in EXTRA_COLUMNS.get(feed, ())]
        assert columns == list(feeds.FEEDS[feed].column_names) + extras, feed


def test_allowed_values_and_ranges_hold_apart_from_injected_faults(trust, frames):
    _, manifest = trust
    expected_bad = {
        ("patients", "sex"): _fault(manifest, "patients", "invalid_sex"),
        ("patients", "imd_decile"): _fault(manifest, "patients", "invalid_imd_decile"),
    }
    for feed_name, frame in frames.items():
        feed = feeds.FEEDS[feed_name]
        for column in feed.columns:
            values = frame[column.name]
            if not column.nullable:
                assert values.notna().all(), f"{feed_name}.{column.name} has blanks"
            present = values.dropna()
            bad = 0
            if column.allowed is not None:
                bad += int((~present.isin(column.allowed)).sum())
            if column.minimum is not None or column.maximum is not None:
                numbers = pd.to_numeric(present)
                if column.minimum is not None:
                    bad += int((numbers < column.minimum).sum())
                if column.maximum is not None:
                    bad += int((numbers > column.maximum).sum())
            if column.pattern is not None:
                bad += int((~present.str.fullmatch(column.pattern)).sum())
            assert bad == expected_bad.get((feed_name, column.name), 0), (
                f"{feed_name}.{column.name}"
            )


def test_timestamps_and_dates_are_iso_and_within_the_period(trust, frames):
    _, manifest = trust
    impossible = _fault(manifest, "activities", "impossible_date")
    for feed_name, frame in frames.items():
        for column in feeds.FEEDS[feed_name].columns:
            if column.type not in ("timestamp", "date"):
                continue
            present = frame[column.name].dropna()
            parsed = _ts(present) if column.type == "timestamp" else _dates(present)
            unparsed = int(parsed.isna().sum())
            expected = impossible if (feed_name, column.name) == ("activities", "start_at") else 0
            assert unparsed == expected, f"{feed_name}.{column.name}"
            if column.type == "timestamp":
                assert (parsed.dropna() < CUTOFF).all(), f"{feed_name}.{column.name}"
                assert (parsed.dropna() >= pd.Timestamp("2019-03-31")).all()
    month13 = frames["activities"]["start_at"].str.slice(5, 7) == "13"
    assert int(month13.sum()) == impossible


def test_keys_are_unique_apart_from_duplicated_rows(trust, frames):
    _, manifest = trust
    for feed_name, frame in frames.items():
        key = list(feeds.FEEDS[feed_name].key)
        repeats = int(frame.duplicated(key).sum())
        duplicates = manifest["faults"][feed_name].get("duplicate_row", {"rows": 0})["rows"]
        assert repeats == duplicates, feed_name
        # Duplicates are exact copies, so whole rows repeat as often as keys.
        assert int(frame.duplicated().sum()) == duplicates, feed_name


def test_nhs_numbers_are_unique_valid_test_range_numbers(frames):
    numbers = frames["patients"]["nhs_number"].dropna()
    assert 0.97 < len(numbers) / len(frames["patients"]) < 1.0  # about 1% not recorded
    assert numbers.is_unique
    assert numbers.str.fullmatch(r"999\d{7}").all()
    assert all(nhs_numbers.is_valid(n) for n in numbers)


def test_modulus_11_check_digit_matches_a_worked_example():
    # 943 476 5919: 9*10+4*9+3*8+4*7+7*6+6*5+5*4+9*3+1*2 = 299; 299 mod 11 = 2; 11-2 = 9.
    assert nhs_numbers.is_valid("9434765919")
    assert not nhs_numbers.is_valid("9434765910")
    assert nhs_numbers.check_digit(np.array([943476591]))[0] == 9


# --- Faults, exactly counted ---------------------------------------------------------------


def test_fault_counts_in_the_manifest_match_the_files(trust, frames):
    _, manifest = trust
    pat, enc, dx, act = (frames[f] for f in ("patients", "encounters", "diagnoses", "activities"))

    assert int(pat["sex"].isin(["mael", "femlae"]).sum()) == _fault(
        manifest, "patients", "invalid_sex"
    )
    assert int((pd.to_numeric(pat["imd_decile"]) == 11).sum()) == _fault(
        manifest, "patients", "invalid_imd_decile"
    )
    assert int((_dates(pat["death_date"]) < _dates(pat["birth_date"])).sum()) == _fault(
        manifest, "patients", "death_before_birth"
    )

    blank_end = int(enc["end_at"].isna().sum())
    assert blank_end == (
        _fault(manifest, "encounters", "missing_discharge")
        + manifest["open_at_cutoff"]["encounters"]
    )
    # A missing discharge keeps its destination; an encounter open at the cut-off has none.
    missing = (
        enc["end_at"].isna()
        & enc["discharge_destination"].notna()
        & (enc["setting"] == "inpatient")
    )
    assert int(missing.sum()) == _fault(manifest, "encounters", "missing_discharge")
    assert int((_ts(enc["end_at"]) < _ts(enc["start_at"])).sum()) == _fault(
        manifest, "encounters", "end_before_start"
    )

    known = set(DIAGNOSIS_CODES)
    undotted = dx[(dx["code_system"] == "ICD10") & ~dx["code"].isin(known)]
    assert len(undotted) == _fault(manifest, "diagnoses", "undotted_icd10")
    sites = dx.merge(enc[["encounter_id", "site"]], on="encounter_id", how="left")["site"]
    assert set(sites[~dx["code"].isin(known)].dropna()) == {"South"}

    with_encounter = act["encounter_id"].notna()
    orphans = with_encounter & ~act["encounter_id"].isin(enc["encounter_id"])
    assert int(orphans.sum()) == _fault(manifest, "activities", "orphan_encounter")
    for feed in ("patients", "encounters", "activities", "observations"):
        for name, fault in manifest["faults"][feed].items():
            assert fault["rows"] >= 1, f"{feed}.{name} was not injected"


def test_rows_read_equal_rows_loaded_plus_rows_quarantined(trust, frames):
    """Apply the contract's rules as ingest will, and reconcile with the manifest."""
    _, manifest = trust
    for feed_name, frame in frames.items():
        feed = feeds.FEEDS[feed_name]
        invalid = pd.Series(False, index=frame.index)
        for column in feed.columns:
            values = frame[column.name]
            present = values.notna()
            if column.allowed is not None:
                invalid |= present & ~values.isin(column.allowed)
            if column.maximum is not None:
                invalid |= present & (pd.to_numeric(values, errors="coerce") > column.maximum)
            if column.type == "timestamp":
                invalid |= present & _ts(values).isna()
            if column.type == "date":
                invalid |= present & _dates(values).isna()
        for rule in feed.row_rules:
            parse = _dates if feed.column(rule.earlier).type == "date" else _ts
            invalid |= parse(frame[rule.later]) < parse(frame[rule.earlier])
        invalid |= frame.duplicated(list(feed.key))
        read = len(frame)
        assert read == manifest["rows"][feed_name]
        assert int(invalid.sum()) == manifest["quarantine_expected"][feed_name], feed_name
        assert read - int(invalid.sum()) == manifest["loaded_expected"][feed_name]


def test_faults_stay_out_of_pathway_patients(frames):
    pat, enc, dx, act = (frames[f] for f in ("patients", "encounters", "diagnoses", "activities"))
    pathway_codes = ("I61", "I63", "I330", "I38", "I398", "B182")
    plain = dx["code"].str.replace(".", "", regex=False)
    pathway_patients = set(dx.loc[plain.str.startswith(pathway_codes), "patient_id"])
    faulty = set(pat.loc[pat["sex"].isin(["mael", "femlae"]), "patient_id"])
    faulty |= set(act.loc[act["start_at"].str.slice(5, 7) == "13", "patient_id"])
    faulty |= set(act.loc[act.duplicated(), "patient_id"])
    faulty |= set(enc.loc[_ts(enc["end_at"]) < _ts(enc["start_at"]), "patient_id"])
    assert not faulty & pathway_patients


# --- Plausibility ---------------------------------------------------------------------------


def test_pathways_fall_within_the_documented_ranges(trust):
    out, manifest = trust
    p = check_plausibility(out)
    stroke, ie, hcv = p["stroke"], p["endocarditis"], p["hepatitis_c"]
    assert manifest["cohort_patients"]["stroke"] == stroke["patients"]
    assert 0.07 <= stroke["mortality_30d"] <= 0.16
    assert 0.12 <= stroke["mortality_90d"] <= 0.22
    assert stroke["mortality_30d"] < stroke["mortality_90d"]
    assert 6.0 <= stroke["acute_los_median_days"] <= 11.0
    assert stroke["acute_los_p90_days"] > 2 * stroke["acute_los_median_days"]  # long tail
    assert 0.08 <= stroke["thrombolysis_share_of_ischaemic"] <= 0.17
    dtn = stroke["door_to_needle_median_minutes"]
    assert 35 <= dtn["North"] < dtn["South"] <= 75
    assert 8_000 <= stroke["episode_cost_12m_mean_gbp"] <= 25_000
    assert 0.55 <= stroke["prom_90d_response"] <= 0.75

    assert manifest["cohort_patients"]["endocarditis"] == ie["patients"]
    assert 0.2 <= ie["transfer_share"] <= 0.4
    assert 0.35 <= ie["surgery_share"] <= 0.55
    assert 0.10 <= ie["in_hospital_mortality"] <= 0.25
    assert 0.18 <= ie["mortality_12m"] <= 0.36
    assert (
        ie["time_to_antibiotic_median_hours_after"]
        < 0.7 * ie["time_to_antibiotic_median_hours_before"]
    )
    assert ie["time_to_surgery_median_days_after"] < ie["time_to_surgery_median_days_before"]

    assert 0.62 <= hcv["treated_share"] <= 0.85
    assert 0.88 <= hcv["cure_share_of_tested"] <= 0.99
    assert 20_000 <= hcv["daa_cost_per_treated_gbp"] <= 39_000


def test_ledger_matches_activity_cost_plus_overheads(trust, frames):
    _, manifest = trust
    ledger = check_plausibility(trust[0])["ledger"]
    # Each line carries up to ±3% noise, so totals agree far more closely.
    assert abs(ledger["direct_over_activity"] - 1) < 0.01
    assert abs(ledger["worst_cost_centre_ratio"] - 1) < 0.03
    assert 0.15 <= ledger["overhead_share"] <= 0.25
    assert ledger["income_gbp"] < 0 < ledger["excluded_gbp"]
    exact = manifest["costs"]["activity_direct_cost_gbp"]
    assert abs(ledger["direct_ledger_gbp"] / exact - 1) < 0.01

    led = frames["ledger"]
    amount = pd.to_numeric(led["amount"])
    assert (amount[led["expense_type"] == "income"] < 0).all()
    assert (amount[led["expense_type"] != "income"] > 0).all()
    assert set(led["expense_type"]) == set(feeds.EXPENSE_TYPES)
    assert led["period"].nunique() == 60
    # Every cost centre of every activity row has ledger lines.
    assert set(frames["activities"]["cost_centre"]) <= set(led["cost_centre"])
    # Month by month, direct lines match the activity that started in the month.
    act = frames["activities"].drop_duplicates("activity_id")
    act = act.assign(cost=cost_written_activities(act), month=act["start_at"].str.slice(0, 7))
    corrupted = act["month"].str.endswith("-13")
    by_month = act[~corrupted].groupby("month")["cost"].sum()
    direct = led[led["expense_type"].isin(["pay", "non_pay"])]
    ledger_by_month = pd.to_numeric(direct["amount"]).groupby(direct["period"]).sum()
    ratio = (ledger_by_month / by_month).dropna()
    assert len(ratio) == 60
    assert ((ratio - 1).abs() < 0.03).all()


def test_activity_rows_cost_from_the_catalogue(frames):
    act = frames["activities"]
    cat = catalogue_frame()
    keys = act[["activity_type", "code", "department", "cost_centre", "resource_group"]]
    merged = keys.merge(cat, on=["activity_type", "code", "department"], how="left")
    assert merged["unit_cost"].notna().all()
    assert (merged["cost_centre_x"] == merged["cost_centre_y"]).all()
    pharmacy = act["activity_type"] == "pharmacy"
    assert act.loc[pharmacy, "issue_value"].notna().all()
    assert act.loc[~pharmacy, "issue_value"].isna().all()
    cc = act["activity_type"] == "critical_care"
    assert set(act.loc[cc, "care_level"]) == {"2", "3"}
    theatre = act["activity_type"] == "theatre"
    assert act.loc[theatre, "staff_present"].notna().all()


def test_proms_carry_instrument_items(frames):
    prom = frames["prom_responses"]
    assert set(prom["instrument"]) == {"EQ-5D-5L", "mRS", "IE-WORRY"}
    for instrument, items in prom.groupby("instrument")["items"]:
        parsed = [json.loads(s) for s in items]
        if instrument == "EQ-5D-5L":
            assert all(set(d) == {"MO", "SC", "UA", "PD", "AD", "VAS"} for d in parsed)
            assert all(1 <= d[k] <= 5 for d in parsed for k in ("MO", "SC", "UA", "PD", "AD"))
            assert all(0 <= d["VAS"] <= 100 for d in parsed)
        elif instrument == "mRS":
            assert all(0 <= d["mrs"] <= 6 for d in parsed)
        else:
            assert all(0 <= d["worry"] <= 4 for d in parsed)


def test_nothing_happens_after_death(frames):
    pat, act = frames["patients"], frames["activities"]
    death = _dates(pat.set_index("patient_id")["death_date"])
    birth = _dates(pat.set_index("patient_id")["birth_date"])
    death = death[death >= birth]  # leave out the injected death-before-birth faults
    a = act.assign(start=_ts(act["start_at"])).join(death.rename("death"), on="patient_id")
    after = a["start"] >= a["death"] + pd.Timedelta(days=1)
    assert int(after.sum()) == 0


def test_manifest_states_the_truths(trust):
    _, manifest = trust
    ie = manifest["truths"]["endocarditis"]
    assert ie["service_change_date"] == "2021-10-01"
    assert (
        ie["time_to_antibiotic_median_hours_after"] < ie["time_to_antibiotic_median_hours_before"]
    )
    assert ie["mortality_12m_team_odds_ratio"] < 1
    stroke = manifest["truths"]["stroke"]
    assert (
        stroke["door_to_needle_median_minutes"]["North"]
        < stroke["door_to_needle_median_minutes"]["South"]
    )
    assert manifest["data_cutoff"] == "2024-03-31"
    assert manifest["period"] == {"start": "2019-04-01", "end": "2024-03-31"}
    assert sum(manifest["cohort_patients"].values()) == manifest["patients"] == 20_000
