"""Check a generated trust against the ranges the docs promise, from its files alone.

``check_plausibility(out_dir)`` reads the written feeds (CSV or Parquet, as the manifest
says), finds each pathway's index events the way an analyst would (by diagnosis code), and
returns the headline figures: stroke mortality, length of stay and cost, endocarditis
surgery and mortality before and after the service change, the hepatitis C cascade, PROM
response, and how closely the ledger matches activity. Used by the tests and the docs.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from carevalue.synthetic.catalogue import cost_written_activities
from carevalue.synthetic.timeline import DATA_CUTOFF_DATE
from carevalue.synthetic.truths import ENDOCARDITIS

CUTOFF = pd.Timestamp(DATA_CUTOFF_DATE) + pd.Timedelta(days=1)
ANTIBIOTICS = ("VANCOMYCIN-1G-IV", "GENTAMICIN-IV")


def read_feed(out_dir: Path, feed: str) -> pd.DataFrame:
    """A written feed with every column as text (blank = missing), whatever the format."""
    manifest = json.loads((Path(out_dir) / "manifest.json").read_text())
    path = Path(out_dir) / manifest["files"][feed]
    if path.suffix == ".csv":
        return pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""])
    frame = pd.read_parquet(path)
    return frame.astype(object).where(frame.notna(), None).astype("string").astype(object)


def _ts(series: pd.Series) -> pd.Series:
    return pd.to_datetime(series, format="%Y-%m-%dT%H:%M:%S", errors="coerce")


def _index_admissions(
    enc: pd.DataFrame, dx: pd.DataFrame, prefixes: tuple[str, ...]
) -> pd.DataFrame:
    """First inpatient admission per patient whose primary diagnosis starts with a prefix."""
    primary = dx[(dx["position"] == "1") & (dx["code_system"] == "ICD10")].copy()
    primary["plain"] = primary["code"].str.replace(".", "", regex=False)
    hit = primary[primary["plain"].str.startswith(prefixes)]
    adm = enc[(enc["setting"] == "inpatient") & enc["encounter_id"].isin(hit["encounter_id"])]
    adm = adm.assign(start=_ts(adm["start_at"]), end=_ts(adm["end_at"]))
    adm = adm.sort_values(["patient_id", "start"]).drop_duplicates("patient_id")
    # Arrival: the A&E encounter that ended as the admission started, else the admission.
    ed = enc[enc["setting"] == "emergency"][["patient_id", "end_at", "start_at"]]
    ed = ed.rename(columns={"start_at": "ed_start", "end_at": "start_at"})
    adm = adm.merge(ed, on=["patient_id", "start_at"], how="left")
    adm["arrival"] = _ts(adm["ed_start"]).fillna(adm["start"])
    return adm


def check_plausibility(out_dir: Path) -> dict:
    out_dir = Path(out_dir)
    pat = read_feed(out_dir, "patients")
    enc = read_feed(out_dir, "encounters")
    dx = read_feed(out_dir, "diagnoses")
    act = read_feed(out_dir, "activities").drop_duplicates("activity_id")
    obs = read_feed(out_dir, "observations")
    prom = read_feed(out_dir, "prom_responses")
    ledger = read_feed(out_dir, "ledger")

    act = act.assign(cost=cost_written_activities(act), start=_ts(act["start_at"]))
    death = pd.to_datetime(
        pat.set_index("patient_id")["death_date"], format="%Y-%m-%d", errors="coerce"
    )
    return {
        "stroke": _stroke(enc, dx, act, prom, death),
        "endocarditis": _endocarditis(enc, dx, act, death),
        "hepatitis_c": _hepatitis_c(dx, act, obs),
        "ledger": _ledger(act, ledger),
    }


def _died_within(adm: pd.DataFrame, death: pd.Series, days: int) -> float:
    followed = adm[adm["arrival"] <= CUTOFF - pd.Timedelta(days=days)]
    d = death.reindex(followed["patient_id"]).to_numpy()
    within = (d - followed["arrival"].dt.normalize().to_numpy()) <= np.timedelta64(days, "D")
    return float(np.nanmean(np.where(pd.isna(d), False, within))) if len(followed) else float("nan")


def _episode_cost(adm: pd.DataFrame, act: pd.DataFrame, days: int) -> pd.Series:
    followed = adm[adm["arrival"] <= CUTOFF - pd.Timedelta(days=days)][["patient_id", "arrival"]]
    a = act.merge(followed, on="patient_id")
    inside = (a["start"] >= a["arrival"] - pd.Timedelta(hours=3)) & (
        a["start"] < a["arrival"] + pd.Timedelta(days=days)
    )
    return a[inside].groupby("patient_id")["cost"].sum()


def _stroke(enc, dx, act, prom, death) -> dict:
    adm = _index_admissions(enc, dx, ("I61", "I63"))
    los = (adm["end"] - adm["start"]).dt.total_seconds() / 86400
    thromb = act[act["code"] == "X83.3"][["patient_id", "start"]]
    t = adm.merge(thromb, on="patient_id")
    dtn = (t["start_y"] - t["arrival"]).dt.total_seconds() / 60
    ischaemic = dx[dx["code"].str.replace(".", "", regex=False).str.startswith("I63")]
    cost = _episode_cost(adm, act, 365)
    survivors_90 = adm[adm["arrival"] <= CUTOFF - pd.Timedelta(days=120)]
    alive = survivors_90[
        ~(
            death.reindex(survivors_90["patient_id"]).to_numpy()
            <= (survivors_90["arrival"] + pd.Timedelta(days=90)).to_numpy()
        )
    ]
    answered = prom[prom["instrument"] == "mRS"]["patient_id"]
    return {
        "patients": len(adm),
        "mortality_30d": _died_within(adm, death, 30),
        "mortality_90d": _died_within(adm, death, 90),
        "acute_los_median_days": float(los.median()),
        "acute_los_p90_days": float(los.quantile(0.9)),
        "thrombolysis_share_of_ischaemic": float(
            thromb["patient_id"].nunique() / max(1, ischaemic["patient_id"].nunique())
        ),
        "door_to_needle_median_minutes": {
            site: float(dtn[t["site"] == site].median()) for site in ("North", "South")
        },
        "thrombectomy_share": float(
            act[act["code"] == "L71.2"]["patient_id"].nunique() / max(1, len(adm))
        ),
        "episode_cost_12m_mean_gbp": float(cost.mean()),
        "episode_cost_12m_median_gbp": float(cost.median()),
        "prom_90d_response": float(alive["patient_id"].isin(answered).mean()),
    }


def _endocarditis(enc, dx, act, death) -> dict:
    adm = _index_admissions(enc, dx, ("I330", "I38", "I398"))
    change = pd.Timestamp(ENDOCARDITIS.service_change_date)
    first_dose = (
        act[act["code"].isin(ANTIBIOTICS)].groupby("patient_id")["start"].min().rename("first_dose")
    )
    surgery = (
        act[(act["activity_type"] == "theatre") & (act["department"] == "Cardiac Surgery")]
        .groupby("patient_id")["start"]
        .min()
        .rename("surgery")
    )
    a = adm.join(first_dose, on="patient_id").join(surgery, on="patient_id")
    a["tta_hours"] = (a["first_dose"] - a["arrival"]).dt.total_seconds() / 3600
    a["tts_days"] = (a["surgery"] - a["arrival"]).dt.total_seconds() / 86400
    a.loc[a["surgery"] > a["end"], "tts_days"] = np.nan  # surgery in a later admission
    after = a["arrival"] >= change
    followed = a[a["arrival"] <= CUTOFF - pd.Timedelta(days=365)]
    return {
        "patients": len(a),
        "transfer_share": float((a["admission_method"] == "transfer").mean()),
        "surgery_share": float(a["tts_days"].notna().mean()),
        "in_hospital_mortality": float((a["discharge_destination"] == "died").mean()),
        "mortality_12m": _died_within(a, death, 365),
        "mortality_12m_before_change": _died_within(
            followed[followed["arrival"] < change], death, 365
        ),
        "mortality_12m_after_change": _died_within(
            followed[followed["arrival"] >= change], death, 365
        ),
        "time_to_antibiotic_median_hours_before": float(a.loc[~after, "tta_hours"].median()),
        "time_to_antibiotic_median_hours_after": float(a.loc[after, "tta_hours"].median()),
        "time_to_surgery_median_days_before": float(a.loc[~after, "tts_days"].median()),
        "time_to_surgery_median_days_after": float(a.loc[after, "tts_days"].median()),
        "episode_cost_12m_mean_gbp": float(_episode_cost(a, act, 365).mean()),
    }


def _hepatitis_c(dx, act, obs) -> dict:
    referred = dx[dx["code"].str.replace(".", "", regex=False) == "B182"]["patient_id"].unique()
    daa = act[act["code"].str.contains("SOFOSBUVIR|GLECAPREVIR", regex=True)]
    treated = daa["patient_id"].unique()
    rna = obs[obs["code"] == "HCV_RNA"].assign(at=lambda o: _ts(o["observed_at"]))
    first_issue = daa.groupby("patient_id")["start"].min().rename("first_issue")
    tests = rna.join(first_issue, on="patient_id")
    # An SVR12 test: an RNA result at least 20 weeks after the first DAA issue.
    svr = tests[tests["at"] >= tests["first_issue"] + pd.Timedelta(weeks=20)]
    svr = svr.sort_values("at").drop_duplicates("patient_id")
    return {
        "referred": len(referred),
        "treated_share": float(len(treated) / max(1, len(referred))),
        "svr12_tested_share_of_treated": float(len(svr) / max(1, len(treated))),
        "cure_share_of_tested": float((svr["value_text"] == "not_detected").mean()),
        "daa_cost_per_treated_gbp": float(daa["cost"].sum() / max(1, len(treated))),
    }


def _ledger(act: pd.DataFrame, ledger: pd.DataFrame) -> dict:
    amount = pd.to_numeric(ledger["amount"])
    direct = ledger["expense_type"].isin(["pay", "non_pay"])
    by_centre_ledger = amount[direct].groupby(ledger.loc[direct, "cost_centre"]).sum()
    by_centre_activity = act.groupby("cost_centre")["cost"].sum()
    ratio = (by_centre_ledger / by_centre_activity).dropna()
    return {
        "direct_ledger_gbp": float(amount[direct].sum()),
        "activity_cost_gbp": float(act["cost"].sum()),
        "direct_over_activity": float(amount[direct].sum() / act["cost"].sum()),
        "worst_cost_centre_ratio": float(ratio.iloc[(ratio - 1).abs().argmax()]),
        "overhead_share": float(
            amount[ledger["expense_type"] == "overhead"].sum() / amount[direct].sum()
        ),
        "income_gbp": float(amount[ledger["expense_type"] == "income"].sum()),
        "excluded_gbp": float(amount[ledger["expense_type"] == "excluded"].sum()),
    }
