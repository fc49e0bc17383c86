"""CLI commands of the evaluation stage (registered on the `retain` app)."""

from __future__ import annotations

from pathlib import Path

import typer

POOLED_METRICS = ("roc_auc", "pr_auc", "brier", "ece", "top_decile_lift", "band_renewal_ratio")


def _pooled_table(summary: dict) -> object:
    from rich import box
    from rich.table import Table

    from training.cli import metric_label

    columns = POOLED_METRICS
    # Short labels (legend printed below) so the table fits 80 columns.
    table = Table(
        title="Pooled backtest metrics",
        box=box.SIMPLE_HEAD,
        padding=(0, 1, 0, 0),
        show_edge=False,
    )
    for name in ("target", "model", *columns):
        table.add_column(
            metric_label(name),
            justify="left" if name in ("target", "model") else "right",
            no_wrap=True,
        )
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
        "auto",
        "--cutoffs",
        help="'auto': per target, as many time-honest rolling origins as label latency allows "
        "(quarter starts, else month starts; at most [evaluation] n_cutoffs), else k-fold "
        "grouped by account, with the reason; 'quarterly' or 'monthly' force the spacing; "
        "'kfold' cross-validates every target; or dates YYYY-MM-DD,YYYY-MM-DD,...",
    ),
    lead_days: int = typer.Option(
        None, "--lead-days", help="Renewal spine: score each contract end this many days before."
    ),
    features: Path = typer.Option(
        None, "--features", help="Reuse a feature parquet (both spines) instead of building it."
    ),
    track: bool = typer.Option(True, "--track/--no-track", help="Log the outputs to MLflow."),
) -> None:
    """Backtest every candidate model per target, with a report of how much evidence stands
    behind the figures.

    Rolling origins where the labels allow them (models train only on outcomes known before each
    origin), else k-fold grouped by account; metrics.json and the report state the scheme of each
    target and give 95% intervals that resample accounts.
    """
    import pandas as pd
    from rich.console import Console

    from evaluation._windows import check_cutoffs
    from evaluation.backtest import build_backtest_frame, run_backtest
    from evaluation.outputs import log_backtest, save_backtest
    from features.source import DataSource
    from features.validate import require_valid
    from retain.config import load_config
    from retain.errors import RetainError
    from retain.paths import check_output_folder
    from retain.progress import progress_bar
    from training.cli import metric_legend

    check_output_folder(out)
    check_cutoffs(cutoffs)
    config = load_config(data, overrides={"labels": {"lead_days": lead_days}})
    source = DataSource.open(data, data_end=config.features.data_end)
    require_valid(source, config=config)
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

        from features.person_months import coverage_blocks_frame, coverage_end

        result = run_backtest(
            frame,
            config,
            cutoffs=cutoffs,
            truth=truth,
            data_end=source.data_end,
            data_label=str(data),
            progress=step,
            on_plan=on_plan,
            coverage_end=coverage_end(frame, coverage_blocks_frame(source, config)),
        )
    paths = save_backtest(result, out)
    Console().print(_pooled_table(result.summary))
    typer.echo(metric_legend(POOLED_METRICS))
    forecast = result.summary["forecast"]
    if forecast.get("grr_error_pct") is not None:
        typer.echo(
            f"Renewal forecast error ({forecast.get('model')}, mean |error| per cutoff): "
            f"GRR {forecast['grr_error_pct']:.1f}%, NRR {forecast['nrr_error_pct']:.1f}%"
        )
    for target, block in result.summary["targets"].items():
        evaluation = block.get("evaluation", {})
        typer.echo(f"{target}: {evaluation.get('scheme')} - {evaluation.get('note', '')}")
        evidence = block.get("evidence") or {}
        if evidence.get("sentence"):
            typer.echo(f"  {evidence['sentence']}")
        for finding in evidence.get("beaten_by", []):
            typer.echo(f"  Beaten: {finding}.")
        for conclusion in evidence.get("unsupported", []):
            typer.echo(f"  Not supported: {conclusion}.")
    survival = result.summary.get("survival") or {}
    if survival.get("metrics"):
        anchored = survival["metrics"]["anchored"]
        typer.echo(
            f"Time to churn ({survival['horizon_months']} months): Uno's C "
            f"{anchored['uno_c_index']:.3f}, integrated Brier "
            f"{anchored['integrated_brier']:.3f} (Kaplan-Meier "
            f"{survival['metrics']['kaplan_meier']['integrated_brier']:.3f}); 1 - S(T) agrees "
            f"with churn_probability per segment: {survival['consistency']['passed']}"
        )
    elif survival.get("skipped"):
        typer.echo(f"Time to churn not evaluated: {survival['skipped']}")
    if track:
        from retain.progress import step
        from training.tracking import configure_mlflow

        with step("backtest: logging the report and metrics to MLflow"):
            configure_mlflow(config)  # the experiment tagged as model training
            run_id = log_backtest(paths, result.summary, config)
        typer.echo(f"Logged to MLflow run {run_id} ({config.tracking.resolved_tracking_uri()})")
    typer.echo(f"Report: {paths['report']}")


def _profile_lines(facts: dict, supported: object) -> list[str]:
    lines = [
        f"History: {facts['data_start'] or '(no event tables)'} to {facts['data_end']} "
        f"({facts['history_months']} months); {facts['accounts']:,} accounts, "
        f"{facts['contracts']:,} contracts.",
        "Term mix: " + ", ".join(f"{k} {v:.0%}" for k, v in facts["term_mix"].items()) + ".",
        f"Snapshots: {facts['snapshots']:,} on {facts['snapshot_dates']} dates "
        f"({facts['snapshots_per_account']} per account).",
    ]
    for target, values in facts["targets"].items():
        rate = values["base_rate"]
        latency = values["latency_days_median"]
        lines.append(
            f"{target}: {values['known_snapshots']:,} outcomes known "
            f"({values['known_share']:.0%} of snapshots), base rate "
            f"{'n/a' if rate is None else f'{rate:.1%}'}, {values['positive_accounts']:,} "
            f"positive accounts; label latency median "
            f"{'n/a' if latency is None else f'{latency:.0f}'} days, 90th percentile "
            f"{values['latency_days_p90'] or float('nan'):.0f} days."
        )
    for target, plan in supported.plans.items():  # type: ignore[attr-defined]
        lines.append(f"Evaluation of {target}: {plan['scheme']}. {plan['note']}")
    return lines


def profile(
    data: Path = typer.Option(..., "--data", help="Data source folder or DuckDB file."),
    write: Path = typer.Option(
        None, "--write", help="Write the suggested settings as a retain.toml to this path."
    ),
    force: bool = typer.Option(False, "--force", help="Overwrite the --write file if it exists."),
) -> None:
    """Profile a data source before training: history span, term mix, base rate and label
    latency per target, which evaluation the data supports, and the settings it suggests.

    Builds only the snapshots and their labels (no features, no models), so it takes seconds.
    `--write FILE` saves the suggestions as a retain.toml; written as ./retain.toml in the
    working directory it applies on top of the data folder's own retain.toml. An existing file
    is kept unless `--force` is given.
    """
    from rich.console import Console

    from evaluation.suggest import settings_toml, supported_evaluation
    from features.profile import profile as profile_data
    from features.source import DataSource
    from features.validate import require_valid
    from retain.config import load_config
    from retain.errors import RetainError
    from retain.files import write_text

    if write is not None and write.exists() and not force:
        raise RetainError(f"{write} exists; pass --force to overwrite it.")
    if write is not None:
        from retain.paths import check_output_file

        check_output_file(write, "--write")
    from retain.progress import step

    config = load_config(data)
    source = DataSource.open(data, data_end=config.features.data_end)
    require_valid(source, config=config)
    with step("profile: snapshots, labels and the evaluation they support"):
        facts = profile_data(source, config)
        supported = supported_evaluation(facts, config)
    console = Console()
    for line in _profile_lines(facts.as_dict(), supported):
        console.print(line, highlight=False, markup=False)
    text = settings_toml(facts, supported)
    if write is not None:
        write_text(write, text)
        typer.echo(f"Wrote the suggested settings to {write}")
    else:
        typer.echo("")
        typer.echo(text.rstrip())


def register(app: typer.Typer) -> None:
    """Add this stage's commands to `app`."""
    app.command("backtest")(backtest)
    app.command("profile")(profile)
