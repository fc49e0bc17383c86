"""Per-segment churn and expansion models, baselines, calibration, tuning and MLflow tracking."""
