"""CLI commands of the evaluation stage (registered on the `retain` app)."""

from __future__ import annotations

from pathlib import Path

import typer


def _pooled_table(summary: dict) -> object:
    from rich.table import Table

    columns = ("roc_auc", "pr_auc", "brier", "ece", "top_decile_lift", "band_renewal_ratio")
    table = Table(title="Pooled backtest metrics")
    for name in ("target", "model", *columns):
        table.add_column(name, justify="left" if name in ("target", "model") else "right")
    for target, block in summary["targets"].items():
        for model, values in block["models"].items():
            cells = []
            for column in columns:
                value = values.get(column)
                cells.append("" if value is None else f"{value:.3f}")
            table.add_row(target, model, *cells)
    return table


def backtest(
    data: Path = typer.Option(..., "--data", help="Data source folder or DuckDB file."),
    out: Path = typer.Option(..., "--out", help="Folder for metrics.json, report.html, ..."),
    cutoffs: str = typer.Option(
        "quarterly",
        "--cutoffs",
        help="'quarterly' (the last n_cutoffs quarter starts that qualify), 'kfold', or "
        "dates YYYY-MM-DD,YYYY-MM-DD,...",
    ),
    lead_days: int = typer.Option(
        None, "--lead-days", help="Renewal spine: score each contract end this many days before."
    ),
    features: Path = typer.Option(
        None, "--features", help="Reuse a feature parquet (both spines) instead of building it."
    ),
    track: bool = typer.Option(True, "--track/--no-track", help="Log the outputs to MLflow."),
) -> None:
    """Rolling backtest of every candidate model (k-fold for snapshot-only data), with report."""
    import pandas as pd
    from rich.console import Console

    from evaluation._windows import check_cutoffs
    from evaluation.backtest import build_backtest_frame, run_backtest
    from evaluation.outputs import log_backtest, save_backtest
    from features.source import DataSource
    from features.validate import require_valid
    from retain.config import load_config
    from retain.errors import RetainError
    from retain.progress import progress_bar

    check_cutoffs(cutoffs)
    config = load_config(data, overrides={"labels": {"lead_days": lead_days}})
    source = DataSource.open(data, data_end=config.features.data_end)
    require_valid(source)
    console = Console(stderr=True)
    if features is not None:
        if not features.is_file():
            raise RetainError(f"Feature file {features} does not exist.")
        frame = pd.read_parquet(features)
    else:
        with progress_bar(transient=True) as bar:
            frame = build_backtest_frame(source, config, progress=bar)
        console.print(f"Features: {len(frame)} snapshots, built once for every cutoff.")
    truth_path = Path(data) / "truth.parquet"
    truth = pd.read_parquet(truth_path) if truth_path.is_file() else None
    with progress_bar() as bar:
        task = bar.add_task("backtest", total=None)

        def on_plan(n: int) -> None:
            bar.update(task, total=n)

        def step(name: str) -> None:
            bar.update(task, advance=1, description=f"backtest: {name} done")

        result = run_backtest(
            frame,
            config,
            cutoffs=cutoffs,
            truth=truth,
            data_end=source.data_end,
            data_label=str(data),
            progress=step,
            on_plan=on_plan,
        )
    paths = save_backtest(result, out)
    Console().print(_pooled_table(result.summary))
    forecast = result.summary["forecast"]
    if forecast.get("grr_error_pct") is not None:
        typer.echo(
            f"Renewal forecast error (segmented, mean |error| per cutoff): "
            f"GRR {forecast['grr_error_pct']:.1f}%, NRR {forecast['nrr_error_pct']:.1f}%"
        )
    typer.echo(result.summary["cutoff_note"])
    if track:
        run_id = log_backtest(paths, result.summary, config)
        typer.echo(f"Logged to MLflow run {run_id} ({config.tracking.resolved_tracking_uri()})")
    typer.echo(f"Report: {paths['report']}")


def register(app: typer.Typer) -> None:
    """Add this stage's commands to `app`."""
    app.command("backtest")(backtest)
