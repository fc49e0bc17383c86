"""Log a drift check to MLflow as a run of the monitored model."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from features.frame import TARGETS
from monitoring.prediction import MonitoredModel
from retain.config import Config


def log_drift_run(
    payload: dict[str, Any],
    json_path: Path,
    html_path: Path | None,
    models: dict[str, MonitoredModel],
    config: Config,
) -> dict[str, Any]:
    """One MLflow run with the drift share, the verdict and both reports; its id, or the error.

    A tracking server that is down must not hide a drift verdict from the scheduled job, so a
    failure to log is recorded in drift.json instead of raised.
    """
    import mlflow

    tags = {"retain.stage": "drift", "retain.drift_status": str(payload["status"])}
    for target, monitored in models.items():
        tags[f"retain.{target}_model"] = monitored.name
        if monitored.version is not None:
            tags[f"retain.{target}_model_version"] = monitored.version
    metrics = {
        "drift_share": float(payload["drift_share"]),
        "drifted_features": float(len(payload["drifted_features"])),
        "failing_features": float(len(payload.get("failing_features", []))),
    }
    for target in TARGETS:
        entry = payload["prediction"].get(target)
        if isinstance(entry, dict) and "psi" in entry:
            metrics[f"{target}_score_psi"] = float(entry["psi"])
    from training.tracking import configure_mlflow

    try:
        configure_mlflow(config)  # the experiment tagged as model training, as `retain train` does
        mlflow.set_experiment(config.tracking.experiment)
        with mlflow.start_run(run_name="drift", tags=tags) as run:
            mlflow.log_metrics(metrics)
            mlflow.log_artifact(str(json_path), artifact_path="drift")
            if html_path is not None:
                mlflow.log_artifact(str(html_path), artifact_path="drift")
            return {"run_id": run.info.run_id, "tracking_uri": mlflow.get_tracking_uri()}
    except Exception as error:  # MLflow raises its own, SQLAlchemy's and OS errors
        return {"error": f"{type(error).__name__}: {error}"}
