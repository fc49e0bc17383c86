"""`retain plays assign`: a play, an owner and a review date for every account at risk or ready
to expand, from the latest scores."""

from __future__ import annotations

from pathlib import Path

import typer

PLAYS_FILE = "plays.parquet"
CSV_FILE = "plays.csv"
SUMMARY_FILE = "plays_summary.json"
OWNERS_FILE = "plays_by_owner.csv"
_DATE_COLUMNS = ("as_of", "due_date", "review_date", "renewal_date")


def assign(
    data: Path = typer.Option(
        ..., "--data", help="Data source folder (its retain.toml holds the [playbook])."
    ),
    out: Path = typer.Option(
        ..., "--out", help="Folder for plays.parquet, plays.csv and a summary."
    ),
    store: Path = typer.Option(
        None, "--store", help="Score store written by `retain score` [serving.store_path]."
    ),
    scores: Path = typer.Option(
        None, "--scores", help="A scores .parquet of `retain score` instead of the store."
    ),
    as_of: str = typer.Option(
        None, "--as-of", help="Snapshot date in the store [default: the latest it holds]."
    ),
    expansion_ready_from: float = typer.Option(
        None,
        "--expansion-ready-from",
        help="'Ready to expand' from this expansion probability [playbook.expansion_ready_from; "
        "default: the expansion model's top band].",
    ),
    model_path: Path = typer.Option(
        None, "--model-path", help="The saved model pair folder the scores came from, if any."
    ),
) -> None:
    """Give every account at risk or ready to expand a play, an owner and a review date.

    Reads the latest snapshot of the score store (or a scores file) and runs the `[playbook]`
    of retain.toml: each play's trigger (signals, drivers among the top risk reasons, "ready to
    expand", health bands, a renewal window) and priority pick the account's play. The owner is
    the account's csm_id, else "unassigned"; due and review dates count from the snapshot
    date; a play's `control_share` holds back a deterministic random share of its accounts
    (arm "control"). Writes one row per account (its play, the other plays that fired, the
    reason, the ARR at stake, the arm) as plays.parquet and a CRM-ready plays.csv, the
    per-owner view as plays_by_owner.csv, and plays_summary.json with the save loop's measure:
    the share of red accounts with a play, an owner and a review date (goal 100%).
    """
    import pandas as pd

    from playbook._store import read_latest
    from playbook.recommend import check_playbook, primary, recommend
    from playbook.recommend import expansion_ready_from as threshold_of
    from playbook.summary import by_owner, summarize
    from retain.config import load_config
    from retain.errors import RetainError
    from retain.files import write_csv, write_json, write_parquet
    from serving.signals import SIGNAL_NAMES

    config = load_config(
        data,
        overrides={
            "serving": {
                "store_path": str(store) if store else None,
                "model_path": str(model_path) if model_path else None,
            },
            "playbook": {"expansion_ready_from": expansion_ready_from},
        },
    )
    check_playbook(config.playbook.plays, SIGNAL_NAMES)
    if scores is not None:
        if not scores.is_file():
            raise RetainError(f"--scores {scores} does not exist; `retain score --out` writes it")
        scored = pd.read_parquet(scores)
        if as_of is not None:
            scored = scored[pd.to_datetime(scored["as_of"]) == pd.Timestamp(as_of)]
        features = None
        source = str(scores)
    else:
        scored, features = read_latest(config.serving.store_path, as_of)
        source = config.serving.store_path
    if scored.empty:
        raise RetainError(f"No scored accounts in {source}" + (f" at {as_of}" if as_of else ""))
    bands = None
    needs_model = any(p.expansion_ready for p in config.playbook.plays)
    if needs_model and config.playbook.expansion_ready_from is None:
        from playbook._model import expansion_bands

        versions = scored["expansion_model_version"].dropna().astype(str).unique()
        if len(versions) != 1:
            raise RetainError(
                f"{source} holds scores of {len(versions)} expansion model versions; set "
                "--expansion-ready-from (or [playbook] expansion_ready_from)"
            )
        bands = expansion_bands(config, versions[0])
    ready_from, basis = threshold_of(config, bands)
    plays = recommend(scored, features, config, expansion_ready_from=ready_from)
    first = primary(plays)
    summary = summarize(plays, scored, config.playbook.unassigned_owner)
    summary.update(
        source=source,
        as_of=str(pd.to_datetime(scored["as_of"]).max().date()),
        expansion_ready_from=ready_from,
        expansion_ready_basis=basis,
    )
    out.mkdir(parents=True, exist_ok=True)
    write_parquet(out / PLAYS_FILE, first)
    write_csv(out / CSV_FILE, _crm_view(first))
    write_json(out / SUMMARY_FILE, summary)
    owners = by_owner(plays)
    write_csv(out / OWNERS_FILE, owners.assign(next_due=pd.to_datetime(owners["next_due"]).dt.date))
    _print_summary(summary, owners, out)


def _crm_view(first):
    """The CRM import: dates as dates, probabilities rounded, the play's fields first."""
    flat = first.copy()
    for column in _DATE_COLUMNS:
        flat[column] = flat[column].dt.date
    for column in ("churn_probability", "expansion_probability"):
        flat[column] = flat[column].round(4)
    return flat


def _print_summary(summary: dict, owners, out: Path) -> None:
    share = summary["red_with_play_owner_review_share"]
    ready = summary["expansion_ready_from"]
    typer.echo(
        f"{summary['accounts_with_play']} of {summary['accounts_scored']} accounts have a play "
        f"at {summary['as_of']} ({summary['at_risk_with_play']} at risk, "
        f"{summary['ready_to_expand_with_play']} ready to expand"
        + (f" from {ready:.0%}" if ready is not None else "")
        + f"); {summary['unassigned_accounts']} unassigned, "
        f"{summary['control_accounts']} held back as control."
    )
    typer.echo(
        f"Red accounts with a play, an owner and a review date: "
        f"{summary['red_with_play_owner_review']} of {summary['red_accounts']}"
        + (f" ({share:.0%}; goal 100%)" if share is not None else "")
    )
    if len(owners):
        busiest = ", ".join(
            f"{row.owner} {row.accounts} ({row.red} red)" for row in owners.head(3).itertuples()
        )
        typer.echo(f"Owners with the most red accounts: {busiest}")
    typer.echo(
        f"-> {out / PLAYS_FILE}, {out / CSV_FILE}, {out / OWNERS_FILE}, {out / SUMMARY_FILE}"
    )


def register(app: typer.Typer) -> None:
    """Add this stage's commands to `app`."""
    plays = typer.Typer(
        help="The save loop: plays, owners and review dates for accounts at risk or ready to "
        "expand.",
        no_args_is_help=True,
    )
    plays.command("assign")(assign)
    from playbook.effects_cli import evaluate  # issue 21: its own module, light at import

    plays.command("evaluate")(evaluate)
    app.add_typer(plays, name="plays")
