"""Print an extract's profile for the person about to load it."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from carevalue.sources.profile_extract import UNKNOWN, FeedProfile

SHOWN_VALUES = 25  # per field; the draft mapping lists every unknown value


def print_profile(profiles: list[FeedProfile], console: Console, *, mapping: str | None) -> None:
    console.print(f"Mapping file: {mapping or 'none (standard NHS codes only)'}", highlight=False)
    for profile in profiles:
        feed = profile.feed
        if profile.problem:
            console.print(f"[bold]{feed.name}[/bold]: {profile.problem}", highlight=False)
            continue
        share = profile.rows_bad / profile.rows if profile.rows else 0.0
        console.print(
            f"[bold]{feed.name}[/bold] ({profile.file}): {profile.rows:,} rows, "
            f"{profile.rows_bad:,} ({share:.1%}) would be quarantined",
            highlight=False,
        )
        table = Table(show_header=True, title_justify="left", box=None, padding=(0, 2))
        for heading in ("field", "value", "rows", "status", "loads as"):
            table.add_column(heading, justify="right" if heading == "rows" else "left")
        for column, values in profile.fields.items():
            for item in values[:SHOWN_VALUES]:
                status = f"[red]{item.status}[/red]" if item.status == UNKNOWN else item.status
                shown = "(blank)" if item.value is None else item.value
                becomes = (
                    ""
                    if item.status == UNKNOWN
                    else (
                        "(blank)"
                        if item.becomes is None and item.value is not None
                        else item.becomes or ""
                    )
                )
                table.add_row(column, shown, f"{item.rows:,}", status, becomes)
            if len(values) > SHOWN_VALUES:
                table.add_row(column, f"… {len(values) - SHOWN_VALUES:,} more values", "", "", "")
        if table.row_count:
            console.print(table)
        for column, n in profile.day_first_dates.items():
            if n:
                console.print(f"  {column}: {n:,} values written day or month first (DD/MM/YYYY)")
        top = profile.tally.by_cause.most_common(3)
        for (column, kind), n in top:
            console.print(
                f"  would quarantine {n:,} for: {profile.tally.example[(column, kind)]}",
                highlight=False,
            )
