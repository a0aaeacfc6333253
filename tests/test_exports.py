"""Every aggregate output of a run, scanned: small cells are suppressed (issue 11 item 12) and
the CSV exports are safe to open in a spreadsheet (item 7).

One small synthetic trust (1,000 patients, so that many stages, resources, sites, months
and PROM timepoints have fewer than ten episodes) is ingested with one site renamed to a
spreadsheet formula and one department to a command, costed, and run with the shipped
packs (stroke's ``reporting.min_cell`` raised to 15, so the per-condition rule is what is
tested); then ``carevalue costing report --csv`` and ``carevalue outcomes report --csv``
write their files. The scan knows, for every report, download and aggregate table, which
columns are counts of episodes and which figures rest on which count, written out here
independently of the code under test. A report, CSV or column it does not know fails the
test, so a new output has to say how it is suppressed.
"""

from __future__ import annotations

import csv
import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import pytest
from conftest import TEST_KEY
from rich.console import Console
from typer.testing import CliRunner

from carevalue.cli import app
from carevalue.conditions import shipped_conditions
from carevalue.costing import cost_reports
from carevalue.costing.plics_rules import load_costing_rules
from carevalue.costing.shipped_rules import costing_rules_file
from carevalue.csv_export import FORMULA_STARTS
from carevalue.outcomes import outcome_reports
from carevalue.packs import load_packs
from carevalue.runs import run_pipeline
from carevalue.sources.ingest import ingest_extract
from carevalue.synthetic.generate_trust import generate_trust
from carevalue.warehouse import connect

ROOT = Path(__file__).resolve().parents[1]
HOSTILE_SITE = '=HYPERLINK("http://example.invalid/steal","South")'
HOSTILE_DEPARTMENT = "+cmd|' /C calc'!A0"
STROKE_MIN_CELL = 15


@dataclass(frozen=True)
class Cells:
    """How an output is suppressed: its identifying columns, its counts of episodes, and
    for each count the figures computed from the episodes it counts."""

    keys: tuple[str, ...]
    counts: dict[str, tuple[str, ...]]
    other: tuple[str, ...] = ()  # neither key nor figure: flags and notes
    unchecked: dict[str, str] = field(default_factory=dict)  # column -> why it needs no count


@dataclass(frozen=True)
class Exempt:
    why: str


METRIC_SERIES = Cells(
    keys=(
        "condition",
        "metric",
        "label",
        "metric_kind",
        "period_type",
        "period",
        "segment_type",
        "segment",
    ),
    counts={
        "n_used": ("numerator", "denominator", "expected", "value", "lower", "upper"),
        "n": (),
        "n_due": (),
    },
    other=("suppressed", "note"),
)
OUTPUTS: dict[str, Cells | Exempt] = {
    # costing.cost_reports.REPORTS
    "cost_per_episode": Cells(
        ("condition",),
        {"episodes": ("mean", "p10", "median", "p90", "total")},
        ("suppressed", "note"),
    ),
    "cost_by_stage": Cells(
        ("condition", "stage"),
        {"episodes_in_stage": ("total", "mean_per_episode", "share"), "episodes": ()},
        ("suppressed", "note"),
    ),
    "cost_by_resource": Cells(
        ("condition", "resource"), {"episodes": ("total", "share")}, ("suppressed", "note")
    ),
    "top_cost_drivers": Cells(
        ("condition", "stage", "resource", "department"),
        {"episodes": ("total",)},
        ("suppressed", "note"),
        {
            "activities": "a count of activities, not a figure",
            "rank": "an order, which discloses no one's cost",
        },
    ),
    "reconciliation": Exempt(
        "the trust's ledger (quantum, allocated, unallocated by reason), not cells of episodes"
    ),
    # outcomes.outcome_reports.REPORTS and DOWNLOADS
    "outcomes_headline": Cells(
        ("condition", "label"), {"n_used": ("value", "lower", "upper")}, ("note",)
    ),
    "risk_models": Cells(
        ("condition", "outcome_id", "family", "fitted", "reason", "fit_on"),
        {"n": ("c_statistic",), "events": ()},
        ("note",),
    ),
    "prom_response": Cells(
        ("condition", "outcome_id", "timepoint"),
        {"due": ("response_rate",), "returned": ("crude_mean", "weighted_mean")},
        ("suppressed", "note"),
    ),
    "value_sensitivity": Exempt(
        "counts ranked cells; each ranking is checked cell by cell in the table below"
    ),
    "spc_icons": Exempt(
        "drawn from metric_spc, whose every point is checked against metric_series below"
    ),
    "metric_series": METRIC_SERIES,
}


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("exports")
    extract = folder / "extract"
    generate_trust(extract, 1_000, seed=5)
    assert _rewrite(extract / "encounters.csv", "site", "South", HOSTILE_SITE) > 0
    assert _rewrite(extract / "activities.csv", "department", "Pathology", HOSTILE_DEPARTMENT) > 0
    rules = folder / "rules.yaml"
    text = costing_rules_file("synthetic").read_text()
    for old in ("name: Pathology,", "department: Pathology\n"):
        assert old in text
        text = text.replace(old, old.replace("Pathology", json.dumps(HOSTILE_DEPARTMENT)))
    rules.write_text(text)
    conditions = folder / "conditions"
    shutil.copytree(shipped_conditions(), conditions)
    stroke = conditions / "stroke" / "pack.yaml"
    assert "reporting:\n  min_cell: 10" in stroke.read_text()
    stroke.write_text(stroke.read_text().replace("min_cell: 10", f"min_cell: {STROKE_MIN_CELL}"))
    packs = load_packs(conditions)
    warehouse = folder / "warehouse.duckdb"
    con = connect(str(warehouse))
    ingest_extract(extract, con, key=TEST_KEY, console=Console(quiet=True))
    run_pipeline(con, packs, load_costing_rules(rules), conditions_folder=conditions)
    printed = {}
    for command in ("costing", "outcomes"):
        result = CliRunner().invoke(
            app,
            [
                command,
                "report",
                "--warehouse",
                str(warehouse),
                "--csv",
                str(folder / f"{command}_csv"),
            ],
            env={"COLUMNS": "200"},
        )
        assert result.exit_code == 0, result.output
        printed[command] = result.output
    return {
        "con": con,
        "packs": packs,
        "min_cell": {p.id: p.reporting.min_cell for p in packs},
        "csv": sorted((folder / "costing_csv").glob("*.csv"))
        + sorted((folder / "outcomes_csv").glob("*.csv")),
        "printed": printed,
    }


def _rewrite(path: Path, column: str, old: str, new: str) -> int:
    """Replace one value of one column of a feed CSV; how many cells changed."""
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    where = rows[0].index(column)
    changed = 0
    for row in rows[1:]:
        if row[where] == old:
            row[where], changed = new, changed + 1
    with path.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows(rows)
    return changed


def _unsuppressed(
    name: str, frame: pd.DataFrame, min_cell: dict[str, int], spec: Cells | Exempt | None = None
) -> tuple[list[str], int]:
    """Every figure of ``frame`` shown though a count it rests on is below its condition's
    min_cell, and how many small cells the check saw."""
    spec = spec or OUTPUTS.get(name)
    assert spec is not None, (
        f"{name}: an output the disclosure scan does not know; add it to OUTPUTS"
    )
    if isinstance(spec, Exempt):
        return [], 0
    known = set(spec.keys) | set(spec.counts) | set(spec.other) | set(spec.unchecked)
    known |= {figure for figures in spec.counts.values() for figure in figures}
    unknown = [c for c in frame.columns if c not in known]
    assert not unknown, (
        f"{name}: columns {unknown} are neither keys, counts nor figures resting on a count"
    )
    threshold = frame["condition"].map(min_cell).fillna(10)
    problems, small_cells = [], 0
    for count, figures in spec.counts.items():
        small = ~(pd.to_numeric(frame[count], errors="coerce") >= threshold)
        small_cells += int(small.sum())
        for figure in figures:
            shown = small & frame[figure].notna()
            problems += [
                f"{name}: {figure} shown for {count}={frame.loc[i, count]}: {dict(frame.loc[i])}"
                for i in frame.index[shown]
            ]
    return problems, small_cells


def test_every_report_and_download_suppresses_small_cells(run):
    reports = {**cost_reports.REPORTS, **outcome_reports.REPORTS, **outcome_reports.DOWNLOADS}
    problems, seen = [], {}
    for name, build in reports.items():
        found, seen[name] = _unsuppressed(name, build(run["con"]), run["min_cell"])
        problems += found
    assert not problems, "\n".join(problems[:20])
    # The trust is small enough that each of these had small cells to suppress.
    for name in (
        "cost_by_stage",
        "cost_by_resource",
        "top_cost_drivers",
        "outcomes_headline",
        "risk_models",
        "prom_response",
        "metric_series",
    ):
        assert seen[name] > 0, name


def test_every_csv_written_by_the_reports_suppresses_small_cells(run):
    names = {path.stem for path in run["csv"]}
    assert names == set(cost_reports.REPORTS) | set(outcome_reports.REPORTS) | set(
        outcome_reports.DOWNLOADS
    )
    problems = []
    for path in run["csv"]:
        frame = pd.read_csv(path, keep_default_na=False, na_values=[""])
        problems += _unsuppressed(path.stem, frame, run["min_cell"])[0]
    assert not problems, "\n".join(problems[:20])


def test_stroke_cells_are_held_to_the_pack_s_own_min_cell(run):
    """Stroke asks for 15: a stroke cell of 10 to 14 episodes is suppressed, another
    condition's is shown."""
    series = outcome_reports.DOWNLOADS["metric_series"](run["con"])
    middling = series[series["n_used"].between(10, STROKE_MIN_CELL - 1)]
    stroke = middling["condition"] == "stroke"
    assert stroke.any() and (~stroke).any()
    assert middling.loc[stroke, "value"].isna().all() and middling.loc[stroke, "suppressed"].all()
    assert middling.loc[~stroke, "value"].notna().any()
    stages = cost_reports.cost_by_stage(run["con"])
    assert stages.loc[stages["condition"] == "stroke", "episodes_in_stage"].between(1, 14).any()
    assert (
        stages.loc[(stages["condition"] == "stroke") & (stages["episodes_in_stage"] < 15), "total"]
        .isna()
        .all()
    )


def test_the_run_s_aggregate_tables_suppress_small_cells(run):
    con, min_cell = run["con"], run["min_cell"]
    prom = con.table("prom_response").to_pandas()
    prom["not_returned"] = prom["due"] - prom["returned"]
    spec = Cells(
        ("condition", "outcome_id", "timepoint", "variable"),
        {
            "due": ("response_rate",),
            "returned": (
                "crude_mean",
                "weighted_mean",
                "responders_mean",
                "standardised_difference",
            ),
            "not_returned": ("non_responders_mean", "standardised_difference"),
        },
        ("suppressed", "note"),
    )
    problems, small = _unsuppressed("prom_response table", prom, min_cell, spec)
    assert not problems, "\n".join(problems[:20])
    assert small > 0

    models = con.table("risk_models").to_pandas()
    assert (
        not models.loc[models["n"] < models["condition"].map(min_cell), "c_statistic"].notna().any()
    )
    for calibration, condition in zip(models["calibration"], models["condition"], strict=True):
        if isinstance(calibration, str):
            deciles = pd.DataFrame(json.loads(calibration))
            small_deciles = deciles["n"] < min_cell[condition]
            assert deciles.loc[small_deciles, ["expected", "observed"]].isna().all().all()

    # metric_spc: no point for a month whose metric_series cell is too small.
    series = con.table("metric_series").to_pandas()
    monthly = series[series["period_type"] == "admission_month"]
    spc = con.table("metric_spc").to_pandas()
    spc["period"] = pd.to_datetime(spc["date"]).dt.strftime("%Y-%m")
    keyed = spc.merge(
        monthly,
        on=["condition", "metric", "segment_type", "segment", "period"],
        suffixes=("", "_series"),
        how="left",
    )
    small = keyed["n_used"] < keyed["condition"].map(min_cell)
    assert small.any() and keyed.loc[small, "y"].isna().all()
    assert (keyed["y"].notna() <= keyed["n_used"].notna()).all()  # every point comes from a cell

    # metric_funnel: only cells big enough to show.
    funnel = con.table("metric_funnel").to_pandas()
    if not funnel.empty:
        cells = funnel.merge(
            series,
            on=["condition", "metric", "period_type", "period", "segment_type", "segment"],
            suffixes=("", "_series"),
        )
        assert len(cells) == len(funnel)
        assert (cells["n_used"] >= cells["condition"].map(min_cell)).all()


def test_value_rankings_name_only_cells_big_enough_to_report(run):
    """Each ranked site, team or year has at least min_cell complete cases under the
    ranking's weights (counted here from episode_value), and some cells were left out."""
    con, min_cell = run["con"], run["min_cell"]
    value = con.table("episode_value").to_pandas()
    rankings = con.table("value_sensitivity").to_pandas()
    packs = {p.id: p for p in run["packs"]}
    left_out = 0
    for row in rankings.itertuples():
        pack = packs[row.condition]
        equation = next(e for e in pack.value_equations if e.id == row.equation)
        weights = dict(_weight_sets(equation))[row.weight_set]
        mine = value[value["condition"] == row.condition]
        complete = mine[f"cost__{equation.id}"].notna()
        for outcome in weights:
            complete &= mine[f"out__{outcome}"].notna() & mine[f"complete__{outcome}"]
        sizes = mine.loc[complete, row.compared].astype("string").value_counts()
        ranked = (
            [cell.rsplit(" (", 1)[0] for cell in row.ranking.split(" > ")] if row.ranking else []
        )
        assert len(ranked) == row.cells
        for cell in ranked:
            assert sizes.get(cell, 0) >= min_cell[row.condition], (
                row.compared,
                cell,
                sizes.get(cell, 0),
            )
        left_out += int((sizes < min_cell[row.condition]).sum())
    assert left_out > 0


def _weight_sets(equation) -> list[tuple[str, list[str]]]:
    """The outcomes each weight set of an equation counts (the pack's, equal, alternatives)."""
    ids = [term.outcome for term in equation.numerator]
    sets = [("pack weights", ids)]
    if len(ids) > 1:
        sets.append(("equal weights", ids))
    sets += [
        (alt.name, [term.outcome for term in alt.numerator]) for alt in equation.sensitivity_weights
    ]
    return sets


# ---------------------------------------------------------------------- item 7: CSV safety


def test_no_csv_cell_would_run_as_a_formula_and_hostile_names_arrive_as_text(run):
    cells = []
    for path in run["csv"]:
        with path.open(newline="", encoding="utf-8") as handle:
            for row in csv.reader(handle):
                cells += [(path.name, cell) for cell in row]
    dangerous = [
        (name, cell)
        for name, cell in cells
        if cell.startswith(FORMULA_STARTS) and not _number(cell)
    ]
    assert not dangerous, dangerous[:10]
    shown = {cell for _, cell in cells}
    # The site is a segment of the metric series; the department one of the top cost drivers.
    assert "'" + HOSTILE_SITE in shown
    assert "'" + HOSTILE_DEPARTMENT in shown
    series = pd.read_csv(next(p for p in run["csv"] if p.name == "metric_series.csv"))
    assert ("'" + HOSTILE_SITE) in set(series.loc[series["segment_type"] == "site", "segment"])
    # Negative numbers stay numbers (a difference, say): none was given a quote.
    assert not any(cell.startswith("'-") and _number(cell[1:]) for _, cell in cells)


def test_the_printed_reports_show_names_as_they_are(run):
    """Only the files are neutralised: the terminal shows the trust's own name."""
    assert "+cmd" in run["printed"]["costing"] and "'+cmd" not in run["printed"]["costing"]


def _number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True
