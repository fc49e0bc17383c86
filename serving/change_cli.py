"""`retain explain-change`: why an account's score moved between two snapshots in the ledger."""

from __future__ import annotations

import json
from pathlib import Path

import typer


def explain_change(
    account: str = typer.Option(..., "--account", help="The account id."),
    since: str = typer.Option(
        None,
        "--since",
        help="Compare with the latest snapshot at or before this date (YYYY-MM-DD) "
        "[default: the previous snapshot in the ledger].",
    ),
    target: str = typer.Option("churn", "--target", help="churn or expansion."),
    top: int = typer.Option(None, "--top", help="Movers to list [default: every one]."),
    data: Path = typer.Option(None, "--data", help="Data source whose retain.toml applies."),
    ledger: Path = typer.Option(None, "--ledger", help="Ledger folder [serving.ledger_path]."),
    store: Path = typer.Option(
        None, "--store", help="Score store whose ledger to read [serving.store_path]."
    ),
    model_path: Path = typer.Option(None, "--model-path", help="A saved model pair folder."),
    model_alias: str = typer.Option(None, "--model-alias", help="Registry alias loaded first."),
    as_json: bool = typer.Option(False, "--json", help="Print the change as JSON (the API's)."),
) -> None:
    """Explain the move of an account's score between its latest snapshot and an earlier one.

    The change in log-odds is split feature by feature with exact baseline Shapley values (the
    earlier snapshot is the single reference point); they add up to the change. When the model
    version or the segment changed in between, the move is split into "the account changed"
    (the earlier model on both snapshots) and "the model changed". Probability points apportion
    the calibrated change in proportion to the log-odds attributions.
    """
    from retain.config import load_config
    from retain.errors import RetainError
    from serving.batch import parse_as_of
    from serving.ledger import latest_rows, ledger_folder, previous_rows, read_history
    from serving.movers import ModelResolver, changes_for

    if target not in ("churn", "expansion"):
        raise RetainError(f"--target must be churn or expansion (got {target!r})")
    since_day = parse_as_of(since, "--since")
    overrides = {
        "ledger_path": str(ledger) if ledger else None,
        "store_path": str(store) if store else None,
        "model_path": str(model_path) if model_path else None,
        "model_alias": model_alias,
    }
    config = load_config(data, overrides={"serving": overrides})
    folder = ledger_folder(config)
    history = read_history(folder, account_ids=[account])
    if history.empty:
        raise RetainError(
            f"Account {account!r} has no scores in the ledger {folder}; "
            "run `retain score` (each run is appended there)"
        )
    latest = latest_rows(history)
    current = latest.iloc[[-1]]
    as_of = str(pd_date(current["as_of"].iloc[0]))
    previous = previous_rows(latest, {account: as_of}, since=since_day)
    if not previous:
        when = f"at or before {since_day}" if since_day else f"before {as_of}"
        dates = ", ".join(pd_date(d) for d in latest["as_of"])
        raise RetainError(
            f"Account {account!r} has no scored snapshot {when} in the ledger {folder} "
            f"(its snapshots: {dates}): nothing to compare with"
        )
    from serving.scoring import load_model_pair

    try:
        models = load_model_pair(config)
    except RetainError:
        models = None  # the registry or a model folder may still hold the versions needed
    change = changes_for(current, previous, ModelResolver(config, models), target=target, top=top)
    payload = change[account]
    if as_json:
        typer.echo(json.dumps(payload, indent=2))
        return
    typer.echo(_render(account, as_of, payload, target))


def pd_date(value: object) -> str:
    import pandas as pd

    return pd.Timestamp(value).date().isoformat()


def _render(account: str, as_of: str, payload: dict, target: str) -> str:
    before = payload[f"previous_{target}_probability"]
    after = payload[f"{target}_probability"]
    lines = [
        f"{account}: {target} probability {before * 100:.1f}% ({payload['previous_as_of']}) -> "
        f"{after * 100:.1f}% ({as_of})",
        payload["text"],
        "",
        f"  {'feature':<40} {'before':>12} {'after':>12} {'log-odds':>10} {'points':>8}",
    ]
    for mover in payload["movers"]:
        lines.append(
            f"  {mover['feature']:<40} {_value(mover['before']):>12} {_value(mover['after']):>12}"
            f" {mover['log_odds']:>+10.4f} {mover['points']:>+8.2f}"
        )
    if abs(payload["other_points"]) > 5e-3:
        lines.append(f"  {'(features not listed)':<66} {payload['other_points']:>+19.2f}")
    if payload["model_changed"]:
        lines.append(
            f"  {'(model or segment changed)':<66} {payload['model_log_odds']:>+10.4f}"
            f" {payload['model_points']:>+8.2f}"
        )
    lines += [
        "",
        f"Change in log-odds {payload['log_odds_change']:+.6f}: the account "
        f"{payload['account_log_odds']:+.6f} (explained with {payload['explained_with']})"
        + (
            f", the model {payload['model_log_odds']:+.6f}"
            if payload["model_log_odds"] is not None
            else ""
        )
        + ".",
        payload["method"],
    ]
    return "\n".join(lines)


def _value(value: object) -> str:
    if value is None:
        return "missing"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)[:12]


def register(app: typer.Typer) -> None:
    """Add this module's command to `app`."""
    app.command("explain-change")(explain_change)
