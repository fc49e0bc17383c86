"""Write a backtest's outputs (atomically) and log them to MLflow.

Files in the output folder:

- `metrics.json`: the summary other tools read (layout in evaluation.backtest.summarize);
- `backtest.parquet`: tidy metrics (cutoff, model, target, segment, metric, value);
- `predictions.parquet`: every model's probabilities and band per scored snapshot;
- `forecast.parquet`: expected vs actual ARR per cutoff, model and segment;
- `reasons.parquet`: top reason codes of the headline model (`chosen`) at the last cutoff;
- `report.html`: the self-contained report.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pandas as pd

from evaluation.backtest import BacktestResult
from evaluation.report import write_report
from retain.config import Config
from retain.files import write_json, write_parquet


def save_backtest(result: BacktestResult, out_dir: str | Path) -> dict[str, Path]:
    """Write every output file into `out_dir`; returns name -> path."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {
        "metrics": write_json(out / "metrics.json", result.summary),
        "backtest": write_parquet(out / "backtest.parquet", result.metrics),
        "predictions": write_parquet(out / "predictions.parquet", result.predictions),
        "forecast": write_parquet(out / "forecast.parquet", result.forecast),
        "reasons": write_parquet(out / "reasons.parquet", _text_safe(result.reasons)),
    }
    paths["report"] = write_report(result, out / "report.html")
    return paths


def _text_safe(frame: pd.DataFrame) -> pd.DataFrame:
    return frame if not frame.empty else pd.DataFrame({"account_id": pd.Series(dtype=str)})


def pooled_metrics(summary: dict[str, Any]) -> dict[str, float]:
    """Flat `target.model.metric` -> value for the finite pooled metrics, plus the forecast."""
    flat: dict[str, float] = {}
    for target, block in summary.get("targets", {}).items():
        for model, values in block.get("models", {}).items():
            for metric, value in values.items():
                if isinstance(value, int | float) and math.isfinite(value):
                    flat[f"{target}.{model}.{metric}"] = float(value)
    for key in ("grr_error_pct", "nrr_error_pct"):
        value = summary.get("forecast", {}).get(key)
        if value is not None:
            flat[f"forecast.{key}"] = float(value)
    return flat


def log_backtest(
    paths: dict[str, Path], summary: dict[str, Any], config: Config, run_name: str = "backtest"
) -> str:
    """Log the pooled metrics and every output file to one MLflow run; returns its run id."""
    import mlflow

    mlflow.set_tracking_uri(config.tracking.resolved_tracking_uri())
    mlflow.set_experiment(config.tracking.experiment)
    with mlflow.start_run(run_name=run_name) as run:
        mlflow.set_tags({"retain.stage": "backtest", "retain.data": summary.get("data", "")})
        mlflow.log_params(
            {
                "mode": summary.get("mode"),
                "cutoffs": ",".join(summary.get("cutoffs", []))[:500],
                "n_snapshots": summary.get("n_snapshots"),
                "horizon_days": config.labels.horizon_days,
                "lead_days": config.labels.lead_days,
            }
        )
        mlflow.log_metrics(pooled_metrics(summary))
        for path in paths.values():
            mlflow.log_artifact(str(path), artifact_path="backtest")
        return run.info.run_id
