"""CLI commands for the input contract: `validate` and `import`."""

from __future__ import annotations

from pathlib import Path

import typer

import_app = typer.Typer(
    name="import",
    help="Map a public dataset onto the input contract (a folder retain reads).",
    no_args_is_help=True,
)


def register(app: typer.Typer) -> None:
    """Add this stage's commands to `app`."""
    app.command("validate")(validate)
    app.add_typer(import_app, name="import")


def validate(
    data: Path = typer.Option(
        ...,
        "--data",
        help="Folder of <table>.parquet/.csv, a .duckdb, or spark:<database> (Spark tables).",
    ),
    json_path: Path = typer.Option(None, "--json", help="Also write the report as JSON here."),
    engine: str = typer.Option(
        "duckdb",
        "--engine",
        help="duckdb: every check and warning; spark: the blocking checks as Spark SQL, for "
        "Spark tables or folders too large for one machine ([spark] section of retain.toml).",
    ),
) -> None:
    """Check a data source against the input contract and print a data-quality report.

    Exits 1 when a defect would make results wrong (blocking), 0 when there are only warnings.
    """
    from rich.console import Console

    from features.engine import open_source
    from features.validate import check
    from retain.config import load_config
    from retain.files import write_json

    if json_path is not None:
        from retain.paths import check_output_file

        check_output_file(json_path, "--json")
    from retain.progress import step

    config = load_config(data)
    source = open_source(data, config, engine)
    with step(f"validate: checking {data} against the input contract"):
        report = check(source, config)
    report.render(Console())
    if json_path is not None:
        write_json(json_path, report.to_dict())
    if not report.ok:
        raise typer.Exit(code=1)


@import_app.command("telco")
def import_telco(
    csv_path: Path = typer.Argument(..., help="Telco-Customer-Churn.csv"),
    out: Path = typer.Option(..., "--out", help="Folder to write the contract tables to."),
) -> None:
    """Import IBM's Telco Customer Churn CSV (one snapshot; contracts from tenure)."""
    from features.importers.telco import import_telco as run
    from retain.paths import check_output_folder

    check_output_folder(out)
    _summarise(run(csv_path, out))


@import_app.command("ravenstack")
def import_ravenstack(
    folder: Path = typer.Argument(..., help="Folder holding the ravenstack_*.csv files."),
    out: Path = typer.Option(..., "--out", help="Folder to write the contract tables to."),
) -> None:
    """Import the RavenStack SaaS export (accounts, subscriptions, usage, tickets, churn)."""
    from features.importers.ravenstack import import_ravenstack as run
    from retain.paths import check_output_folder

    check_output_folder(out)
    _summarise(run(folder, out))


def _summarise(out_dir: Path) -> None:
    """Say what was written and how it validates (details: `retain validate`)."""
    from rich.console import Console
    from rich.text import Text

    from features.source import DataSource
    from features.validate import check
    from retain.config import load_config

    config = load_config(out_dir)
    source = DataSource.open(out_dir, data_end=config.features.data_end)
    counts = ", ".join(
        f"{name} {source.sql(f'SELECT count(*) AS n FROM {name}')['n'].iloc[0]:,}"
        for name in source.tables
    )
    console = Console()
    console.print(Text(f"Wrote {out_dir}: {counts} rows, and retain.toml."))
    report = check(source)
    console.print(Text(report.verdict()))
    if report.warnings:
        console.print(Text(f"See the warnings: retain validate --data {out_dir}"))
