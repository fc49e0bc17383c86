"""CLI commands of the monitoring stage (registered on the `retain` app)."""

from __future__ import annotations

import contextlib

import typer

from retain.errors import RetainError


def register(app: typer.Typer) -> None:
    """Add this stage's commands to `app`."""
    app.command("drift")(drift)


def drift(
    out: str = typer.Option(..., "--out", help="Folder for drift.json and drift.html."),
    reference: str = typer.Option(
        None, "--reference", help="Reference feature file (from `retain features`)."
    ),
    current: str = typer.Option(
        None, "--current", help="Current feature file (from `retain features`)."
    ),
    data: str = typer.Option(
        None, "--data", help="Data source to build both windows from (with the --*-as-of dates)."
    ),
    reference_as_of: str = typer.Option(
        None,
        "--reference-as-of",
        help="Reference as_of date: built from --data, or picked out of the --reference file.",
    ),
    current_as_of: str = typer.Option(
        None,
        "--current-as-of",
        help="Current as_of date: built from --data, or picked out of the --current file.",
    ),
    model: str = typer.Option(
        None,
        "--model",
        help="Registry alias to score with (champion or challenger). Default: the champion "
        "when one exists, else prediction drift is skipped.",
    ),
    model_path: str = typer.Option(
        None, "--model-path", help="A saved model folder (or one with churn/ and expansion/)."
    ),
    threshold: float = typer.Option(
        None,
        "--threshold",
        help="PSI above which a feature or a score drifts (config: drift.psi_threshold).",
    ),
    null_share_delta: float = typer.Option(
        None,
        "--null-share-delta",
        help="Jump in missing share that is drift (config: drift.null_share_delta).",
    ),
    report: bool = typer.Option(
        True, "--report/--no-report", help="Build the Evidently HTML report (on a sample)."
    ),
    mlflow: bool = typer.Option(True, "--mlflow/--no-mlflow", help="Log the check to MLflow."),
    fail_on: str = typer.Option(
        None,
        "--fail-on",
        help="What makes the check exit 1, comma-separated: used_features (drift in a feature "
        "a monitored model uses), features (any), scores, outcomes (config: drift.fail_on; "
        "default used_features,scores,outcomes).",
    ),
    ignore_features: str = typer.Option(
        None,
        "--ignore-features",
        help="Structural features (names or patterns, comma-separated) measured but never "
        "drifting; '' counts every feature (config: drift.ignore_features; default "
        "tenure_days,renewals_count).",
    ),
) -> None:
    """Feature, score and outcome drift between two windows.

    Exit code 0: nothing crossed its threshold; 1: drift; 2: error (bad input, missing model).
    """
    from monitoring.drift import run_drift, write_error_report
    from monitoring.inputs import INPUT_ERROR, load_windows
    from monitoring.prediction import load_models
    from retain.config import load_config
    from retain.paths import check_output_folder
    from retain.progress import progress_bar

    try:
        check_output_folder(out)
        config = load_config(
            data,
            overrides={
                "drift": {
                    "psi_threshold": threshold,
                    "null_share_delta": null_share_delta,
                    "fail_on": fail_on,
                    "ignore_features": ignore_features,
                }
            },
        )
        with progress_bar(transient=True) as progress:
            task = progress.add_task("drift: reading the windows", total=None)
            reference_frame, current_frame = load_windows(
                config,
                reference=reference,
                current=current,
                data=data,
                reference_as_of=reference_as_of,
                current_as_of=current_as_of,
            )
            progress.update(task, description="drift: loading the models")
            models = load_models(config, alias=model, model_path=model_path)
            progress.update(task, total=1, completed=1, visible=False)
            result = run_drift(
                reference_frame,
                current_frame,
                out,
                config,
                models=models,
                report=report,
                log_to_mlflow=mlflow,
                progress=progress,
            )
    except Exception as error:
        # Every failure is exit 2, never Python's default 1, which a job would read as "drift".
        message = (
            str(error)
            if isinstance(error, RetainError)
            else (f"drift check failed: {type(error).__name__}: {error}")
        )
        failure = RetainError(message, exit_code=INPUT_ERROR)
        with contextlib.suppress(OSError):
            write_error_report(out, failure)
        raise failure from error

    typer.echo(result.message)
    for line in _top_lines(result.payload):
        typer.echo(line)
    typer.echo(
        f"Wrote {result.json_path}" + (f" and {result.html_path}" if result.html_path else "")
    )
    run = result.payload.get("mlflow", {})
    if "error" in run:
        typer.echo(f"warning: not logged to MLflow: {run['error']}", err=True)
    if result.exit_code:
        raise typer.Exit(result.exit_code)


def _top_lines(payload: dict) -> list[str]:
    """The top features by PSI as a small table that fits 80 columns."""
    from monitoring.drift import share_text

    top = payload.get("top_features") or []
    if not top:
        return []
    targets = list((payload.get("importance") or {}).get("models") or {})
    head = "  ".join(f"{'imp ' + t[:3]:>8}" for t in targets)
    lines = [f"{'top features by PSI':<32} {'PSI':>6}  {'missing':>11}  {head}  verdict"]
    for row in top[:5]:
        shares = row.get("importance") or {}
        imp = "  ".join(f"{share_text(shares.get(t, 0.0)):>8}" for t in targets)
        missing = f"{row['null_share_reference']:.0%}->{row['null_share_current']:.0%}"
        verdict = "DRIFT" if row["fails"] else ("drift, unused" if row["drifted"] else "ok")
        name = row["feature"][:32]
        lines.append(f"{name:<32} {row['psi']:>6.3f}  {missing:>11}  {imp}  {verdict}")
    if targets:
        lines.append("imp: share of the model's split gain (churn, expansion)")
    return lines
