"""`retain plays evaluate`: which past plays worked, against control groups where there were any."""

from __future__ import annotations

from pathlib import Path

import typer

EFFECTS_FILE = "plays_effects.json"
REPORT_FILE = "plays_effects.html"


def evaluate(
    data: Path = typer.Option(..., "--data", help="Data source folder (with a plays table)."),
    out: Path = typer.Option(
        ..., "--out", help="Folder for plays_effects.json and plays_effects.html."
    ),
    features: Path = typer.Option(
        None,
        "--features",
        help="A monthly feature frame of `retain features` for this data [default: built here].",
    ),
    n_bootstrap: int = typer.Option(2000, "--n-bootstrap", help="Bootstrap draws per estimate."),
    seed: int = typer.Option(0, "--seed", help="Seed of the bootstrap and the cross-fitting."),
    segments: bool = typer.Option(
        True, "--segments/--no-segments", help="Estimate per segment as well as overall."
    ),
    mlflow: bool = typer.Option(True, "--mlflow/--no-mlflow", help="Log an MLflow run."),
) -> None:
    """Measure each past play's effect on renewal risk (churn) and on expansion.

    Every row of the plays table is evaluated on the account's snapshot at or just before its
    started_at (features as they stood then; outcomes only when known before the data's end).
    A play whose rows were assigned at random (assignment "random", arms treated and control)
    is compared with its control arm: treated rate minus control rate, with Newcombe's 95%
    interval and a bootstrap one. Any other play gets an observational estimate (doubly robust
    AIPW on LightGBM, effect on the treated), labelled as such, only when treated and untreated
    accounts overlap in their propensity; otherwise it is reported as not identified. Each
    estimate says the sample size that would make a difference of its size conclusive.
    Writes plays_effects.json and plays_effects.html, and logs an MLflow run.
    """
    import pandas as pd

    from features.build import build_features
    from features.engine import open_validated
    from playbook.effects_report import render_effects_report
    from playbook.evaluate import evaluate_plays
    from retain.config import load_config
    from retain.errors import RetainError
    from retain.files import write_json, write_text
    from retain.progress import progress_bar

    config = load_config(data)
    source = open_validated(data, config)
    if not source.has("plays"):
        raise RetainError(
            f"{data} has no plays table: `retain plays evaluate` measures past plays (account_id, "
            "play, started_at, arm, assignment); `retain plays assign` writes them."
        )
    plays = source.frame("plays")
    if plays.empty:
        raise RetainError(f"The plays table of {data} has no rows: no play to evaluate.")
    if features is not None:
        if not features.is_file():
            raise RetainError(f"--features {features} does not exist; `retain features` writes it")
        frame = pd.read_parquet(features)
    else:
        with progress_bar(transient=True) as progress:
            frame = build_features(source, config, spine="monthly", progress=progress)
    with progress_bar(transient=True) as progress:
        task = progress.add_task("plays", total=int(plays["play"].nunique()))
        result = evaluate_plays(
            frame,
            plays,
            source.data_end,
            n_bootstrap=n_bootstrap,
            seed=seed,
            segments=segments,
            progress=lambda name: progress.update(task, advance=1, description=name),
        )
    result = _json_ready(result)
    result["data"] = str(data)
    out.mkdir(parents=True, exist_ok=True)
    html = render_effects_report(result, data=str(data))
    write_text(out / REPORT_FILE, html)
    if mlflow:
        result["mlflow"] = _log_run(result, out, config)
    write_json(out / EFFECTS_FILE, result)
    _print_summary(result, out)


def _json_ready(value):
    """NaN (an empty arm, an undefined power) as null: strict JSON readers refuse NaN."""
    if isinstance(value, dict):
        return {k: _json_ready(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_json_ready(v) for v in value]
    if isinstance(value, float) and value != value:
        return None
    return value


def _metric_key(*parts: str) -> str:
    return ".".join(p.replace(" ", "_") for p in parts)


def _log_run(result: dict, out: Path, config) -> dict:
    """One MLflow run with every estimate as metrics and both files; its id, or the error."""
    import mlflow

    from training.tracking import configure_mlflow

    metrics = {}
    for e in result["estimates"]:
        if e.get("effect") is None:
            continue
        key = _metric_key(e["play"], e["outcome"], e["segment"])
        for name in ("effect", "ci_low", "ci_high", "treated_n", "control_n"):
            metrics[f"{key}.{name}"] = float(e[name])
    try:
        configure_mlflow(config)
        mlflow.set_experiment(config.tracking.experiment)
        tags = {"retain.stage": "plays_evaluate"}
        with mlflow.start_run(run_name="plays evaluate", tags=tags) as run:
            mlflow.log_params({"n_bootstrap": result["n_bootstrap"], "seed": result["seed"]})
            mlflow.log_metrics(metrics)
            mlflow.log_dict(result, f"plays/{EFFECTS_FILE}")
            mlflow.log_artifact(str(out / REPORT_FILE), artifact_path="plays")
            return {"run_id": run.info.run_id, "tracking_uri": mlflow.get_tracking_uri()}
    except Exception as error:  # MLflow raises its own, SQLAlchemy's and OS errors
        return {"error": f"{type(error).__name__}: {error}"}


def _print_summary(result: dict, out: Path) -> None:
    for e in result["estimates"]:
        if e["segment"] != "all":
            continue
        head = f"{e['play']} on {e['outcome']} ({e['design']}): "
        if e.get("effect") is None:
            typer.echo(
                head
                + ("not identified" if e.get("identified") is False else "no estimate")
                + f" ({e.get('note', '')})"
            )
            continue
        if e["conclusive"]:
            verdict = f"conclusive (Holm-adjusted p {e['p_adjusted']:.3f})"
        elif e.get("conclusive_unadjusted"):
            verdict = (
                "not conclusive once adjusted for the other overall estimates "
                f"(p {e['p_value']:.3f}, Holm-adjusted {e['p_adjusted']:.3f})"
            )
        elif e.get("needed_total"):
            verdict = f"not conclusive; ~{e['needed_total']} accounts would be"
        else:
            verdict = "not conclusive"
        typer.echo(
            head + f"{e['effect'] * 100:+.1f} pts [{e['ci_low'] * 100:+.1f}, "
            f"{e['ci_high'] * 100:+.1f}], {e['treated_n']} vs {e['control_n']}, {verdict}"
        )
    run = result.get("mlflow", {})
    if "error" in run:
        typer.echo(f"MLflow run not logged: {run['error']}")
    typer.echo(f"-> {out / EFFECTS_FILE}, {out / REPORT_FILE}")
