"""CLI command `retain export`: the latest scores as files a CS platform imports as they are."""

from __future__ import annotations

from pathlib import Path

import typer


def export(
    to: str = typer.Option(
        ..., "--to", help="Platform: gainsight, churnzero, vitally, planhat or totango."
    ),
    data: Path = typer.Option(
        ..., "--data", help="Data source folder or DuckDB file (its retain.toml applies)."
    ),
    out: Path = typer.Option(..., "--out", help="Folder to write the files into."),
    scores: Path = typer.Option(
        None,
        "--scores",
        help="Scores Parquet written by `retain score --out FILE` [default: the score store].",
    ),
    store: Path = typer.Option(None, "--store", help="Score store [serving.store_path]."),
    since: str = typer.Option(
        None,
        "--since",
        help="Send earlier scores (time series, Vitally history) from this date on only, "
        "YYYY-MM-DD [default: the whole history]; the latest score always goes.",
    ),
    plays: Path = typer.Option(
        None,
        "--plays",
        help="plays.parquet of `retain plays assign` for the next play (control-group accounts "
        "get none) [default: the plays the scores carry, if any].",
    ),
    ledger: Path = typer.Option(
        None,
        "--ledger",
        help="Score ledger folder for history (trend fields, time series) "
        "[serving.ledger_path, else beside the store].",
    ),
) -> None:
    """Write the latest scores as the files a CS platform's bulk import takes as they are.

    One row (or message) per account, keyed on the account id, with the fields of `[exports]`
    in retain.toml (defaults in brackets): the score [churn_probability x 100, "Retain Churn
    Risk"], the band [green/yellow/red, "Retain Health Band"], the expansion likelihood, the
    ARR at risk [churn_probability x ARR], the top risk reasons ["Retain Risk Reason 1..3"],
    the next play (from --plays, or the plays the scores carry; never a control-group
    account's), the snapshot date, and, when the
    score ledger has an earlier score, the previous score and the change.

    Per platform: gainsight = Company CSV for a Bulk API upsert on `gainsight_key_field`;
    churnzero = account CSV, `accountExternalId` + `cf_<field>` columns; vitally = Analytics
    API batch bodies (100 messages each), traits on `accountId`, timestamped, history first;
    planhat = bulk-upsert bodies (`externalId` + `custom`, 5,000 each) and the score as a
    time-series metric (`planhat_dimension_id`); totango = Accounts CSV on `account_id`.
    Files are cut to each platform's limits per file or call (docs/exports.md says which are
    documented); `<platform>-manifest.json` lists them.
    No network calls: upload the files, or let a job push them (docs/exports.md).
    """
    import json

    from retain.config import load_config
    from retain.errors import RetainError
    from serving.batch import parse_as_of
    from serving.exports import PLATFORMS, build_records, write_export
    from serving.exports._history import read_history
    from serving.exports._record import (
        latest_run,
        read_plays_file,
        read_scores_file,
        scores_from_store,
    )

    platform = to.strip().lower()
    if platform not in PLATFORMS:
        raise RetainError(f"Unknown platform {to!r} for --to; choose one of {', '.join(PLATFORMS)}")
    if not data.exists():
        raise RetainError(f"--data {data} does not exist (a data source folder or DuckDB file)")
    overrides = {"serving": {"store_path": str(store) if store else None}}
    config = load_config(data, overrides=overrides)
    if scores is not None:
        frame = read_scores_file(scores)
    else:
        frame = scores_from_store(config.serving.store_path)
    frame, left_out = latest_run(frame)
    history = read_history(config, ledger)
    next_plays = read_plays_file(plays) if plays is not None else None
    records = build_records(frame, history, since=parse_as_of(since, "--since"), plays=next_plays)
    manifest = write_export(platform, records, config.exports, out)
    summary = json.loads(manifest.read_text(encoding="utf-8"))
    files = [f for parts in summary["files"].values() for f in parts]
    trend = "with history" if records.has_history else "no earlier scores (latest only)"
    typer.echo(
        f"Exported {summary['accounts']} accounts at {summary['as_of']} for {platform} "
        f"({trend}): {len(files)} file(s) in {out}; manifest {manifest.name}"
    )
    notes = list(summary.get("notes", []))
    if left_out:
        notes.insert(
            0,
            f"{left_out} accounts have no score at {summary['as_of']} (not active at the latest "
            "run): left out",
        )
    for note in notes:
        typer.secho(f"note: {note}", fg=typer.colors.YELLOW, err=True)


def register(app: typer.Typer) -> None:
    """Add `retain export` to `app`."""
    app.command("export")(export)
