"""CLI commands of the training stage: `retain train` and `retain promote`."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import typer

if TYPE_CHECKING:
    from collections.abc import Sequence

    import pandas as pd
    from rich.progress import Progress

    from retain.config import Config


def register(app: typer.Typer) -> None:
    """Add this stage's commands to `app`."""
    app.command("train")(train_command)
    app.command("promote")(promote_command)


def train_command(
    data: Path = typer.Option(..., "--data", help="Data source folder or DuckDB file."),
    features: Path = typer.Option(
        None,
        "--features",
        help="Feature frame parquet from `retain features`; built when absent.",
    ),
    target: str = typer.Option("all", "--target", help="churn, expansion or all."),
    tune: int = typer.Option(0, "--tune", min=0, help="Optuna trials per (target, segment)."),
    experiment: str = typer.Option(None, "--experiment", help="MLflow experiment name."),
    cutoff: str = typer.Option(
        None, "--cutoff", help="Use only labels known before this date (default: data end)."
    ),
) -> None:
    """Fit the LightGBM candidates per target (segmented, global, small-data, tuned with --tune)
    and the baselines, register the best on out-of-time validation as @challenger, log it all
    to MLflow. `retain promote` then decides on the backtest whether it replaces the champion."""
    from rich.console import Console

    from features.frame import TARGETS
    from retain.config import load_config
    from retain.errors import RetainError
    from retain.progress import progress_bar
    from training.train import METRIC_NAMES, train

    targets = TARGETS if target == "all" else (target,)
    if target != "all" and target not in TARGETS:
        raise RetainError(f"--target must be churn, expansion or all (got {target!r})")
    config = load_config(data, overrides={"tracking": {"experiment": experiment}})
    with progress_bar(transient=True) as progress:
        frame, data_end = _feature_frame(data, features, config, progress)
        when = _parse_date(cutoff, "--cutoff") if cutoff else data_end
        coverage = _coverage_end(data, frame, config) if "churn" in targets else None
        result = train(
            frame,
            targets,
            config,
            experiment=config.tracking.experiment,
            n_trials=tune,
            cutoff=when,
            progress=progress,
            coverage_end=coverage,
        )
    # Piped output (CI logs, tests) gets room for the whole table instead of 80 columns.
    console = Console() if sys.stdout.isatty() else Console(width=120)
    console.print(
        f"Validation metrics (out-of-time rows), labels known before {when.date()}", style="bold"
    )
    for name in dict.fromkeys(result.metrics["target"]):
        console.print(_metrics_table(name, result.metrics[result.metrics["target"] == name]))
    console.print(metric_legend(METRIC_NAMES, extra="pos: positives"), highlight=False)
    for name, ref in result.refs.items():
        selection = result.selections[name]
        console.print(f"{name}: {selection.note}", highlight=False)
        console.print(
            f"registered {ref.name} version {ref.version} as @{ref.alias} "
            f"({name}, candidate {selection.chosen})"
        )
    if result.survival_note:
        console.print(f"no time-to-churn model: {result.survival_note}")
    if result.survival is not None:
        m = result.survival.metrics_
        console.print(
            f"time to churn: S(t) for t = 1..{result.survival.n_months_} months from "
            f"{m['person_months']:,} person-months ({m['events']:,} churns), saved with "
            f"{result.refs['churn'].name} version {result.refs['churn'].version}"
        )
    console.print(
        f"MLflow store: {result.tracking_uri} (experiment {result.experiment!r}, run "
        f"{result.run_id}); browse with `mlflow ui --backend-store-uri {result.tracking_uri}`"
    )


# Short column labels so the terminal tables fit 80 columns; a legend line says what they mean.
METRIC_LABELS: dict[str, tuple[str, str]] = {
    "roc_auc": ("AUC", "ROC-AUC"),
    "pr_auc": ("PR", "PR-AUC"),
    "brier": ("Brier", "Brier score"),
    "log_loss": ("LL", "log loss"),
    "ece": ("ECE", "expected calibration error"),
    "top_decile_lift": ("Lift10", "outcome rate of the top-scored 10% over the base rate"),
    "band_renewal_ratio": ("G/R", "green-band renewal rate over red-band renewal rate"),
}


def metric_label(name: str) -> str:
    return METRIC_LABELS.get(name, (name.replace("_", " "), ""))[0]


def metric_legend(names: Sequence[str], extra: str = "") -> str:
    """One line: `AUC: ROC-AUC; PR: PR-AUC; ...` for the metrics a table shows."""
    parts = [f"{METRIC_LABELS[n][0]}: {METRIC_LABELS[n][1]}" for n in names if n in METRIC_LABELS]
    return "; ".join([*parts, *([extra] if extra else [])]) + "."


def _metrics_table(target: str, rows: pd.DataFrame) -> object:
    from rich import box
    from rich.table import Table

    from training.train import METRIC_NAMES

    table = Table(title=target, box=box.SIMPLE_HEAD, padding=(0, 1, 0, 0), show_edge=False)
    for column in ("model", "segment", "uses"):
        table.add_column(column, no_wrap=True)
    for column in ("rows", "pos", *METRIC_NAMES):
        table.add_column(metric_label(column), justify="right", no_wrap=True)
    for row in rows.itertuples(index=False):
        values = row._asdict()
        table.add_row(
            *(str(values[c]) for c in ("model", "segment", "strategy")),
            str(values["valid_rows"]),
            str(values["valid_positives"]),
            *(_fmt(values[m]) for m in METRIC_NAMES),
        )
    return table


def _coverage_end(data: Path, frame: pd.DataFrame, config: Config) -> pd.Series:
    """Per frame row, the end of the coverage in force at as_of (time to churn's outcome)."""
    from features.person_months import coverage_blocks_frame, coverage_end
    from features.source import DataSource

    source = DataSource.open(data)
    return coverage_end(frame, coverage_blocks_frame(source, config))


def _parse_date(value: str, option: str) -> pd.Timestamp:
    import pandas as pd

    from retain.errors import RetainError

    try:
        return pd.Timestamp(value)
    except ValueError as error:
        raise RetainError(f"{option} {value!r} is not a date (use YYYY-MM-DD)") from error


def _fmt(value: object) -> str:
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return "-"
    return "-" if number != number else f"{number:.3f}"


def _feature_frame(
    data: Path, features: Path | None, config: Config, progress: Progress
) -> tuple[pd.DataFrame, pd.Timestamp]:
    """The feature frame (read or built) and the data's exclusive end date."""
    import pandas as pd

    from features.source import DataSource
    from features.validate import require_valid
    from retain.errors import RetainError

    source = DataSource.open(data)
    require_valid(source)
    data_end = pd.Timestamp(source.data_end)
    if features is not None:
        if not features.is_file():
            raise RetainError(f"--features {features}: no such file")
        return pd.read_parquet(features), data_end
    from features.build import build_features

    return build_features(source, config, spine="both", progress=progress), data_end


NOT_PROMOTED = 3  # exit code of `retain promote` when the gate keeps the champion


def promote_command(
    target: str = typer.Option(..., "--target", help="churn or expansion."),
    version: str = typer.Option(
        None, "--version", help="Registered version to promote (default: the challenger)."
    ),
    reason: str = typer.Option(
        None, "--reason", help="Why, recorded as a tag (default: the gate's verdict)."
    ),
    force: bool = typer.Option(
        False, "--force", help="Skip the backtest gate (a --reason is then required)."
    ),
    data: Path = typer.Option(None, "--data", help="Data source for the backtest gate."),
    features: Path = typer.Option(
        None, "--features", help="Feature frame parquet for the backtest gate."
    ),
) -> None:
    """Promote the challenger to `champion` when the backtest gate says it is better.

    The gate refits challenger and champion on the same backtest and promotes only when the
    challenger's primary metric is better beyond the paired bootstrap noise and its calibration
    is within tolerance; with no champion yet there is nothing to compare. `--force --reason`
    skips it, `--version` promotes a given version. Who, when and why are recorded as tags on
    the model version. Exit 0: promoted; 3: not promoted (the champion stays); 1: an error.
    """
    from rich.console import Console

    from features.frame import TARGETS
    from retain.config import load_config
    from retain.errors import RetainError
    from training.registry import CHALLENGER, CHAMPION, promote, version_of

    if target not in TARGETS:
        raise RetainError(f"--target must be one of {', '.join(TARGETS)} (got {target!r})")
    config = load_config(data)
    challenger = version_of(target, CHALLENGER, config)
    version = version or challenger
    if version is None:
        raise RetainError(f"retain-{target} has no challenger; pass --version or run retain train")
    if force:
        if not reason:
            raise RetainError("--force needs a --reason: the tag records why the gate was skipped")
        why = f"{reason} (forced past the backtest gate)"
    else:
        if version != challenger:
            raise RetainError(
                f"The backtest gate compares the challenger (version {challenger}) with the "
                f"champion; promote version {version} with --force --reason ..."
            )
        from evaluation.gate import check_promotion
        from retain.progress import step

        # The gate refits the models on a backtest: most of a minute with nothing to report.
        # Without a champion there is nothing to compare; the challenger's own figure is shown.
        refits = "challenger and champion" if version_of(target, CHAMPION, config) else "challenger"
        with step(f"promote {target}: backtest gate (refitting the {refits})"):
            decision = check_promotion(target, config, data=data, features=features)
        if not decision.promote:
            # A verdict, not a failure: exit 3 lets a pipeline tell "the champion stays" from
            # an error (exit 1).
            raise RetainError(f"Not promoted: {decision.reason}", exit_code=NOT_PROMOTED)
        why = reason or decision.reason
    ref = promote(target, version, why, config)
    Console().print(f"{ref.name} version {ref.version} is now @{ref.alias}: {why}")
