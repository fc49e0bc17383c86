"""CLI commands of the serving stage: `serve`, `score` and `report accounts`."""

from __future__ import annotations

from pathlib import Path

import typer

_NO_AUTH_WARNING = (
    "\n"
    "  !!!  AUTHENTICATION IS OFF (--no-auth)  !!!\n"
    "  Anyone who can reach this port can read every account's scores.\n"
    "  Use this only for a local demo; set RETAIN_API_TOKENS for anything else.\n"
)


def _serving_overrides(**values: object) -> dict[str, dict[str, object]]:
    return {"serving": {k: v for k, v in values.items() if v is not None}}


def serve(
    host: str = typer.Option(None, "--host", help="Interface to listen on [default: 127.0.0.1]"),
    port: int = typer.Option(None, "--port", help="Port to listen on [default: 3000]"),
    no_auth: bool = typer.Option(False, "--no-auth", help="Turn bearer-token auth off (demo)."),
    model_alias: str = typer.Option(
        None, "--model-alias", help="Registry alias to serve [default: champion]"
    ),
    allow_challenger: bool = typer.Option(
        None,
        "--allow-challenger",
        help="Serve the challenger when there is no champion (a model no gate has vetted).",
    ),
    model_path: Path = typer.Option(
        None, "--model-path", help="A saved model pair (churn/ and expansion/) instead of MLflow."
    ),
    store: Path = typer.Option(None, "--store", help="Score store written by `retain score`."),
    workers: int = typer.Option(None, "--workers", help="API worker processes [default: 2]"),
    max_concurrency: int = typer.Option(
        None, "--max-concurrency", help="Requests per worker at once; then 429 [default: 32]"
    ),
    max_body_bytes: int = typer.Option(
        None, "--max-body-bytes", help="Largest request body; then 413 [default: 1 MiB]"
    ),
    drain_seconds: float = typer.Option(
        None,
        "--drain-seconds",
        help="On SIGTERM: seconds /readyz answers 503 while requests are still served, before "
        "new connections are refused [default: 10]",
    ),
    missing_values: str = typer.Option(
        None,
        "--missing-values",
        help="A missing feature the model has no learned branch for: 'impute' the segment's "
        "training median (named in imputed_features) or 'reject' with 400 [default: impute]",
    ),
    bentoml_defaults: bool = typer.Option(
        False, "--bentoml-defaults", hidden=True, help="BentoML's own settings (benchmark only)."
    ),
) -> None:
    """Start the scoring API (BentoML): POST /score, POST /score_accounts, GET /metadata.

    The registry alias is resolved to one version per model before any worker starts: every
    worker, and every restarted worker, serves exactly those files (their SHA-256 is checked).
    SIGTERM drains: /readyz turns 503 at once, requests keep being answered for
    --drain-seconds, then new connections are refused and the requests in flight finish.
    Docs for people at /docs (works offline), the OpenAPI description at /docs.json.
    """
    import os
    import shutil
    import sys
    import tempfile

    from retain.config import load_config
    from retain.errors import RetainError
    from serving._drain import SharedState
    from serving._supervise import supervise
    from serving.api import SETTINGS_ENV, settings_payload
    from serving.auth import api_tokens
    from serving.scoring import load_model_pair, pinned_versions

    overrides = _serving_overrides(
        host=host,
        port=port,
        model_alias=model_alias,
        allow_challenger=allow_challenger,
        model_path=str(model_path.resolve()) if model_path else None,
        store_path=str(store.resolve()) if store else None,
        workers=workers,
        max_concurrency=max_concurrency,
        max_body_bytes=max_body_bytes,
        drain_seconds=drain_seconds,
        missing_values=missing_values,
    )
    config = load_config(overrides=overrides)
    # Resolve the store path now: the service process must not depend on its working directory.
    overrides["serving"]["store_path"] = str(Path(config.serving.store_path).resolve())
    if not no_auth and not api_tokens(config.serving.api_tokens):
        raise RetainError(
            "No API tokens: set RETAIN_API_TOKENS=token1,token2 (or serving.api_tokens in "
            "retain.toml), or pass --no-auth for a local demo"
        )
    # Resolve the alias to versions and verify the files here, once: every worker gets these
    # versions (fail here, with a clear message, not inside a worker).
    models = load_model_pair(config)
    pinned = pinned_versions(models)
    typer.echo(
        f"Serving churn {models.churn_info.version} ({models.churn_info.alias}) and expansion "
        f"{models.expansion_info.version} ({models.expansion_info.alias}) on "
        f"http://{config.serving.host}:{config.serving.port}"
    )
    del models  # this process only supervises; the workers load their own copies
    if no_auth:
        typer.secho(_NO_AUTH_WARNING, fg=typer.colors.RED, bold=True, err=True)
    state_dir = tempfile.mkdtemp(prefix="retain-serve-")
    env = {
        **os.environ,
        SETTINGS_ENV: settings_payload(
            overrides,
            workdir=os.getcwd(),
            no_auth=no_auth,
            bentoml_defaults=bentoml_defaults,
            pinned=pinned,
            state_dir=state_dir,
        ),
        "BENTOML_DO_NOT_TRACK": "true",  # no usage-stats calls home at start-up
    }
    if not bentoml_defaults:
        # One request's LightGBM call is one row (or a few): OpenMP's worker threads only add
        # spin-waits and contention with the event loop, ~25 ms per call on a busy 2-core box.
        env.setdefault("OMP_NUM_THREADS", "1")
        # No tracing exporter is configured, yet BentoML's OpenTelemetry middleware builds a
        # span per request; the disabled SDK hands it no-op spans instead.
        env.setdefault("OTEL_SDK_DISABLED", "true")
    command = [
        sys.executable,
        "-m",
        "bentoml",
        "serve",
        "serving.service:RetainService",
        "--host",
        config.serving.host,
        "--port",
        str(config.serving.port),
    ]
    sys.stdout.flush()
    sys.stderr.flush()
    try:
        code = supervise(
            command,
            env,
            SharedState(Path(state_dir), config.serving.workers),
            config.serving.drain_seconds,
        )
    finally:
        shutil.rmtree(state_dir, ignore_errors=True)
    raise typer.Exit(code)


def score(
    data: Path = typer.Option(..., "--data", help="Data source folder or DuckDB file."),
    out: Path = typer.Option(
        ..., "--out", help="Output Parquet file (a flat .csv goes beside it)."
    ),
    as_of: str = typer.Option(None, "--as-of", help="Snapshot date [default: the data's end]."),
    model_alias: str = typer.Option(None, "--model-alias", help="Registry alias to score with."),
    allow_challenger: bool = typer.Option(
        None, "--allow-challenger", help="Use the challenger when there is no champion."
    ),
    model_path: Path = typer.Option(None, "--model-path", help="A saved model pair folder."),
    store: Path = typer.Option(None, "--store", help="Score store to update [serving.store_path]."),
    reasons: bool = typer.Option(True, "--reasons/--no-reasons", help="Compute reason codes."),
    missing_values: str = typer.Option(
        None, "--missing-values", help="'impute' (default) or 'reject' missing feature values."
    ),
    engine: str = typer.Option(
        "duckdb",
        "--engine",
        help="duckdb (this machine) or spark: features and scores on the [spark] session's "
        "executors (mapInPandas); the scores and CSV are then folders of part files.",
    ),
) -> None:
    """Score every active account with reasons and signals; update the score store."""
    from retain.config import load_config
    from retain.errors import RetainError
    from serving.batch import (
        build_snapshot,
        parse_as_of,
        results_frame,
        score_snapshot,
        write_outputs,
    )
    from serving.scoring import load_model_pair
    from serving.store import write_store

    config = load_config(
        data,
        overrides=_serving_overrides(
            model_alias=model_alias,
            allow_challenger=allow_challenger,
            model_path=str(model_path) if model_path else None,
            store_path=str(store) if store else None,
            missing_values=missing_values,
        ),
    )
    models = load_model_pair(config)
    if engine not in ("duckdb", "spark"):
        raise RetainError(f"--engine must be one of duckdb, spark, not {engine!r}.")
    if engine == "spark":
        from serving.spark_batch import score_on_spark
        from serving.survival import load_survival_model

        done = score_on_spark(
            data,
            out,
            models,
            load_survival_model(models, config),
            config,
            as_of=parse_as_of(as_of),
            with_reasons=reasons,
        )
        write_store(config.serving.store_path, done.snapshot, models, done.results, config=config)
        typer.echo(
            f"Scored {len(done.results)} accounts on Spark at {done.results[0]['as_of']} "
            f"(red {done.bands.get('red', 0)}, yellow {done.bands.get('yellow', 0)}, "
            f"green {done.bands.get('green', 0)}) -> {done.parquet}/, {done.csv}/; "
            f"store {config.serving.store_path}"
        )
        return
    snapshot = build_snapshot(data, config, parse_as_of(as_of))
    results = score_snapshot(snapshot, models, config, with_reasons=reasons, show_progress=True)
    scored = results_frame(snapshot, results, models)
    parquet, csv = write_outputs(scored, out, config.serving.top_k_reasons)
    write_store(config.serving.store_path, snapshot, models, results, config=config)
    bands = scored["health_band"].value_counts()
    typer.echo(
        f"Scored {len(scored)} accounts at {scored['as_of'].iloc[0].date()} "
        f"(red {bands.get('red', 0)}, yellow {bands.get('yellow', 0)}, "
        f"green {bands.get('green', 0)}) -> {parquet}, {csv}; store {config.serving.store_path}"
    )


def report_accounts(
    data: Path = typer.Option(..., "--data", help="Data source folder or DuckDB file."),
    out: Path = typer.Option(Path("review.html"), "--out", help="HTML file to write."),
    as_of: str = typer.Option(None, "--as-of", help="Snapshot date [default: the data's end]."),
    model_alias: str = typer.Option(None, "--model-alias", help="Registry alias to score with."),
    allow_challenger: bool = typer.Option(
        None, "--allow-challenger", help="Use the challenger when there is no champion."
    ),
    model_path: Path = typer.Option(None, "--model-path", help="A saved model pair folder."),
) -> None:
    """The weekly at-risk account review for a CS leader (self-contained HTML)."""
    from retain.config import load_config
    from serving.batch import build_snapshot, parse_as_of, results_frame, score_snapshot
    from serving.review import write_review
    from serving.scoring import load_model_pair

    config = load_config(
        data,
        overrides=_serving_overrides(
            model_alias=model_alias,
            allow_challenger=allow_challenger,
            model_path=str(model_path) if model_path else None,
        ),
    )
    models = load_model_pair(config)
    snapshot = build_snapshot(data, config, parse_as_of(as_of))
    results = score_snapshot(snapshot, models, config, show_progress=True)
    scored = results_frame(snapshot, results, models)
    summary = write_review(scored, models, out, min_risk_days=config.labels.min_risk_days)
    typer.echo(
        f"Account review: {summary['at_risk']} red/yellow accounts, "
        f"{summary['expansion']} expansion candidates -> {out}"
    )
    _attach_review(out, models)


def _attach_review(page: Path, models: object) -> None:
    """The review page under the training run of the churn model that scored it (a person
    opening that run finds the page its scores produced). A model loaded from a folder has
    no run; a registry that cannot be reached costs the attachment, never the review."""
    from training.tracking import attach_to_model_run

    info = models.churn_info  # type: ignore[attr-defined]
    if info.alias == "path" or not info.version:
        return
    try:
        run_id = attach_to_model_run(page, info.name, info.version, "review")
    except Exception as error:  # the page is written; the attachment is a convenience
        typer.echo(f"(review page not attached to the model's MLflow run: {type(error).__name__})")
        return
    if run_id:
        typer.echo(f"Attached to MLflow run {run_id} (artifacts/review)")


def register(app: typer.Typer) -> None:
    """Add this stage's commands to `app`."""
    app.command("serve")(serve)
    app.command("score")(score)
    report = typer.Typer(
        help="Reports for people: the weekly account review.", no_args_is_help=True
    )
    report.command("accounts")(report_accounts)
    app.add_typer(report, name="report")
