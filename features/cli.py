"""CLI commands of the features stage (registered on the `retain` app)."""

from __future__ import annotations

from pathlib import Path

import typer


def features_command(
    data: Path = typer.Option(
        ...,
        "--data",
        help="Data source: a folder, a .duckdb file, or spark:<database> (Spark tables).",
    ),
    out: Path = typer.Option(..., "--out", help="Feature frame to write (.parquet)."),
    spine: str = typer.Option(
        None,
        "--spine",
        help="monthly (default), renewals or both. Ignored when --as-of is given.",
    ),
    as_of: list[str] = typer.Option(
        None, "--as-of", help="Snapshot date YYYY-MM-DD instead of a spine (repeatable)."
    ),
    accounts: list[str] = typer.Option(
        None, "--accounts", help="Only these account ids (repeatable)."
    ),
    engine: str = typer.Option(
        "duckdb",
        "--engine",
        help="duckdb (this machine) or spark (the [spark] section of retain.toml: master "
        "local[*] by default, a cluster URL, or 'active' for a running session). Files are "
        "validated on DuckDB either way; Spark tables (--data spark:<database>) on Spark.",
    ),
) -> None:
    """Write point-in-time feature snapshots with their labels, one row per (account, as_of)."""
    import time

    from features.build import build_features
    from features.engine import ENGINES, open_validated
    from features.spine import SPINES
    from retain.config import load_config
    from retain.errors import RetainError
    from retain.files import write_parquet
    from retain.progress import console, progress_bar

    if spine is not None and spine not in SPINES:
        raise RetainError(f"--spine must be one of {', '.join(SPINES)}, not {spine!r}.")
    if engine not in ENGINES:
        raise RetainError(f"--engine must be one of {', '.join(ENGINES)}, not {engine!r}.")
    if out.suffix != ".parquet":
        raise RetainError(f"--out must be a .parquet file, not {out}.")
    from retain.paths import check_output_file

    check_output_file(out)  # before minutes of work, not after them
    started = time.perf_counter()
    config = load_config(data)
    source = open_validated(data, config, engine)
    with progress_bar(transient=True) as progress:
        frame = build_features(
            source,
            config,
            spine=spine,
            as_of=as_of or None,
            account_ids=accounts or None,
            progress=progress,
        )
    write_parquet(out, frame)
    console.print(summary(frame, time.perf_counter() - started, out), highlight=False)


def summary(frame: object, seconds: float, out: Path) -> str:
    """A few lines a person reads after the run."""
    import pandas as pd

    from features.frame import feature_columns

    assert isinstance(frame, pd.DataFrame)

    def rate(column: str) -> str:
        known = frame[column].dropna() if len(frame) else frame
        if not len(known):
            return f"{column}: no outcome known yet"
        return f"{column} {known.mean():.1%} of {len(known) / len(frame):.0%} known"

    return (
        f"wrote {out}: {len(frame):,} snapshots of {frame['account_id'].nunique():,} accounts, "
        f"{len(feature_columns(frame))} features\n"
        f"outcomes: {rate('churn')}; {rate('expansion')}; {rate('contraction')}\n"
        f"wall time {seconds:.1f} s"
    )


def register(app: typer.Typer) -> None:
    """Add this stage's commands to `app`."""
    app.command("features")(features_command)
