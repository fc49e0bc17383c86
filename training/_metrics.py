"""Validation metrics logged for every model: ranking (ROC-AUC, PR-AUC) and calibration."""

from __future__ import annotations

import numpy as np


def validation_metrics(y: np.ndarray, p: np.ndarray) -> dict[str, float]:
    from sklearn.metrics import average_precision_score, brier_score_loss, log_loss, roc_auc_score

    y = np.asarray(y, dtype=np.int64)
    p = np.clip(np.asarray(p, dtype=np.float64), 1e-7, 1 - 1e-7)
    out: dict[str, float] = {"brier": float(brier_score_loss(y, p))}
    if len(np.unique(y)) == 2:
        out["roc_auc"] = float(roc_auc_score(y, p))
        out["pr_auc"] = float(average_precision_score(y, p))
    else:
        # AUCs are undefined with one class; NaN says so instead of a misleading number.
        out.update(roc_auc=float("nan"), pr_auc=float("nan"))
    out["log_loss"] = float(log_loss(y, p, labels=[0, 1]))
    return out
