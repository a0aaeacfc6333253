"""Print a load report for a person: per-feed counts that reconcile, then findings."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from carevalue.sources.ingest import QUARANTINE_TABLE, LoadReport


def print_load_report(report: LoadReport, console: Console, *, warehouse: str) -> None:
    table = Table(title=f"Load {report.load_id} into {warehouse}", title_justify="left")
    for heading in (
        "feed",
        "file",
        "rows read",
        "loaded",
        "quarantined",
        "new",
        "updated",
        "adds up",
    ):
        table.add_column(heading, justify="left" if heading in ("feed", "file") else "right")
    for f in report.feeds:
        table.add_row(
            f.feed,
            f.file,
            f"{f.rows_read:,}",
            f"{f.rows_loaded:,}",
            f"{f.rows_quarantined:,}",
            f"{f.rows_new:,}",
            f"{f.rows_updated:,}",
            "yes" if f.reconciles else "[red]NO[/red]",
        )
    console.print(table)
    quarantined = sum(f.rows_quarantined for f in report.feeds)
    if quarantined:
        console.print(
            f"{quarantined:,} rows were quarantined, each with its reason, in the "
            f"'{QUARANTINE_TABLE}' table; nothing was dropped."
        )
    flagged = [f for f in report.findings if f["rows"]]
    if flagged:
        # Examples (local identifiers) stay in the dq_results table, out of terminal logs.
        findings = Table(title="Data-quality findings (rows stay loaded)", title_justify="left")
        for heading in ("severity", "feed", "rows", "finding"):
            findings.add_column(heading, justify="right" if heading == "rows" else "left")
        for f in flagged:
            findings.add_row(f["severity"], f["feed"], f"{f['rows']:,}", f["description"])
        console.print(findings)
