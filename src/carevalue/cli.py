"""The ``carevalue`` command. Thin: parse arguments, call one function, print the result.

A user's mistake (a ``UserError``) is printed as one plain sentence on stderr with exit
status 2, never as a traceback.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from carevalue.conditions import shipped_conditions
from carevalue.errors import UserError

app = typer.Typer(
    name="carevalue",
    help=(
        "CareValue measures value for hospital condition pathways: the outcomes that matter "
        "to patients over the whole cost of their care. Start with 'carevalue demo'."
    ),
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    rich_markup_mode="rich",
)

costing_app = typer.Typer(
    help="Costing: bottom-up TDABC models today; ledger allocation (PLICS) as it lands.",
    no_args_is_help=True,
)
app.add_typer(costing_app, name="costing")
outcomes_app = typer.Typer(
    help="Outcomes, risk models and value of the current run.", no_args_is_help=True
)
app.add_typer(outcomes_app, name="outcomes")

out = Console()
err = Console(stderr=True)

WarehouseOption = Annotated[
    str | None,
    typer.Option(
        "--warehouse",
        "-w",
        help="Warehouse to use: a DuckDB file path (default var/warehouse.duckdb, or "
        "$CAREVALUE_WAREHOUSE), duckdb://:memory:, 'pyspark://local[2]' "
        "(folder var/spark-warehouse, or add ?warehouse=FOLDER; see docs/spark.md), "
        "or any Ibis URL.",
        show_default=False,
    ),
]


MappingOption = Annotated[
    Path | None,
    typer.Option(
        "--mapping",
        help="The extract's mapping file of column renames and codes (default "
        "EXTRACT/mapping.yaml when present); see docs/loading-an-extract.md.",
        show_default=False,
    ),
]


@app.command()
def generate(
    out_dir: Annotated[
        Path,
        typer.Argument(
            metavar="OUT", help="Folder to write the feed files into (created if missing)."
        ),
    ],
    patients: Annotated[
        int, typer.Option("--patients", "-n", min=1, help="How many patients the trust has.")
    ] = 20_000,
    seed: Annotated[
        int, typer.Option("--seed", "-s", help="Random seed: the same seed gives the same files.")
    ] = 42,
    file_format: Annotated[str, typer.Option("--format", help="csv or parquet.")] = "csv",
) -> None:
    """Generate the synthetic trust: stroke, infective endocarditis and hepatitis C
    pathways plus background patients, as the seven canonical feeds, with documented
    data-quality faults (see docs/synthetic-trust.md)."""
    manifest = _generate_with_progress(out_dir, patients, seed, file_format)
    out.print(
        f"Wrote the synthetic trust ({patients:,} patients, seed {seed}) to [bold]{out_dir}[/bold]:"
    )
    for feed, rows in manifest.get("rows", {}).items():
        out.print(f"  {feed:<15} {rows:>12,} rows")


def _generate_with_progress(out_dir: Path, patients: int, seed: int, file_format: str) -> dict:
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
    )

    from carevalue.synthetic.generate_trust import generate_trust

    with Progress(
        TextColumn("[bold]Generating patients"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=err,
    ) as progress:
        task = progress.add_task("generate", total=patients)
        try:
            return generate_trust(
                out_dir,
                patients,
                seed,
                file_format=file_format,
                on_progress=lambda done: progress.update(task, completed=done),
            )
        except ValueError as error:
            raise UserError(str(error)) from None


@app.command()
def ingest(
    folder: Annotated[
        Path, typer.Argument(help="Folder holding the extract: one CSV or Parquet file per feed.")
    ],
    warehouse: WarehouseOption = None,
    only: Annotated[
        list[str] | None,
        typer.Option(
            "--only", help="Load only this feed (repeat for several); the others may be absent."
        ),
    ] = None,
    delimiter: Annotated[
        str, typer.Option("--delimiter", help="Field separator of the CSV files.")
    ] = ",",
    encoding: Annotated[
        str, typer.Option("--encoding", help="Text encoding of the CSV files, e.g. cp1252.")
    ] = "utf-8",
    demo: Annotated[
        bool,
        typer.Option(
            "--demo",
            help=(
                "Use the public demo pseudonymisation key: synthetic data only, "
                "never real patients."
            ),
        ),
    ] = False,
    mapping: MappingOption = None,
    max_quarantined: Annotated[
        float,
        typer.Option(
            "--max-quarantined",
            min=0,
            max=100,
            help="Stop before loading when more than this "
            "percentage of a feed's rows would be quarantined.",
        ),
    ] = 20.0,
) -> None:
    """Load a trust's extract into the warehouse.

    Checks every row against the feed's declared schema, replaces NHS numbers by a
    keyed hash (the key comes from $CAREVALUE_PSEUDONYMISATION_KEY), quarantines bad
    rows with a reason instead of dropping them, updates existing rows by key, and
    reports data-quality findings such as orphan activities.
    """
    from carevalue.config import load_settings
    from carevalue.sources.ingest import ingest_extract
    from carevalue.sources.report import print_load_report
    from carevalue.warehouse import connect

    settings = load_settings(warehouse=warehouse, demo=demo)
    if delimiter == "\\t":
        delimiter = "\t"
    con = connect(settings.warehouse)
    report = ingest_extract(
        folder,
        con,
        key=settings.pseudonymisation_key,
        only=only,
        delimiter=delimiter,
        encoding=encoding,
        console=err,
        mapping=mapping,
        max_quarantined=max_quarantined / 100,
    )
    print_load_report(report, out, warehouse=settings.warehouse)
    if not report.reconciles:
        raise UserError(
            "The load did not reconcile (rows read ≠ loaded + quarantined); "
            "please report this as a bug."
        )


@app.command()
def profile(
    folder: Annotated[
        Path, typer.Argument(metavar="EXTRACT", help="Folder holding the extract's feed files.")
    ],
    mapping: MappingOption = None,
    draft: Annotated[
        Path | None,
        typer.Option(
            "--draft",
            help="Where to write the draft mapping (default EXTRACT/mapping.draft.yaml).",
            show_default=False,
        ),
    ] = None,
    delimiter: Annotated[
        str, typer.Option("--delimiter", help="Field separator of the CSV files.")
    ] = ",",
    encoding: Annotated[
        str, typer.Option("--encoding", help="Text encoding of the CSV files.")
    ] = "utf-8",
) -> None:
    """Show each coded field's values (with counts) against the contract, how many rows
    ingest would quarantine and why, and draft a mapping file for the values it cannot
    place. Reads the extract only; the warehouse is not touched."""
    from carevalue.sources.profile_extract import draft_mapping, profile_extract
    from carevalue.sources.profile_report import print_profile

    if delimiter == "\\t":
        delimiter = "\t"
    used, profiles = profile_extract(
        folder, mapping=mapping, delimiter=delimiter, encoding=encoding
    )
    print_profile(profiles, out, mapping=used.source)
    target = draft or folder / "mapping.draft.yaml"
    try:
        target.write_text(draft_mapping(folder, used, profiles), encoding="utf-8")
    except OSError as error:
        raise UserError(
            f"Cannot write the draft mapping to {target} ({error.strerror}); pass --draft FILE."
        ) from None
    out.print(
        f"Draft mapping written to {target}; edit it, then save it as {folder / 'mapping.yaml'}."
    )


@app.command()
def validate(
    path: Annotated[
        Path,
        typer.Argument(
            help="A conditions folder, one pack's folder, or a pack.yaml.",
            show_default="the packs shipped with CareValue",
        ),
    ] = shipped_conditions(),
) -> None:
    """Check condition packs and report every problem in every pack at once, each with
    its file and line (unknown fields, bad codes, overlapping stages, missing governance…).
    Exit status 1 when there are problems."""
    from carevalue.packs.validate_packs import report

    text, status = report(path)
    (err if status else out).print(text, highlight=False, soft_wrap=True)
    raise typer.Exit(status)


@app.command()
def assure(
    path: Annotated[
        Path,
        typer.Argument(
            help="A conditions folder or one pack's folder.",
            show_default="the packs shipped with CareValue",
        ),
    ] = shipped_conditions(),
) -> None:
    """Run every pack's hand-written test patients (conditions/<id>/tests/*.yaml) and
    check the episodes, inclusion decisions and stages the pack produces for them.
    Exit status 1 when any case fails."""
    from carevalue.assurance import assure_folder

    failed = 0
    for pack, result in assure_folder(path):
        mark = "[green]pass[/green]" if result.passed else "[red]FAIL[/red]"
        out.print(f"{mark}  {pack.id}: {result.name}  ({result.file.name})", highlight=False)
        for failure in result.failures:
            out.print(f"        {failure}", highlight=False)
        failed += not result.passed
    if failed:
        err.print(f"{failed} test case{'s' if failed != 1 else ''} failed.")
        raise typer.Exit(1)


@app.command()
def run(
    warehouse: WarehouseOption = None,
    conditions: Annotated[
        Path,
        typer.Option(
            "--conditions",
            help="Folder of condition packs to run (a trust's own packs).",
            show_default="the packs shipped with CareValue",
        ),
    ] = shipped_conditions(),
    costing_rules: Annotated[
        Path | None,
        typer.Option(
            "--costing-rules",
            help="Costing-rules file (see docs/costing.md), or 'synthetic' for the synthetic "
            "trust's shipped rules: allocate the ledger to activities and episodes (PLICS). "
            "Without it the run builds episodes only.",
            show_default=False,
        ),
    ] = None,
    imported_costs: Annotated[
        bool,
        typer.Option(
            "--imported-costs",
            help="Cost episodes from per-activity costs loaded by 'carevalue costing import'.",
        ),
    ] = False,
) -> None:
    """Build care-cycle episodes for every condition pack, with --costing-rules their
    whole-pathway costs, then every outcome, risk model and value figure the packs declare,
    into a new run of the warehouse.

    The new run replaces the current one only when it is complete; a failed run (or a
    costing that does not reconcile to the ledger) leaves the previous results in place."""
    from carevalue.config import warehouse_url
    from carevalue.packs import load_packs
    from carevalue.snapshots import snapshot_root
    from carevalue.warehouse import connect

    url = warehouse_url(warehouse)
    packs = load_packs(conditions)
    snapshots = snapshot_root(
        url
    )  # before the run: a warehouse with nowhere to publish says so now
    con = connect(url)
    _run_and_print(con, packs, snapshots, costing_rules, imported_costs, conditions)


def _run_and_print(
    con,
    packs,
    snapshots: Path,
    costing_rules: Path | None = None,
    imported_costs: bool = False,
    conditions: Path = shipped_conditions(),
) -> None:
    """Run, publish the run's snapshot into ``snapshots``, and print the run; a publish
    that fails is reported after the run's figures (the run itself is complete)."""
    from rich.table import Table

    from carevalue.costing import load_costing_rules
    from carevalue.reports import run_display
    from carevalue.runs import run_pipeline
    from carevalue.snapshots import publish_snapshot

    rules = load_costing_rules(costing_rules) if costing_rules else None
    published: dict = {}

    def publish(con, run_id: str) -> None:
        try:
            published["path"] = publish_snapshot(
                con, run_id, snapshots, packs_folder=conditions, packs=packs
            )
        except UserError as error:
            published["error"] = error

    with err.status("Building care-cycle episodes, costs, outcomes and value…"):
        report = run_pipeline(
            con,
            packs,
            rules,
            imported_costs=imported_costs,
            conditions_folder=conditions,
            publish=publish,
        )
    table = Table(title=f"Run {report.run_id}: care-cycle episodes", title_justify="left")
    table.add_column("condition")
    table.add_column("episodes", justify="right")
    table.add_column("activities by stage")
    for row in run_display.episode_rows(report):
        table.add_row(*row)
    out.print(table)
    if report.costing:
        for line in run_display.costing_lines(report.costing):
            out.print(line)
    if report.outcomes:
        for condition, rows in report.outcomes.headline.items():
            table = Table(title=run_display.headline_title(condition), title_justify="left")
            for heading in run_display.HEADLINE_HEADINGS:
                table.add_column(heading, justify="left" if heading == "measure" else "right")
            for row in run_display.headline_rows(rows):
                table.add_row(*row)
            out.print(table)
        for line in run_display.outcome_lines(report.outcomes):
            out.print(line)
    if "error" in published:
        raise published["error"]
    out.print(f"Published the run for the web app: {published['path']}")


@app.command()
def demo(
    patients: Annotated[
        int, typer.Option("--patients", "-n", min=1, help="Size of the synthetic trust.")
    ] = 20_000,
    seed: Annotated[int, typer.Option("--seed", "-s", help="Random seed.")] = 42,
    workdir: Annotated[
        Path, typer.Option("--workdir", help="Where the demo writes its extract and warehouse.")
    ] = Path("var"),
    conditions: Annotated[
        Path,
        typer.Option(
            "--conditions",
            help="Folder of condition packs.",
            show_default="the packs shipped with CareValue",
        ),
    ] = shipped_conditions(),
    costing_rules: Annotated[
        Path,
        typer.Option(
            "--costing-rules",
            help="Costing rules for the synthetic trust's ledger: a rules file, or 'synthetic' "
            "for the rules shipped with CareValue.",
        ),
    ] = Path("synthetic"),
    serve_app: Annotated[
        bool,
        typer.Option(
            "--serve/--no-serve",
            help="Then serve the dashboards at "
            "http://127.0.0.1:8000 with a user for every role (make demo does).",
        ),
    ] = False,
) -> None:
    """Run everything on the embedded synthetic trust: generate it, load it, run the
    pipeline, publish the run for the web app and make a demo user for every role; with
    --serve, then serve the dashboards."""
    from carevalue.config import DEMO_KEY
    from carevalue.packs import load_packs
    from carevalue.runs import record_service_changes
    from carevalue.snapshots import snapshot_root
    from carevalue.sources.ingest import ingest_extract
    from carevalue.sources.report import print_load_report
    from carevalue.synthetic.service_change import demo_service_changes
    from carevalue.warehouse import connect

    extract = workdir / "demo-extract"
    warehouse_path = workdir / "warehouse.duckdb"
    _generate_with_progress(extract, patients, seed, "csv")
    con = connect(str(warehouse_path))
    report = ingest_extract(extract, con, key=DEMO_KEY.encode(), console=err)
    print_load_report(report, out, warehouse=str(warehouse_path))
    record_service_changes(con, demo_service_changes(extract))
    _run_and_print(
        con,
        load_packs(conditions),
        snapshot_root(str(warehouse_path)),
        costing_rules,
        conditions=conditions,
    )
    out.print()
    out.print("[bold green]Demo complete.[/bold green] Results are here:")
    out.print(f"  synthetic extract  {extract}/ (feeds + manifest.json)")
    out.print(
        f"  warehouse          {warehouse_path} (tables: the seven feeds, quarantine, "
        "dq_results, load_log, runs; views episodes, episode_activities, "
        "activity_costs, episode_costs, cost_quantum, cost_reconciliation, episode_outcomes, "
        "episode_value, metric_series, risk_models, value_sensitivity, prom_response, "
        "metric_spc, metric_spc_icons, metric_funnel)"
    )
    out.print(
        f"  snapshot           {snapshot_root(str(warehouse_path))}/ (the run as Parquet files, "
        "what the web app reads; docs/snapshots.md)"
    )
    out.print(
        f"  explore it         in Python: ibis.duckdb.connect('{warehouse_path}'), "
        "or the DuckDB command-line tool"
    )
    _web_environment(str(warehouse_path), workdir, demo=True)
    _print_demo_users()
    if serve_app:
        _serve("127.0.0.1", 8000, workers=2, threads=4)


def _web_environment(warehouse: str, workdir: Path, *, demo: bool = False) -> None:
    """The web app's settings for this warehouse, then Django set up and migrated."""
    import os

    from carevalue.config import WAREHOUSE_ENV
    from carevalue.web.serve import prepare_app, setup_django

    env = {WAREHOUSE_ENV: warehouse}
    os.environ.setdefault("CAREVALUE_WEB_DB", str(workdir / "web.sqlite3"))
    if demo:
        env["CAREVALUE_DEMO"] = "1"
    setup_django(env)
    prepare_app()


def _print_demo_users() -> None:
    from rich.table import Table

    from carevalue.web.demo_users import create_demo_users

    table = Table(title="Demo users (synthetic data only; new passwords at every demo)")
    for column in ("user", "password", "role", "condition"):
        table.add_column(column)
    for row in create_demo_users():
        table.add_row(*row)
    out.print(table)


def _serve(host: str, port: int, *, workers: int, threads: int) -> None:
    from carevalue.web.serve import run_gunicorn

    out.print(
        f"[bold]CareValue is serving at http://{host}:{port}/[/bold] — log in with a "
        "user above; press Ctrl+C to stop."
    )
    code = run_gunicorn(host, port, workers, threads)
    if code:
        raise UserError(
            f"The web server stopped with status {code}; is port {port} already "
            "in use? Try --port with another number."
        )


@app.command()
def serve(
    warehouse: WarehouseOption = None,
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", "-p", min=1, max=65535, help="Port.")] = 8000,
    workers: Annotated[
        int, typer.Option("--workers", min=1, help="gunicorn worker processes.")
    ] = 2,
    threads: Annotated[int, typer.Option("--threads", min=1, help="Threads per worker.")] = 4,
) -> None:
    """Serve the dashboards (Django under gunicorn) on the warehouse's published runs: the
    app reads snapshots only, so 'carevalue run' and 'ingest' go on while it serves and a
    new run shows as soon as it is published. Settings come from the environment
    (docs/web.md); add users with 'carevalue users add'."""
    from carevalue.config import warehouse_url

    _web_environment(warehouse_url(warehouse), Path("var"))
    _serve(host, port, workers=workers, threads=threads)


users_app = typer.Typer(help="Users of the web app and their roles.", no_args_is_help=True)
app.add_typer(users_app, name="users")


@users_app.command("add")
def users_add(
    username: Annotated[str, typer.Argument(help="The user's login name.")],
    role: Annotated[
        list[str],
        typer.Option(
            "--role",
            "-r",
            help="A role: clinician, team_lead, service_manager, "
            "finance, commissioner or administrator (repeat for several).",
        ),
    ],
    condition: Annotated[
        str,
        typer.Option(
            "--condition", "-c", help="The condition the roles are for (default: every condition)."
        ),
    ] = "",
    warehouse: WarehouseOption = None,
) -> None:
    """Add a user with roles; the password is asked for (twice) and stored Argon2-hashed.
    The change is written to the audit log."""
    from django.core.exceptions import ValidationError
    from django.db import IntegrityError

    from carevalue.config import warehouse_url
    from carevalue.web.permissions import ROLES

    for name in role:
        if name not in ROLES:
            raise UserError(f"'{name}' is not a role; use one of {', '.join(ROLES)}.")
    _web_environment(warehouse_url(warehouse), Path("var"))
    from django.contrib.auth.password_validation import validate_password

    from carevalue.web import actions

    password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        validate_password(password)
    except ValidationError as error:
        raise UserError("That password will not do: " + " ".join(error.messages)) from None
    try:
        actions.create_user(
            username=username, password=password, roles=[(name, condition) for name in role]
        )
    except IntegrityError:
        raise UserError(
            f"There is already a user called {username}; choose another name."
        ) from None
    out.print(f"Added {username}: {', '.join(role)} for {condition or 'every condition'}.")


@users_app.command("list")
def users_list(warehouse: WarehouseOption = None) -> None:
    """List the web app's users and their roles."""
    from rich.table import Table

    from carevalue.config import warehouse_url

    _web_environment(warehouse_url(warehouse), Path("var"))
    from carevalue.web.models import RoleGrant

    table = Table(title="Users of the web app")
    for column in ("user", "role", "condition", "active"):
        table.add_column(column)
    for grant in RoleGrant.objects.select_related("user").order_by("user__username", "role"):
        table.add_row(
            grant.user.username,
            grant.role,
            grant.condition or "every condition",
            "yes" if grant.user.is_active else "no",
        )
    out.print(table)


@app.command()
def publish(
    warehouse: WarehouseOption = None,
    conditions: Annotated[
        Path | None,
        typer.Option(
            "--conditions",
            help="Folder of condition packs the run used; their files are published with it.",
            show_default="the packs shipped with CareValue",
        ),
    ] = None,
) -> None:
    """Publish the warehouse's current run again as a read-only snapshot (Parquet files, its
    manifest and the packs it used) for the web app, e.g. after upgrading CareValue.
    'carevalue run' publishes every run it builds; the previous snapshot stays served until
    the new one is complete. Snapshots live beside the warehouse, or in $CAREVALUE_SNAPSHOTS
    (see docs/snapshots.md)."""
    from carevalue.config import warehouse_url
    from carevalue.snapshots import publish_current_run, snapshot_root
    from carevalue.warehouse import connect

    url = warehouse_url(warehouse)
    snapshots = snapshot_root(url)
    with err.status("Publishing the current run…"):
        folder = publish_current_run(connect(url), snapshots, packs_folder=conditions)
    out.print(f"Published the current run for the web app: {folder}")


@costing_app.command("import")
def costing_import(
    folder: Annotated[
        Path, typer.Argument(help="Folder holding imported_activity_costs.csv (or .parquet).")
    ],
    warehouse: WarehouseOption = None,
) -> None:
    """Load per-activity costs from the trust's own costing system (when it already has
    PLICS), checked and quarantined like any feed. 'carevalue run --imported-costs' then
    costs episodes from them instead of allocating the ledger."""
    from carevalue.config import warehouse_url
    from carevalue.costing.imported_costs import IMPORTED_ACTIVITY_COSTS, IMPORTED_TABLE
    from carevalue.sources.ingest import ingest_extract
    from carevalue.sources.report import print_load_report
    from carevalue.warehouse import connect

    url = warehouse_url(warehouse)
    report = ingest_extract(
        folder,
        connect(url),
        key=b"",
        console=err,
        catalogue={IMPORTED_TABLE: IMPORTED_ACTIVITY_COSTS},
    )
    print_load_report(report, out, warehouse=url)


@costing_app.command("report")
def costing_report(
    warehouse: WarehouseOption = None,
    csv_dir: Annotated[
        Path | None,
        typer.Option(
            "--csv", help="Also write every table as CSV into this folder.", show_default=False
        ),
    ] = None,
) -> None:
    """Costing reports for the current run: cost per episode by condition (mean, median,
    10th and 90th centiles), cost by stage and by resource, the top cost drivers, and the
    reconciliation to the ledger."""
    from carevalue.config import warehouse_url
    from carevalue.costing.cost_reports import REPORTS
    from carevalue.warehouse import connect

    _print_reports(connect(warehouse_url(warehouse)), REPORTS, {}, csv_dir)


@outcomes_app.command("report")
def outcomes_report(
    warehouse: WarehouseOption = None,
    csv_dir: Annotated[
        Path | None,
        typer.Option(
            "--csv",
            help="Also write every table, and the whole metric series, as CSV into this folder.",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Outcome reports for the current run: every metric for all episodes with its 95%
    interval, the risk models (fitted or why not), PROM response, whether value rankings
    depend on the weights, and the SPC icons. Everything is aggregate, with small cells
    suppressed."""
    from carevalue.config import warehouse_url
    from carevalue.outcomes.outcome_reports import DOWNLOADS, REPORTS
    from carevalue.warehouse import connect

    _print_reports(connect(warehouse_url(warehouse)), REPORTS, DOWNLOADS, csv_dir)


def _print_reports(con, reports: dict, downloads: dict, csv_dir: Path | None) -> None:
    """Print each report as a table (a blank cell for a missing value) and, with
    ``csv_dir``, write it and every download as CSV."""
    from rich.table import Table

    from carevalue.csv_export import write_csv
    from carevalue.reports import cell

    if csv_dir:
        csv_dir.mkdir(parents=True, exist_ok=True)
    for name, build in reports.items():
        frame = build(con)
        table = Table(title=name.replace("_", " ").capitalize(), title_justify="left")
        for column in frame.columns:
            table.add_column(
                str(column), justify="right" if frame[column].dtype.kind in "if" else "left"
            )
        for row in frame.itertuples(index=False):
            table.add_row(*[cell(v) for v in row])
        out.print(table)
        if csv_dir:
            write_csv(frame, csv_dir / f"{name}.csv")
    if csv_dir:
        for name, build in downloads.items():
            write_csv(build(con), csv_dir / f"{name}.csv")
        out.print(f"CSV files written to {csv_dir}/")


@costing_app.command("compare")
def costing_compare(
    warehouse: WarehouseOption = None,
    conditions: Annotated[
        Path,
        typer.Option(
            "--conditions",
            help="Folder of condition packs.",
            show_default="the packs shipped with CareValue",
        ),
    ] = shipped_conditions(),
) -> None:
    """Set each stage's bottom-up TDABC cost (from the process map its pack attaches)
    beside the mean PLICS cost of that stage per episode in the current run. The
    difference is a finding for the team, not an error."""
    from rich.table import Table

    from carevalue.config import warehouse_url
    from carevalue.costing.compare_methods import compare_stage_costs
    from carevalue.packs import load_packs
    from carevalue.warehouse import connect

    frame = compare_stage_costs(
        connect(warehouse_url(warehouse)), load_packs(conditions), conditions
    )
    if frame.empty:
        out.print("No stage of any pack has a process_map; see docs/condition-packs.md.")
        return
    table = Table(title="TDABC beside PLICS, per stage", title_justify="left")
    for heading in (
        "condition",
        "stage",
        "episodes",
        "TDABC per patient",
        "PLICS mean per episode",
        "difference",
    ):
        table.add_column(heading, justify="left" if heading in ("condition", "stage") else "right")
    for r in frame.itertuples():
        table.add_row(
            r.condition,
            r.stage,
            f"{r.episodes:,}",
            f"£{r.tdabc_per_patient:,.2f}",
            f"£{r.plics_mean_per_episode:,.2f}",
            f"£{r.difference:,.2f} ({r.difference_pct:+.1f}%)",
        )
    out.print(table)


@costing_app.command("tdabc")
def costing_tdabc(
    model: Annotated[
        Path,
        typer.Argument(
            metavar="MODEL.yaml", help="A TDABC model file (YAML or JSON); see docs/tdabc.md."
        ),
    ],
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the whole report as JSON.")
    ] = False,
) -> None:
    """Cost a time-driven activity-based costing model: capacity and capacity cost rate
    (per hour and per minute) of every resource, cost per unit and in total of every
    process and step, unused capacity, and a reconciliation (assigned + unused = cost
    supplied). A model of resources alone gives their capacity and rates."""
    import json

    from rich.table import Table

    from carevalue.costing.tdabc import tdabc_report

    report = tdabc_report(model)
    if as_json:
        print(json.dumps(report, indent=2, default=str))
        return
    # Costs are labelled in the model's own currency (a DKK model shows DKK, never £).
    currency, period = report["currency"], report["period"]
    costed = bool(report["processes"])
    resources = Table(
        title=f"Resources: practical capacity and capacity cost rates ({currency}, per {period})",
        title_justify="left",
    )
    headings = [
        "resource",
        f"cost {currency}",
        f"min/{period}",
        f"h/{period}",
        f"{currency}/hour",
        f"{currency}/minute",
    ]
    if costed:  # a model of resources alone has its rates, but nothing used yet
        headings += ["used min", "unused min", f"unused cost {currency}"]
    for heading in headings:
        resources.add_column(heading, justify="left" if heading == "resource" else "right")

    def money(x) -> str:
        return "—" if x is None else f"{x:,.2f}"

    def minutes(x) -> str:
        return "—" if x is None else f"{x:,.1f}"

    for r in report["resources"]:
        row = [
            r["id"],
            money(r["cost_supplied"]),
            minutes(r["practical_capacity_minutes"]),
            minutes(r["practical_capacity_hours"]),
            money(r["capacity_cost_rate_per_hour"]),
            f"{r['capacity_cost_rate_per_minute']:,.4f}",
        ]
        if costed:
            row += [
                minutes(r["used_minutes"]),
                minutes(r["unused_minutes"]),
                money(r["unused_capacity_cost"]),
            ]
        resources.add_row(*row)
    out.print(resources)
    if costed:
        processes = Table(title="Processes", title_justify="left")
        for heading in (
            "process",
            "volume",
            "minutes per unit",
            f"cost per unit {currency}",
            f"total cost {currency}",
        ):
            processes.add_column(heading, justify="left" if heading == "process" else "right")
        for p in report["processes"]:
            processes.add_row(
                p["id"],
                minutes(p["volume"]),
                minutes(p["per_unit"]["expected_minutes"]),
                money(p["per_unit"]["expected_cost"]),
                money(p["total"]["cost"] if p["total"] else None),
            )
        out.print(processes)
        rec = report["reconciliation"]
        out.print(
            f"Reconciliation ({currency}): assigned {money(rec['assigned_to_processes'])} + "
            f"unused {money(rec['unused_capacity_cost'])} = supplied "
            f"{money(rec['cost_supplied'])}: {'balanced' if rec['balanced'] else 'NOT balanced'}."
        )
    for finding in report["findings"]:
        out.print(f"[yellow]finding:[/yellow] {finding['message']}", highlight=False)


@app.command()
def flow(
    log: Annotated[
        Path,
        typer.Argument(
            metavar="LOG",
            help="The event log: a CSV file (any common delimiter) or XES (.xes, .xes.gz).",
        ),
    ],
    case: Annotated[
        str | None,
        typer.Option(
            "--case",
            help="Column holding each event's case (an episode or patient journey); an XES "
            "log's default is case:concept:name.",
            show_default=False,
        ),
    ] = None,
    activity: Annotated[
        str | None,
        typer.Option(
            "--activity",
            help="Column holding the activity; an XES log's default is concept:name.",
            show_default=False,
        ),
    ] = None,
    timestamp: Annotated[
        str | None,
        typer.Option(
            "--timestamp",
            help="Column holding when the event happened (its start, where it has an end); "
            "an XES log's default is time:timestamp.",
            show_default=False,
        ),
    ] = None,
    end: Annotated[
        str | None,
        typer.Option(
            "--end",
            help="Column holding when the event ended, where events have one: waits then "
            "run from one event's end to the next one's start.",
            show_default=False,
        ),
    ] = None,
    sep: Annotated[
        str | None,
        typer.Option(
            "--sep",
            help="Delimiter of a CSV log, e.g. ';' (default: guessed from the file).",
            show_default=False,
        ),
    ] = None,
    as_json: Annotated[
        bool,
        typer.Option(
            "--json",
            help="Print one JSON object (directly_follows, start_activities, end_activities, "
            "variants, left_out) instead of tables.",
        ),
    ] = False,
    top: Annotated[
        int, typer.Option("--top", min=1, help="How many variants to show, commonest first.")
    ] = 10,
) -> None:
    """Map an event log: which activity directly follows which, how often and after how
    long a wait; the activities cases start and end with; and the commonest variants (a
    case's activities in order). Events with equal timestamps keep the file's order;
    events with no timestamp are left out and counted (see docs/flow.md)."""
    import json
    import math

    from rich.table import Table

    from carevalue.flow import (
        directly_follows,
        end_activities,
        event_table,
        start_activities,
        variants,
    )
    from carevalue.flow.read_log import log_columns, read_event_log

    frame = read_event_log(log, case=case, activity=activity, timestamp=timestamp, end=end, sep=sep)
    case, activity, timestamp = log_columns(log, case=case, activity=activity, timestamp=timestamp)
    events = event_table(frame, case=case, activity=activity, timestamp=timestamp, end=end)
    edges, starts, ends = directly_follows(events), start_activities(events), end_activities(events)
    found = variants(events).head(top)
    left_out = {"events": events.left_out, "cases": len(events.left_out_events())}

    if as_json:

        def records(table) -> list[dict]:
            rows = table.astype(object).to_dict("records")
            return [
                {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in row.items()}
                for row in rows
            ]

        print(
            json.dumps(
                {
                    "directly_follows": records(edges),
                    "start_activities": records(starts),
                    "end_activities": records(ends),
                    "variants": records(found),
                    "left_out": left_out,
                },
                indent=2,
                default=lambda v: list(v) if isinstance(v, tuple) else int(v),
            )
        )
        return

    def wait(seconds: float) -> str:
        if seconds is None or math.isnan(seconds):
            return ""
        for unit, size in (("d", 86_400), ("h", 3_600), ("min", 60)):
            if seconds >= size:
                return f"{seconds / size:,.1f} {unit}"
        return f"{seconds:,.0f} s"

    table = Table(title="Directly follows", title_justify="left")
    for heading in ("from", "to", "times", "cases", "median wait", "90th centile", "mean wait"):
        table.add_column(heading, justify="left" if heading in ("from", "to") else "right")
    for e in edges.itertuples():
        table.add_row(
            e.source,
            e.target,
            f"{e.count:,}",
            f"{e.cases:,}",
            wait(e.median_wait_s),
            wait(e.p90_wait_s),
            wait(e.mean_wait_s),
        )
    out.print(table)
    for title, ends_of_cases in (("Start activities", starts), ("End activities", ends)):
        table = Table(title=title, title_justify="left")
        for heading in ("activity", "cases", "share"):
            table.add_column(heading, justify="left" if heading == "activity" else "right")
        for a in ends_of_cases.itertuples():
            table.add_row(a.activity, f"{a.count:,}", f"{a.share:.1%}")
        out.print(table)
    table = Table(title=f"Variants (the commonest {len(found)})", title_justify="left")
    for heading in ("#", "cases", "share", "events", "median lead time", "activities"):
        table.add_column(heading, justify="left" if heading == "activities" else "right")
    for v in found.itertuples():
        table.add_row(
            str(v.variant),
            f"{v.count:,}",
            f"{v.share:.1%}",
            str(v.length),
            wait(v.median_lead_time_s),
            " → ".join(v.activities),
        )
    out.print(table)
    if left_out["events"]:
        out.print(
            f"{left_out['events']:,} events in {left_out['cases']:,} cases were left out of "
            "the maps: they have no timestamp or no activity."
        )
    else:
        out.print("No event was left out: every event has a timestamp and an activity.")


def main() -> None:
    try:
        app()
    except UserError as error:
        err.print(f"[red]error:[/red] {error}", highlight=False, soft_wrap=True)
        sys.exit(2)
    except KeyboardInterrupt:
        err.print("Interrupted; the warehouse is unchanged by the unfinished step.")
        sys.exit(130)
    except Exception as error:  # a full disk is the user's to fix; anything else is a bug
        from carevalue.sources.ingest import disk_full_message

        if (message := disk_full_message(error)) is None:
            raise
        err.print(f"[red]error:[/red] {message}", highlight=False, soft_wrap=True)
        sys.exit(2)


if __name__ == "__main__":
    main()
